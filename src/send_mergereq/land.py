"""Step 7 of a run: land exactly what passed (``--land``), or say why nothing landed.

Two modes (``landing.LandMode``):

- **MR mode**: after ``submit`` and the watch, ``land_merge_request`` checks the
  result is not stale and merges the MR with GitLab's ``sha`` guard set to the
  tested head. ``land_with_refresh`` adds ``--refresh``: a stale result starts a new
  MR pipeline (``POST …/merge_requests/IID/pipelines``), watched again through the
  caller's ``rewatch``, up to ``refresh_limit`` times.
- **Push-only mode**: ``land_push.py``.

Nothing here prints: progress goes to ``notify``; the outcome is a ``LandResult``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from send_mergereq.errors import ExitCode
from send_mergereq.gate import Outcome
from send_mergereq.landing import (
    Basis,
    LandDecision,
    LandHow,
    LandMode,
    LandResult,
    decide,
    land_mode,
    refused,
)
from send_mergereq.models import Pipeline, PipelineKind

if TYPE_CHECKING:
    from send_mergereq.config import Settings
    from send_mergereq.forge import Forge
    from send_mergereq.gate import Verdict
    from send_mergereq.submit import SubmitResult
    from send_mergereq.watch import WatchResult

Notify = Callable[[str], None]
Rewatch = Callable[[Pipeline], "WatchResult"]


def _quiet(_message: str) -> None:
    return None


# -- mode -------------------------------------------------------------------------------


def mode_for(settings: Settings, no_mr: bool | None) -> LandMode:
    """The mode: ``--mr/--no-mr``, else git config ``sendmergereq.mode``, else the policy
    file's ``mode`` (read from the target, like the rest of the policy), else MR."""
    from send_mergereq.config import read_policy_file

    policy, _ = read_policy_file(settings.repo, settings.target)
    value = policy.get("mode")
    return land_mode(no_mr, settings.git_config, str(value) if value else None)


# -- what was tested ----------------------------------------------------------------------


def inspect(forge: Forge, pipeline: Pipeline, source_sha: str, target: str) -> Basis:
    """What ``pipeline`` tested (for merged results: on which target head) and where the
    target is now. Also the staleness check for a plain ``--wait`` on an open gate."""
    from send_mergereq.forge_land import branch_head, commit_parents, contains

    current = branch_head(forge, target)
    if pipeline.kind is PipelineKind.MERGED_RESULT:
        parents = commit_parents(forge, pipeline.sha)
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
    inside = current is not None and contains(forge, source_sha, current)
    return Basis(pipeline.kind, pipeline.id, source_sha, None, current, inside, mismatch)


def check_stale(forge: Forge, submitted: SubmitResult, watched: WatchResult) -> Basis | None:
    """For a plain ``--wait``: the staleness of an open verdict (None when not open).
    ``stale_line(basis, target)`` is the words for the verdict line; ``basis.as_json()``
    the ``stale``, ``tested_target_sha`` and ``current_target_sha`` fields."""
    if watched.verdict.outcome is not Outcome.OPEN:
        return None
    pipeline = watched.pipeline or submitted.pipeline
    return inspect(forge, pipeline, submitted.push.sha, submitted.merge_request.target_branch)


# -- MR mode ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MrLanding:
    """The merge request to land and the head its pipeline must have tested."""

    iid: int
    source_sha: str  # the pushed head: GitLab's sha guard
    target: str

    @classmethod
    def of(cls, submitted: SubmitResult) -> MrLanding:
        mr = submitted.merge_request
        return cls(mr.iid, submitted.push.sha, mr.target_branch)


def land_merge_request(
    forge: Forge,
    landing: MrLanding,
    pipeline: Pipeline,
    verdict: Verdict,
    *,
    notify: Notify = _quiet,
) -> LandResult:
    """Merge the MR if ``verdict`` is open and ``pipeline``'s result is not stale."""
    from send_mergereq.forge_land import merge_mr

    if verdict.outcome is not Outcome.OPEN:
        untested = _untested(landing)
        return refused(decide(verdict.outcome, untested, target=landing.target, mode=LandMode.MR))
    tested = inspect(forge, pipeline, landing.source_sha, landing.target)
    decision = decide(verdict.outcome, tested, target=landing.target, mode=LandMode.MR)
    if not decision.land:
        return refused(decision, tested)
    notify(f"merging !{landing.iid} (only if its head is still {landing.source_sha[:12]})")
    attempt = merge_mr(forge, landing.iid, landing.source_sha)
    if not attempt.merged:
        return refused(LandDecision(False, attempt.reason, ExitCode.NOT_LANDED), tested)
    return _merged(forge, landing, tested, attempt.merge_commit_sha, attempt.squash_commit_sha)


def _merged(
    forge: Forge, landing: MrLanding, tested: Basis, merge_sha: str | None, squash: str | None
) -> LandResult:
    from send_mergereq.forge_land import branch_head

    head = branch_head(forge, landing.target)
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
    from send_mergereq.forge_land import commit_parents

    if tested.kind is not PipelineKind.MERGED_RESULT or not merge_sha:
        return ()
    parents = commit_parents(forge, merge_sha)
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
    submitted: SubmitResult,
    watched: WatchResult,
    *,
    rewatch: Rewatch,
    refresh: bool = False,
    refresh_limit: int = 1,
    notify: Notify = _quiet,
) -> tuple[LandResult, WatchResult]:
    """``--land`` in MR mode, with ``--refresh``: land, or on a stale result start a new
    MR pipeline, watch it with ``rewatch`` (the CLI's watch, same display and options)
    and try again, at most ``refresh_limit`` times. Returns the last watch too."""
    landing = MrLanding.of(submitted)
    pipeline = watched.pipeline or submitted.pipeline
    refreshes = 0
    while True:
        result = land_merge_request(forge, landing, pipeline, watched.verdict, notify=notify)
        if result.landed or not result.stale or not refresh or refreshes >= refresh_limit:
            return replace(result, refreshes=refreshes), watched
        refreshes += 1
        pipeline = forge.create_mr_pipeline(landing.iid)
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
