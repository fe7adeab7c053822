"""Steps 3 and 4 of a run, after the checks passed: push, and open or update the merge
request; then hand over to ``discovery`` for the pipeline testing the push.

Both modes: in merge request mode the MR ``source → target`` is opened once and
refreshed afterwards; in push-only mode (``--no-mr``) the branch alone is pushed and
its branch pipeline is the gate. Nothing here prints: progress goes to ``notify``,
and what the user should know at the end comes back in ``Published.notes``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from send_mergereq.config import LandMode
from send_mergereq.errors import ConfigError
from send_mergereq.history import CommitRange, RawCommit
from send_mergereq.models import FINISHED, MergeRequest, Pipeline, PipelineKind
from send_mergereq.mr import describe
from send_mergereq.mr import text as mr_text
from send_mergereq.run.clock import Clock, Notify, quiet
from send_mergereq.run.discovery import (
    Target,
    find_branch_pipeline,
    find_mr_pipeline,
    floor_of,
)
from send_mergereq.run.push import PushResult, push_branch, refuse_unsafe_push
from send_mergereq.scan.walk import read_commits

if TYPE_CHECKING:
    from send_mergereq.gitlab.forge import Forge, MrSpec
    from send_mergereq.gitlab.session import Session

Editor = Callable[[str], "str | None"]
MERGED_RESULTS_HOWTO = (
    "merged results pipelines are off for {project}: the pipeline tests {branch} alone, "
    "not merged into {target}; turn on Settings > Merge requests > "
    '"Enable merged results pipelines" (GitLab Premium)'
)


@dataclass(frozen=True)
class PublishRequest:
    """What to publish; ``send`` fills it from the settings and flags."""

    repo: Path
    range: CommitRange  # TARGET..BRANCH as checked; range.branch_sha is what gets pushed
    branch: str  # the source branch name, locally and on GitLab (e.g. staging)
    target: str  # the target branch name on GitLab (e.g. master)
    remote: str  # the git remote to push to
    mode: LandMode = LandMode.MR
    title: str | None = None  # None: generated
    description: str | None = None  # None: generated
    labels: tuple[str, ...] | None = None  # None: leave as they are
    assignee_ids: tuple[int, ...] | None = None  # GitLab user ids; None: leave as they are
    reviewer_ids: tuple[int, ...] | None = None
    auto_merge: bool = False  # merge when the pipeline succeeds (sha-guarded)
    appear_timeout: float = 60.0  # seconds to wait for GitLab to create the pipeline
    branch_grace: float = 20.0  # seconds a branch pipeline waits for an MR pipeline to show


@dataclass(frozen=True)
class Published:
    """What was pushed, the merge request (None in push-only mode) and the pipeline
    testing the push."""

    push: PushResult
    target: str  # the target branch on GitLab
    merge_request: MergeRequest | None
    pipeline: Pipeline
    reused: bool  # an earlier pipeline for the same head, not a new one
    created_pipeline: bool  # none came, so we asked GitLab for one
    target_before: str | None = None  # push-only: the target head when the push was made
    notes: tuple[str, ...] = ()

    @property
    def kind(self) -> PipelineKind:
        return self.pipeline.kind


def publish(
    req: PublishRequest,
    session: Session,
    *,
    notify: Notify = quiet,
    edit: Editor | None = None,
    clock: Clock | None = None,
    sending: Callable[[], None] = lambda: None,
) -> Published:
    """Push ``req.range.branch_sha`` and, in MR mode, open or update the MR; find the
    pipeline testing the push.

    ``edit`` (``click.edit``) gets "TITLE\\n\\nDESCRIPTION" when ``--edit`` is asked for;
    ``sending`` is called just before the push starts (from then on, something may be sent).
    Raises ConfigError (2) before anything is pushed for an unsafe branch, GitError (6)
    for a rejected push, ForgeError (6) when GitLab fails.
    """
    forge, clock = session.forge, clock or Clock()
    notes = _check_branch(forge, req)
    if req.mode is LandMode.PUSH:
        return _push_only(req, session, notes, clock, notify, sending=sending)
    existing = forge.find_open_mr(req.branch, req.target)
    floor = _floor(forge, req.branch, existing)
    sending()
    pushed = _push(req, session)
    notify(_pushed_line(pushed))
    spec = _mr_spec(req, edit, existing)
    mr = forge.open_or_update_mr(req.branch, req.target, spec)
    verb = "opened" if mr.created else "refreshed the open"
    notify(f"{verb} merge request !{mr.iid}: {mr.web_url}")
    target = _target(forge, mr, pushed, floor)
    pipeline, created = find_mr_pipeline(
        forge, target, appear_timeout=req.appear_timeout, branch_grace=req.branch_grace,
        clock=clock, notify=notify,
    )  # fmt: skip
    reused = pipeline.id <= floor
    if req.auto_merge:
        forge.set_auto_merge(mr.iid, req.range.branch_sha)
        notes.append(f"!{mr.iid} will merge when pipeline #{pipeline.id} succeeds")
    notes += _kind_notes(forge, req, pipeline, reused=reused, created=created)
    return Published(pushed, req.target, mr, pipeline, reused, created, notes=tuple(notes))


def _push_only(
    req: PublishRequest,
    session: Session,
    notes: list[str],
    clock: Clock,
    notify: Notify,
    *,
    sending: Callable[[], None],
) -> Published:
    """Push the branch (never the target), no merge request, and wait for the branch
    pipeline of exactly that commit on that branch."""
    forge = session.forge
    floor = floor_of(forge.branch_pipelines(req.branch))
    before = forge.branch_head(req.target)
    sending()
    pushed = _push(req, session)
    notify(_pushed_line(pushed))
    pipeline = find_branch_pipeline(
        forge, req.branch, pushed.sha, floor, reuse=pushed.up_to_date,
        timeout=req.appear_timeout, clock=clock, notify=notify,
    )  # fmt: skip
    reused = pipeline.id <= floor
    note = f"{'reusing' if reused else 'watching'} the branch pipeline of {req.branch} "
    note += f"#{pipeline.id}: {pipeline.web_url}"
    return Published(pushed, req.target, None, pipeline, reused, False, before, (*notes, note))


def _check_branch(forge: Forge, req: PublishRequest) -> list[str]:
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


def _push(req: PublishRequest, session: Session) -> PushResult:
    """Push with the session's git environment (the token only for its own GitLab)."""
    return push_branch(
        req.repo, remote=req.remote, branch=req.branch, sha=req.range.branch_sha,
        env=session.git_env(), explain=partial(session.redirect_refused, push=True),
    )  # fmt: skip


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


def _mr_spec(req: PublishRequest, edit: Editor | None, existing: MergeRequest | None) -> MrSpec:
    """The title is generated only when the MR is opened (or given with ``--title``); the
    description's generated part is refreshed between its markers, the rest kept."""
    from send_mergereq.gitlab.entities import MrSpec

    title, text = req.title, req.description
    if (title is None and existing is None) or text is None:
        gen_title, gen_text = generated_text(req.repo, req.range, req.branch, req.target)
        if title is None and existing is None:
            title = gen_title
        if text is None:
            text = mr_text.splice(existing.description, gen_text) if existing else None
            text = text if text is not None else mr_text.wrap(gen_text)
    if edit is not None:
        shown = title if title is not None else (existing.title if existing else "")
        title, text = edit_message(edit, shown, text, branch=req.branch, target=req.target)
    return MrSpec(
        title=title, description=text, labels=req.labels,
        assignee_ids=req.assignee_ids, reviewer_ids=req.reviewer_ids,
    )  # fmt: skip


def generated_text(
    repo: Path,
    rng: CommitRange,
    branch: str,
    target: str,
    commits: Iterable[RawCommit] | None = None,
) -> tuple[str, str]:
    """Title and description from what ``rng`` merges (one more raw pass over the range);
    the tags of its pull requests verified again, for who signed them, by key."""
    from send_mergereq.scan.signatures import verify_tags

    listed = list(commits if commits is not None else read_commits(repo, rng))
    tags = describe.pull_tags(listed, rng.branch_sha)
    summary = describe.summarize(listed, rng.branch_sha, verify_tags(repo, tags) if tags else {})
    return describe.title(summary, branch), describe.description(
        summary, branch, target, len(listed)
    )


def edit_message(
    edit: Editor, title: str, text: str, *, branch: str = "", target: str = ""
) -> tuple[str, str]:
    """Let the user edit "TITLE\\n\\nDESCRIPTION" like a commit message (``#`` lines are
    ignored, the first line is the title); an empty title aborts."""
    buffer = mr_text.edit_buffer(title, text, branch=branch, target=target)
    edited = edit(buffer)
    if edited is None:
        return title, text
    first, rest = mr_text.parse_edited(edited)
    if not first:
        raise ConfigError("empty merge request title: nothing pushed to the merge request")
    return first, rest


def _kind_notes(
    forge: Forge, req: PublishRequest, pipeline: Pipeline, *, reused: bool, created: bool
) -> list[str]:
    kind = {
        PipelineKind.MERGED_RESULT: f"merged results pipeline ({req.branch} merged into "
        f"{req.target})",
        PipelineKind.DETACHED: f"detached merge request pipeline (tests {req.branch} as is)",
        PipelineKind.BRANCH: f"branch pipeline of {req.branch}",
    }[pipeline.kind]
    how = "reusing" if reused else ("created" if created else "found")
    notes = [f"{how} the {kind} #{pipeline.id} ({pipeline.status}): {pipeline.web_url}"]
    if reused and pipeline.status in FINISHED:
        notes.append(f"{req.range.branch_sha[:12]} was already pushed and tested: no new pipeline")
    elif reused:
        notes.append(
            f"{req.range.branch_sha[:12]} was already pushed: its pipeline #{pipeline.id} "
            f"is still {pipeline.status}, no new pipeline"
        )
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
