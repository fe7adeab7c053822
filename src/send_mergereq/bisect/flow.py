"""``send-mergereq bisect``: the first pull request of BRANCH that makes its failing jobs
fail (issue 22 §2), in order:

1. the failure (``failure.py``), the pull requests over the target (``triage/pulls.py``);
2. the temporary branches a killed run left, removed (and said);
3. the prefixes whose commit already has a finished pipeline that ran the jobs, reused;
4. rounds of up to ``--parallel`` prefixes (``triage/search.py``), each pushed to a
   temporary branch and judged (``probes.py``); the whole branch run again when no
   prefix fails;
5. the answer (``result.py``), the reply draft (``--reply``), staging without the
   culprit (``--eject``).

Every branch pushed is deleted and every pipeline started is canceled on every way
out, signals held while that is done. Neither BRANCH nor the target is touched on the
server; locally only by ``--eject``.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from send_mergereq import deadline, git
from send_mergereq.apply import critical
from send_mergereq.bisect.failure import Failure, find_failure
from send_mergereq.bisect.options import BisectOptions
from send_mergereq.bisect.probes import Place, Probe, Probes
from send_mergereq.bisect.result import Outcome, plan_line
from send_mergereq.config import Settings
from send_mergereq.errors import ConfigError, ExitCode, GitError, TimedOutError
from send_mergereq.output import Output
from send_mergereq.triage.judge import FAILED, PASSED
from send_mergereq.triage.pulls import Pull, pulls_in
from send_mergereq.triage.search import TARGET, Search, Verdict, bisect_branch, rounds_needed

if TYPE_CHECKING:
    from send_mergereq.gitlab.forge import Forge

PREFIX_KEY = "sendmergereq.bisectPrefix"
WAIT_KEY = "sendmergereq.bisectPipelineWait"  # seconds to wait for a push's pipeline


class Found(NamedTuple):
    """What the search found: the verdict, the prefixes judged by ``k``, the re-run of the
    whole branch (when no prefix failed) and the leftovers removed first."""

    verdict: Verdict
    judged: dict[int, Probe]
    rerun: Probe | None
    leftovers: list[str]


def bisect(settings: Settings, options: BisectOptions, out: Output) -> ExitCode:
    """Run the bisection; the exit code (0 culprit, 1 target, 9 not reproduced)."""
    from send_mergereq.run.send import open_session

    branch, target = settings.source_branch, settings.target_branch
    _asked_well(settings, options)
    session = open_session(settings, out.say)
    forge, repo = session.forge, settings.repo
    started = time.monotonic()
    with deadline.overall(options.timeout):
        failure = find_failure(forge, branch, target, options.jobs)
    base, pulls = _pulls(repo, settings.target, failure)
    _same_base(forge, failure, base, branch, target)
    jobs = ", ".join(failure.jobs)
    out.say(f"bisecting {branch}: {len(pulls)} pull request{'s' if len(pulls) != 1 else ''} "
            f"over {target}")  # fmt: skip
    out.say(f"failed in pipeline #{failure.pipeline.id}: {jobs}")
    out.say(f"  {failure.pipeline.web_url}")
    assert settings.remote, "Session.open refuses a run without a remote"
    place = Place(repo, settings.remote, session.git_env(), branch, target, _prefix(repo))
    probes = Probes(
        forge, place, failure.jobs, out.say, retries=options.retries,
        interval=options.interval, pipeline_wait=_pipeline_wait(repo),
    )  # fmt: skip
    left = None if options.timeout is None else options.timeout - (time.monotonic() - started)
    timed_out: TimedOutError | None = None
    try:  # the clean-up below is outside the bound: it runs after a timeout too
        with deadline.overall(None if left is None else max(left, 0.001)):
            found = _search(
                probes, failure=failure, base=base, pulls=pulls, options=options, out=out
            )
    except TimedOutError as exc:
        timed_out = exc
    finally:
        with critical.signals_deferred():  # cleaning up is not cut short by a Ctrl-C
            for line in probes.close():
                out.say(line)
            pushed, deleted = len(probes.all_pushed), len(probes.deleted)
            out.say(f"temporary branches: {pushed} pushed, {deleted} deleted; "
                    f"pipelines started: {probes.started}")  # fmt: skip
    if timed_out is not None:  # the one line, and under --json what was done until then
        code = ExitCode.TIMED_OUT
        Output().error(timed_out.message, timed_out.hint, code)
        if out.as_json:
            out.document({
                "result": "timed_out", "verdict": "error", "branch": branch, "target": target,
                "jobs": list(failure.jobs), "branches_pushed": list(probes.all_pushed),
                "branches_deleted": list(probes.deleted), "pipelines_started": probes.started,
                "error": timed_out.message, "exit_code": int(code),
            })  # fmt: skip
        return code
    outcome = Outcome(branch, target, found.verdict, failure.jobs, tuple(pulls), found.judged,
                      rerun=found.rerun, pushed=probes.all_pushed, deleted=probes.deleted,
                      leftovers=found.leftovers, started=probes.started)  # fmt: skip
    for line in outcome.lines(_retry_hint(settings, options)):
        out.say(line)
    code = _after(settings, options=options, out=out, outcome=outcome, failure=failure, forge=forge)
    if out.as_json:
        doc = outcome.document()
        doc["exit_code"] = int(code)
        out.document(doc)
    return code


def _asked_well(settings: Settings, options: BisectOptions) -> None:
    """What can be said wrong before GitLab is asked: the reply directory and the emails,
    BRANCH and the target, a dirty checkout ``--eject`` would move.

    :raises ConfigError: one of them (exit 2).
    """
    if options.reply is not None:
        from send_mergereq.apply.email_file import writable_dir
        from send_mergereq.triage.mail import read_emails

        writable_dir(options.reply)
        read_emails([str(p) for p in options.emails])  # unreadable: said now, not at the end
    branch, target = settings.source_branch, settings.target_branch
    if branch == target:
        raise ConfigError(f"{branch} is the target: nothing to bisect",
                          hint="bisect the staging branch whose gate closed")  # fmt: skip
    refs = [f"refs/heads/{branch}", *([f"refs/remotes/{settings.remote}/{branch}"]
                                      if settings.remote else [])]  # fmt: skip
    if all(git.resolve_commit(settings.repo, ref) is None for ref in refs):
        raise ConfigError(f"no branch {branch} here", hint="name the staging branch you sent")
    if git.resolve_commit(settings.repo, settings.target) is None:
        raise ConfigError(f"the target {settings.target!r} is not a commit here",
                          hint="git fetch it, or pass --target REF")  # fmt: skip
    if options.eject:  # a dirty checkout is said now, not after the bisection
        from send_mergereq.bisect.ejection import clean_worktrees

        clean_worktrees(settings.repo, branch)


def _pulls(repo: Path, target: str, failure: Failure) -> tuple[str, list[Pull]]:
    """Prefix 0 and the pull requests the tested commit adds over the target. Prefix 0 is
    the target as the branch was built on it (the first step's first parent): the same
    commit unless the target moved since, and then still an ancestor of every prefix."""
    from send_mergereq.scan.signatures import verify_tags

    if not git.has_commit(repo, failure.tip):
        raise GitError(
            f"the commit pipeline #{failure.pipeline.id} tested ({failure.tip[:12]}) is not "
            "in this repository",
            hint="fetch it first (git fetch), then run bisect again",
        )
    base = git.resolve_commit(repo, target)
    if base is None:
        raise ConfigError(f"the target {target!r} is not a commit here", hint="git fetch")
    pulls = pulls_in(repo, base, failure.tip, lambda tags: verify_tags(repo, tags))
    if not pulls:
        raise ConfigError(
            f"{failure.tip[:12]} adds no pull request over {target}: nothing to bisect",
            hint="bisect looks for the pull request that broke a staging branch",
        )
    return git.resolve_commit(repo, f"{pulls[0].merge}^1") or base, pulls


def _same_base(forge: Forge, failure: Failure, base: str, branch: str, target: str) -> None:
    """A merged-results pipeline tested BRANCH merged into the target as it was then; when
    that is not the commit BRANCH is built on (the target moved since), no prefix holds
    the tree that failed, and a bisection would call a real failure flaky: refused."""
    from send_mergereq.models import PipelineKind

    if failure.pipeline.kind is not PipelineKind.MERGED_RESULT:
        return
    parents = forge.commit_parents(failure.pipeline.sha)
    if parents and len(parents) == 2 and parents[0] != base:
        raise ConfigError(
            f"pipeline #{failure.pipeline.id} tested {branch} merged into {target} at "
            f"{parents[0][:12]}, but {branch} is built on {base[:12]}: the target moved "
            "since, and no prefix of it holds the tree that failed",
            hint=f"rebuild {branch} on the current {target}, send it, then bisect its pipeline",
        )


def _prefix(repo: Path) -> str | None:
    return git.config_value(repo, PREFIX_KEY) or None


def _pipeline_wait(repo: Path) -> float:
    said = git.config_value(repo, WAIT_KEY)
    try:
        return max(0.0, float(said)) if said else 10.0
    except ValueError:
        raise ConfigError(f"{WAIT_KEY}={said!r} is not a number of seconds") from None


def _search(
    probes: Probes,
    *,
    failure: Failure,
    base: str,
    pulls: Sequence[Pull],
    options: BisectOptions,
    out: Output,
) -> Found:
    n = len(pulls)
    sha = {0: base, **{p.k: p.merge for p in pulls}}
    place = probes.place
    expected = {bisect_branch(place.branch, k, place.prefix): sha[k] for k in range(n)}
    expected[bisect_branch(place.branch, n, place.prefix)] = failure.tip  # the re-run
    gone = probes.remove_leftovers(expected)
    if gone:
        out.say(f"removed {len(gone)} temporary branch{'es' if len(gone) != 1 else ''} an "
                f"earlier bisect left: {', '.join(gone)}")  # fmt: skip
    judged: dict[int, Probe] = {n: Probe(n, failure.tip, failure.pipeline, True, FAILED)}
    search = Search(n, options.parallel)
    for k in range(n):
        reused = probes.reuse(k, sha[k])
        if reused is not None:
            judged[k] = reused
            search.record(k, reused.result == PASSED)
            out.say(f"  prefix {k}: {reused.result} in pipeline #{_id(reused)} (reused)")
    undecided = len(search.undecided())
    out.say(plan_line(undecided, options.parallel, rounds_needed(undecided, options.parallel)))
    rerun: Probe | None = None
    number = 0
    while search.verdict() is None:
        wanted = search.probes()
        if not wanted and search.needs_rerun():
            out.say(f"no prefix fails: running {probes.place.branch} ({failure.tip[:12]}) again")
            (rerun,) = probes.run([(n, failure.tip)])
            search.rerun_passed = rerun.result == PASSED
            out.say(f"  again: {rerun.result}  {_url(rerun)}")
            continue
        if not wanted:  # the search says neither a verdict nor what to run: a bug
            raise RuntimeError(f"bisect: no verdict and nothing to run ({search.known})")
        number += 1
        out.say(f"round {number}: prefixes {', '.join(str(k) for k in wanted)}")
        for probe in probes.run([(k, sha[k]) for k in wanted]):
            judged[probe.k] = probe
            search.record(probe.k, probe.result == PASSED)
            out.say(f"  prefix {probe.k} ({_label(pulls, probe.k)}): {probe.result}")
    verdict = search.verdict()
    assert verdict is not None
    return Found(verdict, judged, rerun, gone)


def _id(probe: Probe) -> int:
    return probe.pipeline.id if probe.pipeline else 0


def _url(probe: Probe) -> str:
    return probe.pipeline.web_url if probe.pipeline else ""


def _label(pulls: Sequence[Pull], k: int) -> str:
    if k == 0:
        return "the target"
    pull = pulls[k - 1]
    return f"with {pull.tag}" if pull.tag else f"with {pull.merge[:12]}"


def _retry_hint(settings: Settings, options: BisectOptions) -> str:
    words = ["send-mergereq"]
    if options.directory != Path("."):
        words += ["-C", str(options.directory)]
    words += ["status", settings.branch, "--retry-failed", "1"]
    return shlex.join(words)


def _after(
    settings: Settings,
    *,
    options: BisectOptions,
    out: Output,
    outcome: Outcome,
    failure: Failure,
    forge: Forge,
) -> ExitCode:
    """The reply draft and the ejection, for a culprit; the run's exit code (8 when the
    ejection could rebuild nothing)."""
    culprit = outcome.culprit
    if outcome.verdict.kind == TARGET:  # how often those jobs failed there lately
        from send_mergereq.jobs.gate_history import said

        found = said(forge, settings.repo, outcome.target, outcome.jobs, out.say)
        for name, history in found.items():
            out.say(f"{name}: {history.line()}")
        outcome.extra["history"] = {name: h.document() for name, h in found.items()}
    if culprit is None:
        if options.eject or options.reply:
            out.say("no culprit: nothing ejected, no reply drafted")
        return outcome.exit_code
    if options.reply is not None:
        from send_mergereq.bisect.reply import write_reply

        written = write_reply(
            settings, options, outcome=outcome, failure=failure, forge=forge, say=out.say
        )
        outcome.extra["reply"] = str(written) if written else None
    if options.eject:
        from send_mergereq.bisect.ejection import eject

        branch = settings.branch.removeprefix("refs/heads/")
        ejected = eject(settings.repo, settings.target, branch, culprit.merge)
        for line in ejected.lines():
            out.say(line)
        outcome.extra["eject"] = ejected.document()
        return ejected.exit_code
    if culprit.tag:
        out.say(f"next: send-mergereq eject {shlex.quote(culprit.tag)} "
                f"{shlex.quote(settings.branch)}")  # fmt: skip
    return outcome.exit_code
