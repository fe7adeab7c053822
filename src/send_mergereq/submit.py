"""Steps 3 to 5 of a run, after the checks passed: push, open or update the MR, find its pipeline.

``submit`` is the one call the CLI makes. It never prints: progress goes to the
``notify`` callback, and what the user should know at the end comes back in
``SubmitResult.notes``. python-gitlab is imported only inside these functions,
so importing this module stays cheap for ``--dry-run``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from send_mergereq import describe
from send_mergereq.credentials import Token, find_token
from send_mergereq.discovery import Target, best, floor_of
from send_mergereq.errors import ConfigError, ForgeError
from send_mergereq.history import CommitRange, RawCommit, read_commits
from send_mergereq.models import MergeRequest, Pipeline, PipelineKind
from send_mergereq.push import (
    PushResult,
    gitlab_branch_name,
    push_branch,
    push_url,
    refuse_unsafe_push,
)
from send_mergereq.remote import (
    GitLabLocation,
    normalize_base_url,
    parse_remote_url,
    same_server,
)

if TYPE_CHECKING:
    from send_mergereq.config import Settings
    from send_mergereq.forge import Forge, MrSpec

Notify = Callable[[str], None]
Editor = Callable[[str], "str | None"]
MERGED_RESULTS_HOWTO = (
    "merged results pipelines are off for {project}: the pipeline tests {branch} alone, "
    "not merged into {target}; turn on Settings > Merge requests > "
    '"Enable merged results pipelines" (GitLab Premium)'
)


@dataclass(frozen=True)
class SubmitRequest:
    """Everything ``submit`` needs; the CLI fills it from the settings and flags."""

    repo: Path
    range: CommitRange  # TARGET..BRANCH as checked; range.branch_sha is what gets pushed
    branch: str  # the source branch name, locally and on GitLab (e.g. staging)
    target: str  # the target branch name on GitLab (e.g. master; see push.gitlab_branch_name)
    remote: str  # the git remote to push to
    gitlab_url: str | None = None  # --gitlab-url / sendmergereq.gitlabUrl; None: from the remote
    project: str | None = None  # --project / sendmergereq.project; None: from the remote
    title: str | None = None  # None: generated
    description: str | None = None  # None: generated
    labels: tuple[str, ...] | None = None  # None: leave as they are
    assignees: tuple[str, ...] = ()  # GitLab usernames
    auto_merge: bool = False  # merge when the pipeline succeeds (sha-guarded)
    appear_timeout: float = 60.0  # seconds to wait for GitLab to create the pipeline
    branch_grace: float = 20.0  # seconds a branch pipeline waits for an MR pipeline to show


@dataclass(frozen=True)
class SubmitResult:
    location: GitLabLocation
    push: PushResult
    merge_request: MergeRequest
    pipeline: Pipeline
    reused: bool  # an earlier pipeline for the same head, not a new one
    created_pipeline: bool  # none came, so we asked GitLab for one
    notes: tuple[str, ...] = ()
    forge: Forge | None = field(default=None, repr=False, compare=False)  # for watch()

    @property
    def kind(self) -> PipelineKind:
        return self.pipeline.kind

    def as_json(self) -> dict[str, Any]:
        mr = self.merge_request
        return {
            "merge_request": {"iid": mr.iid, "web_url": mr.web_url, "created": mr.created},
            "pipeline": pipeline_json(self.pipeline, reused=self.reused),
        }


def pipeline_json(pipeline: Pipeline, *, reused: bool) -> dict[str, Any]:
    """The ``pipeline`` section of ``--json`` for a submission that did not wait."""
    return {
        "id": pipeline.id,
        "status": pipeline.status,
        "kind": str(pipeline.kind),
        "web_url": pipeline.web_url,
        "reused": reused,
    }


@dataclass
class _Clock:
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    notify: Notify = field(default=lambda _message: None)


def request_from_settings(
    settings: Settings,
    rng: CommitRange,
    env: Mapping[str, str],
    *,
    gitlab_url: str | None = None,
    project: str | None = None,
    **options: Any,
) -> SubmitRequest:
    """A SubmitRequest from the layered settings: flags over ``SEND_MERGEREQ_GITLAB_URL`` /
    ``SEND_MERGEREQ_PROJECT`` over git config ``sendmergereq.gitlabUrl`` /
    ``sendmergereq.project``; ``options`` are the MR fields (title, labels, auto_merge ...)."""
    if not settings.remote:
        raise ConfigError(
            f"no git remote to push {settings.branch} to",
            hint="pass --remote NAME, or set git config sendmergereq.remote",
        )
    config = settings.git_config

    def layered(flag: str | None, var: str, key: str) -> str | None:
        values = config.get(key, ())
        return flag or env.get(var) or (values[-1] if values else None)

    return SubmitRequest(
        repo=settings.repo,
        range=rng,
        branch=gitlab_branch_name(settings.branch, settings.remote),
        target=gitlab_branch_name(settings.target, settings.remote),
        remote=settings.remote,
        gitlab_url=layered(gitlab_url, "SEND_MERGEREQ_GITLAB_URL", "sendmergereq.gitlaburl"),
        project=layered(project, "SEND_MERGEREQ_PROJECT", "sendmergereq.project"),
        **options,
    )


def resolve_location(
    repo: Path, remote: str, gitlab_url: str | None = None, project: str | None = None
) -> GitLabLocation:
    """GitLab URL and project: the flags/config when given, else from the remote's push URL."""
    if gitlab_url and project:
        return GitLabLocation(normalize_base_url(gitlab_url), project.strip("/"))
    location = parse_remote_url(push_url(repo, remote), remote, gitlab_url)
    return GitLabLocation(location.gitlab_url, project.strip("/")) if project else location


def connect(location: GitLabLocation, token: Token) -> Forge:
    """The project on GitLab (python-gitlab is imported here, not before)."""
    from send_mergereq.forge import Forge

    return Forge.connect(location.gitlab_url, token, location.project)


def submit(
    req: SubmitRequest,
    *,
    notify: Notify | None = None,
    edit: Editor | None = None,
    token: Token | None = None,
    forge: Forge | None = None,
    now: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SubmitResult:
    """Push ``req.range.branch_sha``, open or update the MR, find the pipeline testing it.

    ``edit`` (``click.edit``) gets "TITLE\\n\\nDESCRIPTION" when ``--edit`` is asked for.
    Raises ConfigError (2) before anything is pushed for an unsafe branch, GitError (6)
    for a rejected push, ForgeError (6) when GitLab fails.
    """
    clock = _Clock(now, sleep, notify or (lambda _message: None))
    location = resolve_location(req.repo, req.remote, req.gitlab_url, req.project)
    token = token or find_token(location.gitlab_url, project=location.project, cwd=req.repo)
    forge = forge or connect(location, token)
    notes = _check_branch(forge, req)
    existing = forge.find_open_mr(req.branch, req.target)
    floor = _floor(forge, req.branch, existing)
    pushed = _push(req, location, token)
    clock.notify(_pushed_line(pushed))
    spec = _mr_spec(forge, req, edit)
    mr = forge.open_or_update_mr(req.branch, req.target, spec)
    verb = "opened" if mr.created else "refreshed the open"
    clock.notify(f"{verb} merge request !{mr.iid}: {mr.web_url}")
    target = _target(forge, mr, pushed, floor)
    pipeline, created = find_pipeline(forge, target, req, clock)
    reused = pipeline.id <= floor
    if req.auto_merge:
        forge.set_auto_merge(mr.iid, req.range.branch_sha)
        notes.append(f"!{mr.iid} will merge when pipeline #{pipeline.id} succeeds")
    notes += _kind_notes(forge, req, pipeline, reused=reused, created=created)
    return SubmitResult(location, pushed, mr, pipeline, reused, created, tuple(notes), forge)


def _check_branch(forge: Forge, req: SubmitRequest) -> list[str]:
    """Refuse the target or a protected branch before pushing; notes on what we could not ask."""
    protected = forge.is_protected(req.branch)
    refuse_unsafe_push(req.branch, req.target, protected=bool(protected), project=forge.info.path)
    if protected is None:
        return [
            f"could not check whether {req.branch} is protected (403); "
            "GitLab refuses the push itself if it is"
        ]
    return []


def _floor(forge: Forge, branch: str, existing: MergeRequest | None) -> int:
    """The highest pipeline id for this branch or MR before the push."""
    seen = forge.branch_pipelines(branch)
    if existing is not None:
        seen += forge.mr_pipelines(existing.iid)
    return floor_of(seen)


def _push(req: SubmitRequest, location: GitLabLocation, token: Token) -> PushResult:
    """Push; the token goes along only to the GitLab it is for (an SSH remote uses keys)."""
    url = push_url(req.repo, req.remote)
    secret = token.secret if same_server(url, location.gitlab_url) else None
    return push_branch(
        req.repo, remote=req.remote, branch=req.branch, sha=req.range.branch_sha, token=secret
    )


def _pushed_line(pushed: PushResult) -> str:
    where = f"{pushed.remote}/{pushed.branch}"
    if pushed.up_to_date:
        return f"{where} is already at {pushed.sha[:12]}: nothing to push"
    return f"pushed {pushed.sha[:12]} to {where} ({pushed.status})"


def _target(forge: Forge, mr: MergeRequest, pushed: PushResult, floor: int) -> Target:
    head_id = None
    if pushed.up_to_date:  # GitLab's own pick for the head, to reuse a merged-results run
        _, head_pipeline = forge.merge_request(mr.iid)
        head_id = head_pipeline.id if head_pipeline else None
    return Target(mr.iid, pushed.branch, pushed.sha, floor, pushed.up_to_date, head_id)


def _mr_spec(forge: Forge, req: SubmitRequest, edit: Editor | None) -> MrSpec:
    from send_mergereq.forge import MrSpec

    title, text = req.title, req.description
    if title is None or text is None:
        gen_title, gen_text = generated_text(req.repo, req.range, req.branch, req.target)
        title, text = title or gen_title, gen_text if text is None else text
    if edit is not None:
        title, text = edit_message(edit, title, text)
    assignees = forge.user_ids(req.assignees) if req.assignees else None
    return MrSpec(title=title, description=text, labels=req.labels, assignee_ids=assignees)


def generated_text(
    repo: Path,
    rng: CommitRange,
    branch: str,
    target: str,
    commits: Iterable[RawCommit] | None = None,
) -> tuple[str, str]:
    """Title and description from what ``rng`` merges (one more raw pass over the range)."""
    listed = list(commits if commits is not None else read_commits(repo, rng))
    summary = describe.summarize(listed, rng.branch_sha)
    return describe.title(summary, branch), describe.description(
        summary, branch, target, len(listed)
    )


def edit_message(edit: Editor, title: str, text: str) -> tuple[str, str]:
    """Let the user edit "TITLE\\n\\nDESCRIPTION" like a commit message; empty title aborts."""
    edited = edit(f"{title}\n\n{text}\n")
    if edited is None:
        return title, text
    first, _, rest = edited.strip("\n").partition("\n")
    if not first.strip():
        raise ConfigError("empty merge request title: nothing pushed to the merge request")
    return first.strip(), rest.strip("\n")


def find_pipeline(
    forge: Forge, target: Target, req: SubmitRequest, clock: _Clock | None = None
) -> tuple[Pipeline, bool]:
    """Wait for the pipeline that tests ``target``; create one if none comes in time.

    A merge request pipeline is taken as soon as it shows. A branch pipeline is
    taken after ``branch_grace`` (an MR pipeline for the same push may still come),
    never early if the project runs MR pipelines (merged results on, this MR had MR
    pipelines before, or the project has run any): then it waits for one until
    ``appear_timeout`` and asks GitLab to create one. Returns (pipeline, created by us).
    """
    clock = clock or _Clock()
    start = clock.now()
    grace_end: float | None = None
    delay = 1.0
    waited = False
    decoys: set[int] = set()
    runs_mr: bool | None = None  # asked once, when a branch pipeline shows first
    while True:
        mr_pipelines = forge.mr_pipelines(target.iid)
        choice = _verified_best(forge, mr_pipelines, target, decoys)
        if choice is not None and choice.kind != PipelineKind.BRANCH:
            return choice, False
        branch = choice or best(forge.branch_pipelines(target.branch, target.head), target)
        expect_mr = forge.info.merge_pipelines_enabled or any(
            p.kind != PipelineKind.BRANCH for p in mr_pipelines
        )
        if branch is not None and not expect_mr:
            runs_mr = forge.runs_mr_pipelines() if runs_mr is None else runs_mr
            expect_mr = runs_mr
        now = clock.now()
        if branch is not None and not expect_mr:
            grace_end = grace_end if grace_end is not None else now + req.branch_grace
            if now >= grace_end:
                return branch, False
        if now - start >= req.appear_timeout:
            if branch is not None and not expect_mr:
                return branch, False
            return _create_or(forge, target, branch, clock)
        if not waited:
            clock.notify("waiting for GitLab to create the pipeline …")
            waited = True
        clock.sleep(min(delay, max(0.0, start + req.appear_timeout - now)))
        delay = min(delay * 1.5, 5.0)


def _verified_best(
    forge: Forge, pipelines: list[Pipeline], target: Target, decoys: set[int]
) -> Pipeline | None:
    """``best`` among ``pipelines``, skipping merged results pipelines whose merge commit
    does not merge ``target.head`` (a late run for an earlier push: its ref says nothing
    of the head it tested); those found are added to ``decoys`` and never read again."""
    while True:
        choice = best((p for p in pipelines if p.id not in decoys), target)
        if choice is None or choice.kind is not PipelineKind.MERGED_RESULT:
            return choice
        if _merges_head(forge, choice.sha, target.head):
            return choice
        decoys.add(choice.id)


def _merges_head(forge: Forge, merge_sha: str, head: str) -> bool:
    """Whether GitLab's merge commit ``merge_sha`` has ``head`` as its merged parent; True
    too when GitLab will not show the commit or fails (landing checks the parents again)."""
    from send_mergereq.forge_land import commit_parents

    if merge_sha == head:
        return True
    try:
        parents = commit_parents(forge, merge_sha)
    except ForgeError:  # not shown, or GitLab failing: as before this check (never worse)
        return True
    return len(parents) < 2 or head in parents[1:]


def _create_or(
    forge: Forge, target: Target, branch: Pipeline | None, clock: _Clock
) -> tuple[Pipeline, bool]:
    """Ask GitLab for an MR pipeline; fall back on the branch pipeline if it cannot make one."""
    clock.notify(f"no merge request pipeline came for !{target.iid}: asking GitLab for one")
    try:
        return forge.create_mr_pipeline(target.iid), True
    except ForgeError:
        if branch is None:
            raise
        return branch, False


def _kind_notes(
    forge: Forge, req: SubmitRequest, pipeline: Pipeline, *, reused: bool, created: bool
) -> list[str]:
    kind = {
        PipelineKind.MERGED_RESULT: f"merged results pipeline ({req.branch} merged into "
        f"{req.target})",
        PipelineKind.DETACHED: f"detached merge request pipeline (tests {req.branch} as is)",
        PipelineKind.BRANCH: f"branch pipeline of {req.branch}",
    }[pipeline.kind]
    how = "reusing" if reused else ("created" if created else "found")
    notes = [f"{how} the {kind} #{pipeline.id} ({pipeline.status}): {pipeline.web_url}"]
    if reused:
        notes.append(f"{req.range.branch_sha[:12]} was already pushed and tested: no new pipeline")
    if not forge.info.merge_pipelines_enabled and pipeline.kind is not PipelineKind.MERGED_RESULT:
        notes.append(
            MERGED_RESULTS_HOWTO.format(
                project=forge.info.path, branch=req.branch, target=req.target
            )
        )
    elif pipeline.kind == PipelineKind.DETACHED:
        notes.append(
            "merged results are on, but GitLab ran a detached pipeline "
            f"(it does when {req.branch} cannot merge cleanly into {req.target})"
        )
    if pipeline.kind == PipelineKind.BRANCH:
        notes.append(
            "the project's CI runs no merge request pipelines: add a rule "
            '`if: $CI_PIPELINE_SOURCE == "merge_request_event"` to .gitlab-ci.yml'
        )
    return notes
