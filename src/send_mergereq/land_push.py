"""Push-only mode: gate on the branch pipeline of the pushed commit, land by fast-forward.

For projects that gate without merge requests (QEMU's merge maintainer pushes
``staging``, waits for its branch pipeline, then pushes ``staging`` to ``master``):
``push_only`` pushes the branch and finds the branch pipeline of exactly that commit
on that branch; after the watch, ``land_fast_forward`` pushes that commit to the
target with ``--force-with-lease=TARGET:<head just read>``, only when it is a
fast-forward. The one place the tool pushes to the target branch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from send_mergereq.credentials import Secret, Token, find_token
from send_mergereq.discovery import CHILD_SOURCE, floor_of
from send_mergereq.errors import ExitCode, ForgeError, GitError
from send_mergereq.gate import Outcome
from send_mergereq.landing import (
    Basis,
    LandDecision,
    LandHow,
    LandMode,
    LandResult,
    decide,
    refused,
)
from send_mergereq.models import Pipeline, PipelineKind
from send_mergereq.push import PushResult, git_out, push_branch, push_url, refuse_unsafe_push
from send_mergereq.remote import GitLabLocation, same_server

if TYPE_CHECKING:
    from send_mergereq.forge import Forge
    from send_mergereq.gate import Verdict
    from send_mergereq.submit import SubmitRequest

Notify = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


@dataclass(frozen=True)
class PushOnlyResult:
    """``push_only``'s answer: what was pushed and the branch pipeline testing it."""

    repo: Path
    location: GitLabLocation
    push: PushResult
    pipeline: Pipeline
    target: str
    target_before: str | None  # the target head when the push was made
    reused: bool
    notes: tuple[str, ...] = ()
    forge: Forge | None = field(default=None, repr=False, compare=False)

    def as_json(self) -> dict[str, Any]:
        from send_mergereq.submit import pipeline_json

        return {"merge_request": None, "pipeline": pipeline_json(self.pipeline, reused=self.reused)}


@dataclass
class _Clock:
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def push_only(
    req: SubmitRequest,
    *,
    notify: Notify = _quiet,
    token: Token | None = None,
    forge: Forge | None = None,
    now: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> PushOnlyResult:
    """Push ``req.range.branch_sha`` to ``req.branch`` (never the target), no merge request,
    and wait for the branch pipeline of exactly that commit on that branch."""
    from send_mergereq.forge_land import branch_head
    from send_mergereq.submit import connect, resolve_location

    location = resolve_location(req.repo, req.remote, req.gitlab_url, req.project)
    token = token or find_token(location.gitlab_url, project=location.project, cwd=req.repo)
    forge = forge or connect(location, token)
    protected = forge.is_protected(req.branch)
    refuse_unsafe_push(req.branch, req.target, protected=bool(protected), project=forge.info.path)
    floor = floor_of(forge.branch_pipelines(req.branch))
    before = branch_head(forge, req.target)
    secret = _secret_for(req.repo, req.remote, location, token)
    pushed = push_branch(
        req.repo, remote=req.remote, branch=req.branch, sha=req.range.branch_sha, token=secret
    )
    notify(f"pushed {pushed.sha[:12]} to {pushed.remote}/{pushed.branch} ({pushed.status})")
    pipeline = wait_branch_pipeline(
        forge, req.branch, pushed.sha, floor, reuse=pushed.up_to_date,
        timeout=req.appear_timeout, clock=_Clock(now, sleep), notify=notify,
    )  # fmt: skip
    reused = pipeline.id <= floor
    note = f"{'reusing' if reused else 'watching'} the branch pipeline of {req.branch} "
    note += f"#{pipeline.id}: {pipeline.web_url}"
    return PushOnlyResult(
        req.repo, location, pushed, pipeline, req.target, before, reused, (note,), forge
    )


def wait_branch_pipeline(
    forge: Forge,
    branch: str,
    sha: str,
    floor: int,
    *,
    reuse: bool,
    timeout: float,
    clock: _Clock | None = None,
    notify: Notify = _quiet,
) -> Pipeline:
    """The newest pipeline of ``branch`` at exactly ``sha`` created after the push (id above
    ``floor``; an older one too when the push changed nothing). ForgeError after ``timeout``."""
    clock = clock or _Clock()
    start, delay, said = clock.now(), 1.0, False
    while True:
        found = [
            p
            for p in forge.branch_pipelines(branch, sha)
            if p.kind is PipelineKind.BRANCH and p.ref == branch and p.sha == sha
            if p.source != CHILD_SOURCE
            if p.id > floor or reuse
        ]
        if found:
            return max(found, key=lambda p: p.id)
        waited = clock.now() - start
        if waited >= timeout:
            raise ForgeError(
                f"no pipeline for {sha[:12]} on {branch} appeared within {timeout:.0f}s",
                hint="push-only mode gates on the branch pipeline: the project's CI must run "
                "pipelines for pushes to this branch (.gitlab-ci.yml rules / workflow)",
            )
        if not said:
            notify(f"waiting for GitLab to create the pipeline of {branch} …")
            said = True
        clock.sleep(min(delay, timeout - waited))
        delay = min(delay * 1.5, 5.0)


def land_fast_forward(
    forge: Forge,
    pushed: PushOnlyResult,
    pipeline: Pipeline,
    verdict: Verdict,
    *,
    token: Token | None = None,
    notify: Notify = _quiet,
) -> LandResult:
    """Fast-forward the target to the tested commit with a lease on the head just read,
    if ``verdict`` is open and it is a fast-forward; the push names only that commit."""
    from send_mergereq.forge_land import branch_head

    repo, remote, target = pushed.repo, pushed.push.remote, pushed.target
    tested_sha = pushed.push.sha
    current = branch_head(forge, target) if verdict.outcome is Outcome.OPEN else None
    tested = Basis(
        PipelineKind.BRANCH,
        pipeline.id,
        tested_sha,
        pushed.target_before,
        current,
        current is not None and is_ancestor(repo, current, tested_sha),
        _branch_mismatch(pipeline, pushed),
    )
    decision = decide(verdict.outcome, tested, target=target, mode=LandMode.PUSH)
    if not decision.land:
        return refused(decision, tested)
    assert current is not None
    token = token or find_token(pushed.location.gitlab_url, project=pushed.location.project,
                                cwd=repo)  # fmt: skip
    secret = _secret_for(repo, remote, pushed.location, token)
    notify(f"fast-forwarding {target} from {current[:12]} to {tested_sha[:12]}")
    try:
        push_branch(repo, remote=remote, branch=target, sha=tested_sha, token=secret,
                    expect=current)  # fmt: skip
    except GitError as exc:
        return refused(LandDecision(False, exc.message, ExitCode.NOT_LANDED), tested)
    return LandResult(
        landed=True,
        sha=tested_sha,
        how=LandHow.FAST_FORWARD,
        tested_target=pushed.target_before,
        current_target=current,
        target_head=tested_sha,
    )


def _branch_mismatch(pipeline: Pipeline, pushed: PushOnlyResult) -> str | None:
    branch, sha = pushed.push.branch, pushed.push.sha
    if pipeline.kind is PipelineKind.BRANCH and pipeline.ref == branch and pipeline.sha == sha:
        return None
    return f"pipeline #{pipeline.id} is not the branch pipeline of {branch} at {sha[:12]}"


def is_ancestor(repo: Path, ancestor: str, head: str) -> bool:
    """``git merge-base --is-ancestor``: False too when ``ancestor`` is not in the local
    repository (then the tested commit, which is, cannot contain it)."""
    return git_out(repo, "merge-base", "--is-ancestor", ancestor, head) is not None


def _secret_for(repo: Path, remote: str, location: GitLabLocation, token: Token) -> Secret | None:
    """The token goes along only to the GitLab it is for (an SSH remote uses keys)."""
    return token.secret if same_server(push_url(repo, remote), location.gitlab_url) else None
