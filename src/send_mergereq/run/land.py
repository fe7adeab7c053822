"""Step 7 of a run: land exactly what passed (``--land``), or say why nothing landed.

Both modes (``config.LandMode``), one entry point, ``land``:

- **MR mode**: check the result is not stale and merge the MR with GitLab's ``sha``
  guard set to the tested head. With ``--refresh`` a stale result starts a new MR
  pipeline (``POST …/merge_requests/IID/pipelines``), watched again through the
  caller's ``rewatch``, up to ``refresh_limit`` times.
- **Push-only mode**: fast-forward the target to the tested commit with
  ``--force-with-lease=TARGET:<head just read>``, only when it is a fast-forward: the
  one place the tool pushes to the target branch.

Whether it may land is decided by ``land_decision`` (pure); this module gathers the
facts and acts. Nothing here prints: progress goes to ``notify``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from send_mergereq import git
from send_mergereq.config import LandMode
from send_mergereq.errors import ExitCode, GitError
from send_mergereq.gate import Outcome
from send_mergereq.models import Pipeline, PipelineKind
from send_mergereq.run.clock import Notify, quiet
from send_mergereq.run.land_decision import (
    Basis,
    LandDecision,
    LandHow,
    LandResult,
    decide,
    refused,
)
from send_mergereq.run.push import push_branch

if TYPE_CHECKING:
    from send_mergereq.gate import Verdict
    from send_mergereq.gitlab.forge import Forge
    from send_mergereq.gitlab.session import Session
    from send_mergereq.run.publish import Published
    from send_mergereq.watch.types import WatchResult

Rewatch = Callable[[Pipeline], "WatchResult"]


def land(
    session: Session,
    published: Published,
    watched: WatchResult,
    *,
    rewatch: Rewatch,
    refresh: bool = False,
    refresh_limit: int = 1,
    notify: Notify = quiet,
) -> tuple[LandResult, WatchResult]:
    """``--land`` in either mode; returns the outcome and the last watch (a refresh
    watches a new pipeline)."""
    if published.merge_request is None:
        pipeline = watched.pipeline or published.pipeline
        landed = land_fast_forward(session, published, pipeline, watched.verdict, notify=notify)
        return landed, watched
    return land_with_refresh(
        session.forge, published, watched, rewatch=rewatch, refresh=refresh,
        refresh_limit=refresh_limit, notify=notify,
    )  # fmt: skip


# -- what was tested ----------------------------------------------------------------------


def inspect(forge: Forge, pipeline: Pipeline, source_sha: str, target: str) -> Basis:
    """What ``pipeline`` tested (for merged results: on which target head) and where the
    target is now. Also the staleness check for a plain ``--wait`` on an open gate."""
    current = forge.branch_head(target)
    if pipeline.kind is PipelineKind.MERGED_RESULT:
        parents = forge.commit_parents(pipeline.sha)
        tested_target = parents[0] if parents else None
        mismatch = None
        if len(parents) != 2 or parents[1] != source_sha:
            mismatch = (
                f"pipeline #{pipeline.id} tested {pipeline.sha[:12]}, which is not "
                f"{source_sha[:12]} merged into {target}"
            )
        same = current is not None and current == tested_target
        return Basis(pipeline.kind, pipeline.id, source_sha, tested_target, current, same, mismatch)
    mismatch = None
    if pipeline.sha != source_sha:
        mismatch = f"pipeline #{pipeline.id} tested {pipeline.sha[:12]}, not {source_sha[:12]}"
    inside = current is not None and forge.contains(source_sha, current)
    return Basis(pipeline.kind, pipeline.id, source_sha, None, current, inside, mismatch)


def check_stale(forge: Forge, published: Published, watched: WatchResult) -> Basis | None:
    """For a plain ``--wait``: the staleness of an open verdict (None when not open).
    ``stale_line(basis, target)`` is the words for the verdict line; ``basis.as_json()``
    the ``stale``, ``tested_target_sha`` and ``current_target_sha`` fields."""
    if watched.verdict.outcome is not Outcome.OPEN:
        return None
    pipeline = watched.pipeline or published.pipeline
    return inspect(forge, pipeline, published.push.sha, published.target)


# -- MR mode ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MrLanding:
    """The merge request to land and the head its pipeline must have tested."""

    iid: int
    source_sha: str  # the pushed head: GitLab's sha guard
    target: str

    @classmethod
    def of(cls, published: Published) -> MrLanding:
        mr = published.merge_request
        assert mr is not None, "MR mode"
        return cls(mr.iid, published.push.sha, mr.target_branch)


def land_merge_request(
    forge: Forge,
    landing: MrLanding,
    pipeline: Pipeline,
    verdict: Verdict,
    *,
    notify: Notify = quiet,
) -> LandResult:
    """Merge the MR if ``verdict`` is open and ``pipeline``'s result is not stale."""
    if verdict.outcome is not Outcome.OPEN:
        untested = _untested(landing)
        return refused(decide(verdict.outcome, untested, target=landing.target, mode=LandMode.MR))
    tested = inspect(forge, pipeline, landing.source_sha, landing.target)
    decision = decide(verdict.outcome, tested, target=landing.target, mode=LandMode.MR)
    if not decision.land:
        return refused(decision, tested)
    notify(f"merging !{landing.iid} (only if its head is still {landing.source_sha[:12]})")
    attempt = forge.merge_mr(landing.iid, landing.source_sha)
    if not attempt.merged:
        return refused(LandDecision(False, attempt.reason, ExitCode.NOT_LANDED), tested)
    landed = _merged(forge, landing, tested, attempt.merge_commit_sha, attempt.squash_commit_sha)
    if attempt.answer_lost:
        lost = (
            f"GitLab's answer to the merge was lost; !{landing.iid} read back is merged at "
            f"{landing.source_sha[:12]}: landed",
        )
        landed = replace(landed, notes=lost + landed.notes)
    return landed


def _merged(
    forge: Forge, landing: MrLanding, tested: Basis, merge_sha: str | None, squash: str | None
) -> LandResult:
    head = forge.branch_head(landing.target)
    landed = merge_sha or squash or head or landing.source_sha
    return LandResult(
        landed=True,
        sha=landed,
        how=LandHow.MERGE_REQUEST,
        tested_target=tested.tested_target,
        current_target=tested.current_target,
        target_head=head,
        merge_commit_sha=merge_sha,
        notes=_race_note(forge, tested, merge_sha, landing.target),
    )


def _race_note(forge: Forge, tested: Basis, merge_sha: str | None, target: str) -> tuple[str, ...]:
    """A warning when GitLab's merge commit is not on the target head that was tested
    (someone landed between our last look and the merge: GitLab has no target guard)."""
    if tested.kind is not PipelineKind.MERGED_RESULT or not merge_sha:
        return ()
    parents = forge.commit_parents(merge_sha)
    if parents and parents[0] != tested.tested_target:
        return (
            f"warning: {target} moved between the last check and the merge: "
            f"{merge_sha[:12]} sits on {parents[0][:12]}, the pipeline tested "
            f"{(tested.tested_target or '')[:12]}",
        )
    return ()


def _untested(landing: MrLanding) -> Basis:
    return Basis(PipelineKind.MERGED_RESULT, 0, landing.source_sha, None, None, False)


def land_with_refresh(
    forge: Forge,
    published: Published,
    watched: WatchResult,
    *,
    rewatch: Rewatch,
    refresh: bool = False,
    refresh_limit: int = 1,
    notify: Notify = quiet,
) -> tuple[LandResult, WatchResult]:
    """``--land`` in MR mode, with ``--refresh``: land, or on a stale result start a new
    MR pipeline, watch it with ``rewatch`` (the CLI's watch, same display and options)
    and try again, at most ``refresh_limit`` times. Returns the last watch too."""
    landing = MrLanding.of(published)
    if forge.info.merge_trains_enabled:  # never jump the train: join it (run/train.py)
        from send_mergereq.run.train import land_on_train

        return land_on_train(
            forge, landing.iid, landing.source_sha, landing.target, watched,
            rewatch=rewatch, notify=notify,
        )  # fmt: skip
    pipeline = watched.pipeline or published.pipeline
    refreshes = 0
    while True:
        result = land_merge_request(forge, landing, pipeline, watched.verdict, notify=notify)
        if result.landed or not result.stale or not refresh or refreshes >= refresh_limit:
            return replace(result, refreshes=refreshes), watched
        refreshes += 1
        pipeline = forge.create_mr_pipeline(landing.iid, after=pipeline.id)
        if pipeline.kind is PipelineKind.DETACHED and forge.info.merge_pipelines_enabled:
            return _cannot_merge(result, pipeline, landing, refreshes), watched
        notify(
            f"{result.reason}; started pipeline #{pipeline.id} for the current {landing.target} "
            f"(refresh {refreshes} of {refresh_limit})"
        )
        watched = rewatch(pipeline)
        pipeline = watched.pipeline or pipeline


def _cannot_merge(
    stale: LandResult, pipeline: Pipeline, landing: MrLanding, refreshes: int
) -> LandResult:
    """GitLab answered a refresh with a detached pipeline: it could not merge the source
    into the current target (a conflict), so no refresh can produce a merged result."""
    why = (
        f"{stale.reason}; GitLab cannot merge {landing.source_sha[:12]} into the current "
        f"{landing.target} (it ran detached pipeline #{pipeline.id}): merge {landing.target} "
        "into your branch or rebuild it, then run again"
    )
    return replace(stale, reason=why, refreshes=refreshes)


# -- push-only mode ------------------------------------------------------------------------


def land_fast_forward(
    session: Session,
    pushed: Published,
    pipeline: Pipeline,
    verdict: Verdict,
    *,
    notify: Notify = quiet,
) -> LandResult:
    """Fast-forward the target to the tested commit with a lease on the head just read,
    if ``verdict`` is open and it is a fast-forward; the push names only that commit."""
    repo, remote, target = session.repo, pushed.push.remote, pushed.target
    tested_sha = pushed.push.sha
    tested = _pushed_basis(session, pushed, pipeline, verdict)
    current = tested.current_target
    decision = decide(verdict.outcome, tested, target=target, mode=LandMode.PUSH)
    if not decision.land:
        return refused(decision, tested)
    assert current is not None
    notify(f"fast-forwarding {target} from {current[:12]} to {tested_sha[:12]}")
    redirects: list[GitError] = []

    def redirected(done: git.Completed) -> GitError | None:
        found = session.redirect_refused(done, push=True)
        redirects.extend([found] if found else [])
        return found

    try:
        push_branch(repo, remote=remote, branch=target, sha=tested_sha, env=session.git_env(),
                    expect=current, explain=redirected)  # fmt: skip
    except GitError as exc:
        if redirects:  # the token's boundary, not a refusal to land: exit 6
            raise
        return refused(LandDecision(False, exc.message, ExitCode.NOT_LANDED), tested)
    return LandResult(
        landed=True,
        sha=tested_sha,
        how=LandHow.FAST_FORWARD,
        tested_target=pushed.target_before,
        current_target=current,
        target_head=tested_sha,
    )


def _pushed_basis(
    session: Session, pushed: Published, pipeline: Pipeline, verdict: Verdict
) -> Basis:
    """What the branch pipeline tested, and where the target is now (read only on an open
    gate: a closed one lands nothing whatever the target)."""
    target, sha = pushed.target, pushed.push.sha
    current = session.forge.branch_head(target) if verdict.outcome is Outcome.OPEN else None
    contained = current is not None and git.is_ancestor(session.repo, current, sha)
    mismatch = _branch_mismatch(pipeline, pushed)
    return Basis(PipelineKind.BRANCH, pipeline.id, sha, pushed.target_before, current,
                 contained, mismatch)  # fmt: skip


def _branch_mismatch(pipeline: Pipeline, pushed: Published) -> str | None:
    branch, sha = pushed.push.branch, pushed.push.sha
    if pipeline.kind is PipelineKind.BRANCH and pipeline.ref == branch and pipeline.sha == sha:
        return None
    return f"pipeline #{pipeline.id} is not the branch pipeline of {branch} at {sha[:12]}"
