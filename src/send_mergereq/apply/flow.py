"""The steps for each pull request, in order: fetch, verify, check, merge.

``apply_pulls`` takes the settings (the same checks, profiles and trusted signers as
``send-mergereq BRANCH --dry-run``) and the pull requests read from the emails; it
returns an ``ApplyResult`` (one ``PullOutcome`` each) and never prints: progress goes
through ``say``, each refused pull request's check report through ``report``.

Every merge is computed with objects written to a scratch object directory (the
repository's own objects stay readable through it); only a pull request that passes
everything is written to the repository, and the branch is moved with a
compare-and-swap. The maintainer's work tree, index, HEAD and config are never
touched, unless the branch is checked out and clean: then its work tree follows, as
with ``git merge``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from send_mergereq import git
from send_mergereq.apply import advice, store, tag_trust, transport
from send_mergereq.apply import merge as merging
from send_mergereq.apply.outcome import ApplyOptions, ApplyResult, PullOutcome, Result
from send_mergereq.apply.pulls import PullRequest
from send_mergereq.checks import CHECKS, signed_tags
from send_mergereq.checks.finding import Finding, Severity, TagVerification
from send_mergereq.checks.runner import EnabledCheck, RunResult, run_checks
from send_mergereq.checks.tags import has_signature, parse_tag
from send_mergereq.config import Settings
from send_mergereq.errors import ConfigError, GitError
from send_mergereq.history import CommitRange, RawCommit, parse_commit
from send_mergereq.mr.describe import same_person, signing_key
from send_mergereq.report import CheckReport
from send_mergereq.scan.signatures import TIMEOUT_VARIABLE, verify_tags, verify_timeout
from send_mergereq.scan.walk import resolve_commit

CHECK_ID = "apply"  # the findings apply itself makes (moved tag, foreign base)


_GOES_ON = (Result.APPLIED, Result.ALREADY_APPLIED)  # the next pull request is tried

Say = Callable[[str], None]
ShowReport = Callable[[CheckReport], None]


@dataclass
class _Build:
    """The branch one apply builds, as it goes: its would-be tip moves with each merge."""

    settings: Settings
    options: ApplyOptions
    scratch: Mapping[str, str]  # environment: new objects go to the scratch directory
    algorithm: str
    target_sha: str
    tip: str  # the branch as it would be now (its target's tip when absent or landed)
    at: str | None  # where the branch (and a work tree that has it) is now; None: absent
    worktrees: list[Path]
    say: Say
    report: ShowReport

    @property
    def ref(self) -> str:
        return f"refs/heads/{self.options.branch}"


def apply_pulls(
    settings: Settings,
    pulls: Sequence[PullRequest],
    options: ApplyOptions,
    say: Say,
    report: ShowReport,
) -> ApplyResult:
    """Fetch, verify, check and merge each pull request in order (see the module doc)."""
    repo, ref = settings.repo, f"refs/heads/{options.branch}"
    if git.query(repo, "check-ref-format", ref) is None:
        raise ConfigError(f"--branch {options.branch!r} is not a valid branch name")
    target_sha = resolve_commit(repo, settings.target, "target")
    before = git.resolve_commit(repo, ref)
    afresh = before is not None and before != target_sha
    afresh = afresh and git.is_ancestor(repo, before or "", target_sha)
    if options.branch == settings.target.removeprefix("refs/heads/"):
        raise ConfigError(
            f"--branch {options.branch} is the target: apply builds a separate branch",
            hint="pass --branch staging (or --target the branch to build on)",
        )
    worktrees = git.worktrees_on(repo, ref)
    if not options.dry_run:
        for where in worktrees:
            if git.is_dirty(where):
                raise ConfigError(
                    f"{options.branch} is checked out in {where} with uncommitted changes",
                    hint="commit or stash them first (git stash), then rerun",
                )
    objects, algorithm = git.object_store(repo)
    outcomes: list[PullOutcome] = []
    with store.scratch(objects) as scratch:
        run = _Build(
            settings, options, scratch, algorithm, target_sha,
            target_sha if afresh or before is None else before, before, worktrees, say, report,
        )  # fmt: skip
        if afresh:
            say(
                f"{settings.target} contains {options.branch} ({(before or '')[:12]}): it "
                f"landed; {options.branch} starts afresh from {settings.target} "
                f"({target_sha[:12]})"
            )
        stopped = False
        for pull in pulls:
            if stopped:
                outcomes.append(PullOutcome(pull, Result.SKIPPED, reason="not tried"))
                continue
            say(f"{pull.tag} from {pull.url} ...")
            outcome = _one(run, pull)
            outcomes.append(outcome)
            stopped = outcome.result not in _GOES_ON and not options.keep_going
    applied = any(o.result is Result.APPLIED for o in outcomes)
    after = run.tip if applied else before
    if not options.dry_run:
        after = git.resolve_commit(repo, ref)
    return ApplyResult(
        options.branch, settings.target, before, after, tuple(outcomes), options.dry_run,
        afresh,
    )  # fmt: skip


@dataclass(frozen=True)
class _Candidate:
    """A fetched pull request and the merge it would make (not stored anywhere yet)."""

    ours: str  # the branch head it merges into
    tip: str  # the commit the tag names
    tag: bytes | None  # the tag object (None: a lightweight tag)
    raw: bytes  # the merge commit object
    merge: RawCommit
    clean: bool
    conflicts: tuple[str, ...]
    committer: bytes
    message: str
    commits: list[tuple[str, bytes]]  # what it adds over the branch and the target, raw
    said: str  # what git verify-tag told a person (recorded in the merge message)


def _one(run: _Build, pull: PullRequest) -> PullOutcome:
    """Fetch, verify, check and merge one pull request; the first refusal ends it."""
    built = _build(run, pull)
    if isinstance(built, PullOutcome):
        return built
    date = tag_trust.tagger_date(built.tag) if built.tag is not None else None
    return replace(_judge(run, pull, built), tagged=tag_trust.shown(date) if date else "")


def _judge(run: _Build, pull: PullRequest, built: _Candidate) -> PullOutcome:
    """Verify, check and merge a fetched pull request."""
    verified = (
        verify_tags(run.settings.repo, list(built.merge.mergetags)) if built.merge.mergetags else {}
    )
    refused = _verify(run, pull, built, verified)
    if refused is not None:
        return refused
    checked = _check(run, pull, built, verified)
    if isinstance(checked, PullOutcome):
        return checked
    found, added = checked
    outcome = _merge(run, pull, built, _signer(verified), found=found, added=added)
    if outcome.result is not Result.APPLIED:
        return outcome
    return replace(outcome, notices=advice.notices(built.said, verified))


def _build(run: _Build, pull: PullRequest) -> _Candidate | PullOutcome:
    """1. Fetch the tag into the private namespace and compute the merge in scratch."""
    repo = run.settings.repo
    try:
        protocols = transport.allowed_protocols(run.options.allow_local)
        git.fetch_tag(repo, pull.url, pull.tag, pull.private_ref, protocols=protocols)
    except GitError as exc:
        return PullOutcome(pull, Result.FETCH_FAILED, reason=exc.message, hint=exc.hint or "")
    tip = git.resolve_commit(repo, pull.private_ref)
    if tip is None:
        reason = f"tag '{pull.tag}' does not name a commit"
        return PullOutcome(pull, Result.REFUSED, reason=reason)
    is_tag = git.object_type(repo, pull.private_ref) == "tag"
    tag = git.read_object(repo, "tag", pull.private_ref) if is_tag else None
    ours = run.tip
    # what it adds over the branch and the target together: a landing's own merge commit
    # (GitLab's "Merge branch 'staging' into 'master'") is the target's, not the pull's
    excludes = list(dict.fromkeys((ours, run.target_sha)))
    commits = git.commit_objects(repo, tip, excludes, env=run.scratch)
    if not commits:  # as git pull: "Already up to date", no empty merge
        landed = git.is_ancestor(repo, tip, run.target_sha)
        has = run.settings.target if landed else run.options.branch
        reason = f"{has} already contains {tip[:12]}: nothing to merge"
        return PullOutcome(pull, Result.ALREADY_APPLIED, reason=reason)
    tree = git.merge_tree(repo, ours, tip, env=run.scratch)
    suppress = _suppressed(repo, run.options.branch)
    try:
        said = git.verify_tag_text(repo, pull.private_ref, verify_timeout()) if (
            tag and has_signature(tag)) else ""  # fmt: skip
    except GitError as exc:  # gpg hung (a keyserver, a card, a pinentry): this one only
        return PullOutcome(
            pull, Result.REFUSED, commits=len(commits),
            reason=f"the signature of tag '{pull.tag}' could not be verified: {exc.message} "
            "(git and its gpg were stopped)",
            hint=f"run 'git verify-tag {pull.private_ref}' by hand to see what gpg waits for "
            f"(a keyserver, a smartcard, a pinentry); {TIMEOUT_VARIABLE} sets the limit",
        )  # fmt: skip
    message = merging.merge_message(
        pull.tag, pull.url, run.options.branch, tag, suppress=suppress, verified=said
    )
    author, committer = git.ident(repo, "GIT_AUTHOR_IDENT"), git.ident(repo, "GIT_COMMITTER_IDENT")
    raw = merging.merge_commit(
        tree.tree, (ours, tip), author=author, committer=committer, tag=tag, message=message
    )
    merge = parse_commit(merging.object_id(raw, run.algorithm), raw)
    return _Candidate(ours, tip, tag, raw, merge, tree.clean, tuple(tree.conflicts), committer,
                      message, commits, said)  # fmt: skip


def _verify(
    run: _Build, pull: PullRequest, built: _Candidate, verified: Mapping[bytes, TagVerification]
) -> PullOutcome | None:
    """2. The signature as the signed-tags check sees it, then what the email promised."""
    ctx = replace(run.settings.context(), verify_tag=_lookup(run.settings.repo, verified))
    found = list(signed_tags.check(built.merge, ctx, signed_tags.Options()))
    found += _promises(run, pull, built.merge.sha, built.tip, built.tag)
    found += _tag_itself(run, pull, built)
    if not found:
        return None
    # said once, in the summary, with what to do: no report naming a merge never written
    found = [advice.not_merged(f) for f in found]
    reason = "; ".join(dict.fromkeys(f.message for f in found))
    hint = "; ".join(dict.fromkeys(f.hint for f in found if f.hint))
    return PullOutcome(
        pull, Result.REFUSED, _signer(verified), len(built.commits), tuple(found), reason, hint,
        subjects={built.merge.sha: advice.UNWRITTEN},
    )  # fmt: skip


def _check(
    run: _Build, pull: PullRequest, built: _Candidate, verified: Mapping[bytes, TagVerification]
) -> tuple[RunResult, int] | PullOutcome:
    """3. Every check on every commit it adds over the branch, and on the merge itself."""
    repo = run.settings.repo
    commits = built.commits
    enabled = [EnabledCheck(CHECKS[i], opts) for i, opts in run.settings.checks.items()]
    checked = run_checks(
        [(built.merge.sha, built.raw), *commits],
        enabled,
        run.settings.context(),
        lambda tags: {t: _lookup(repo, verified)(t) for t in tags},
        rules=run.settings.exemptions,
    )
    subjects = {**checked.subjects}
    if built.merge.sha in subjects:  # the would-be merge: never stored unless it passes
        subjects[built.merge.sha] = advice.UNWRITTEN
    shown = _report(
        run, pull, built.ours, built.merge.sha, commits=checked.commits, merges=checked.merges,
        findings=checked.findings, subjects=subjects,
    )  # fmt: skip
    if not shown.passed:
        run.report(shown)  # each finding with its hint, once; the summary only counts them
        errors = f"{shown.errors} error finding{'s' if shown.errors != 1 else ''}"
        reason = f"{errors} in what it adds (listed above); nothing of it merged"
        return PullOutcome(
            pull, Result.REFUSED, _signer(verified), len(commits), checked.findings,
            reason, subjects=subjects,
        )  # fmt: skip
    if checked.findings:
        run.report(shown)  # warnings: shown, not refused
    return checked, len(commits)


def _merge(
    run: _Build, pull: PullRequest, built: _Candidate, signer: str, *, found: RunResult, added: int
) -> PullOutcome:
    """4. Store the merge and move the branch, or say where it conflicts."""
    if not built.clean:
        files = ", ".join(built.conflicts)
        into = run.options.branch
        return PullOutcome(
            pull, Result.CONFLICT, signer, added, found.findings,
            reason=f"does not merge cleanly into {into}: conflicts in {files}; nothing applied",
            hint=(f"resolve it by hand: 'git checkout {into}', 'git pull --no-ff "
                  f"{pull.url} tag {pull.tag}', fix {files}, 'git commit'; then apply the rest"),
            conflicts=built.conflicts,
        )  # fmt: skip
    where = store.Where(run.settings.repo, run.ref, run.at, run.worktrees, run.scratch)
    sha = store.write(where, built.ours, built.tip, built.raw, committer=built.committer,
                      message=built.message, dry_run=run.options.dry_run)  # fmt: skip
    if not run.options.dry_run:
        run.at = sha
    run.tip = sha
    return PullOutcome(
        pull, Result.APPLIED, signer, added, found.findings, merge_sha=sha,
        subjects=found.subjects,
    )  # fmt: skip


def _promises(
    run: _Build, pull: PullRequest, merge_sha: str, tip: str, tag: bytes | None
) -> list[Finding]:
    """What the email promised: the tag is still the commit it named, on the target."""
    found = []
    expected = run.options.expect or pull.head
    tagged = parse_tag(tag).object if tag is not None else tip
    if expected and (not tagged.startswith(expected.lower()) or len(expected) < 7):
        found.append(
            Finding(
                CHECK_ID, Severity.ERROR, merge_sha,
                f"tag '{pull.tag}' now points at {tagged[:12]}, not at {expected[:12]} as the "
                "pull request says: it was moved after the email was sent",
                "ask the submaintainer which commit they mean (and why the tag moved), and "
                "apply the new pull request they send",
            )
        )  # fmt: skip
    repo = run.settings.repo
    if pull.base and not git.is_ancestor(repo, pull.base, run.target_sha):
        found.append(
            Finding(
                CHECK_ID, Severity.ERROR, merge_sha,
                f"the pull request's base {pull.base[:12]} is not in the history of "
                f"{run.settings.target}",
                f"if your {run.settings.target} is behind (it landed, or moved, since you "
                "last fetched), fetch it ('git fetch') and rerun, or pass --target the branch "
                "they built on; else ask the submaintainer to rebase onto the target",
            )
        )  # fmt: skip
    return found


def _tag_itself(run: _Build, pull: PullRequest, built: _Candidate) -> list[Finding]:
    """What the signed tag object says of itself: the name it was signed under, its age."""
    if built.tag is None:
        return []  # a lightweight tag: the signed-tags check refuses it
    now = tag_trust.committer_date(built.committer)
    max_days, allow_old = run.settings.max_tag_age, run.options.allow_old_tag
    problems = [
        tag_trust.name_problem(pull.tag, built.tag),
        tag_trust.age_problem(pull.tag, built.tag, now, max_days, allow_old),
        tag_trust.future_problem(pull.tag, built.tag, now),
    ]
    return [
        Finding(CHECK_ID, Severity.ERROR, built.merge.sha, message, hint)
        for message, hint in filter(None, problems)
    ]


def _report(
    run: _Build,
    pull: PullRequest,
    ours: str,
    merge_sha: str,
    *,
    commits: int,
    merges: int,
    findings: tuple[Finding, ...],
    subjects: Mapping[str, str],
) -> CheckReport:
    rng = CommitRange(run.options.branch, f"tag {pull.tag}", ours, merge_sha)
    return CheckReport(
        range=rng, commits=commits, merges=merges, findings=findings, subjects=subjects,
        profile=run.settings.profile,
    )  # fmt: skip


def _lookup(
    repo: Path, verified: Mapping[bytes, TagVerification]
) -> Callable[[bytes], TagVerification]:
    def verify_tag(tag: bytes) -> TagVerification:
        found = verified.get(tag)
        return found if found is not None else verify_tags(repo, [tag])[tag]

    return verify_tag


def _signer(verified: Mapping[bytes, TagVerification]) -> str:
    """Who signed, by key: the key's owner as the verification says, and its fingerprint;
    then the tagger where that is someone else (Alice's key on a tag Carol made)."""
    for tag, result in verified.items():
        if not (result.uid or result.signer):
            continue
        who, key = result.uid or result.signer, signing_key(result)
        said = f"{who} (key {key})" if key and key != who else who
        tagger = tag_trust.tagger(tag)
        return said + (f", tagged by {tagger}" if tagger and not same_person(who, tagger) else "")
    return ""


def _suppressed(repo: Path, branch: str) -> bool:
    """``merge.suppressDest``: no ``into BRANCH`` in the title (git's default: master)."""
    values = [v for k, v in git.config_entries(repo, r"^merge\.suppressdest$")]
    if not values:
        return branch == "master"
    if values[-1] == "":
        return False
    import fnmatch

    return any(fnmatch.fnmatchcase(branch, v) for v in values if v)
