"""``--land`` on a project with merge trains (GitLab Premium): join the train, never jump it.

Merging directly (``PUT …/merge``) on such a project skips the train: every car's pipeline
restarts. Instead the MR is added to the train with the tested head as its guard
(``POST /projects/:id/merge_trains/merge_requests/:iid``, sha), its train pipeline
(``refs/merge-requests/IID/train``: the MR merged onto the target and the cars ahead) is
watched like any gate, and the result is read back: merged (exit 0, the target's new head)
or dropped from the train (exit 7, the train pipeline's failed jobs named).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from send_mergereq.errors import ExitCode, ForgeError
from send_mergereq.gate import Outcome
from send_mergereq.run.clock import Clock, Notify, quiet
from send_mergereq.run.land_decision import LandDecision, LandHow, LandResult, refused

if TYPE_CHECKING:
    from send_mergereq.gitlab.forge import Forge
    from send_mergereq.models import Pipeline
    from send_mergereq.watch.types import WatchResult

CAR_TIMEOUT = 120.0  # seconds for the car's train pipeline to appear, then for the merge
CAR_GRACE = 10.0  # seconds a car just added may not be listed yet (a 202: admitted later)


def land_on_train(
    forge: Forge,
    iid: int,
    sha: str,
    target: str,
    watched: WatchResult,
    *,
    rewatch: Callable[[Pipeline], WatchResult],
    notify: Notify = quiet,
    clock: Clock | None = None,
) -> tuple[LandResult, WatchResult]:
    """Add the MR to the train (its gate is open), follow its train pipeline, and say
    whether the train merged it."""
    from send_mergereq.gitlab.forge import MergeRefused

    clock = clock or Clock()
    if watched.verdict.outcome is not Outcome.OPEN:
        why = f"the gate is {watched.verdict.label}: nothing joins the merge train"
        return refused(LandDecision(False, why, watched.verdict.exit_code)), watched
    notify(f"adding !{iid} to the merge train of {target} (only if its head is still {sha[:12]})")
    try:
        car = forge.add_to_merge_train(iid, sha)
    except MergeRefused as exc:
        return refused(LandDecision(False, exc.reason, ExitCode.NOT_LANDED)), watched

    pipeline = forge.train_pipeline(car) if car else None
    if pipeline is None:
        pipeline = _wait_for_train_pipeline(forge, iid, clock, notify)
    if pipeline is None:
        return _dropped(forge, iid, "it left the train before its pipeline was seen"), watched
    notify(f"!{iid} is on the merge train: watching its train pipeline #{pipeline.id}")
    on_train = rewatch(pipeline)
    if on_train.verdict.outcome is not Outcome.OPEN:
        failed = ", ".join(j.qualified_name for j in on_train.verdict.failed_gating)
        why = f"train pipeline #{pipeline.id} {on_train.verdict.label}"
        why += f" ({failed} failed)" if failed else ""
        code = ExitCode.NOT_LANDED if on_train.verdict.final else on_train.exit_code
        return _dropped(forge, iid, why, code), on_train
    return _merged(forge, iid, target, clock, notify), on_train


def _wait_for_train_pipeline(
    forge: Forge, iid: int, clock: Clock, notify: Notify
) -> Pipeline | None:
    """The car's train pipeline once GitLab has made it; None when the car is gone
    (GitLab's 404: dropped) or none came within ``CAR_TIMEOUT``."""
    start, delay, said = clock.now(), 1.0, False
    while clock.now() - start < CAR_TIMEOUT:
        car = forge.merge_train_car(iid)
        if car is not None and car.pipeline is not None:
            return forge.train_pipeline(car)
        if car is None and clock.now() - start >= CAR_GRACE:
            return None  # gone: dropped (GitLab's 404), or never admitted
        if not said:
            notify(f"waiting for the train pipeline of !{iid} …")
            said = True
        clock.sleep(delay)
        delay = min(delay * 1.5, 5.0)
    return None


def _merged(forge: Forge, iid: int, target: str, clock: Clock, notify: Notify) -> LandResult:
    """Wait for the train to merge the MR (GitLab does it right after the pipeline)."""
    start, delay, said = clock.now(), 1.0, False
    while True:
        mr, _ = forge.merge_request(iid)
        if mr.state == "merged":
            break
        if mr.state != "opened" or clock.now() - start >= CAR_TIMEOUT:
            raise ForgeError(
                f"the train pipeline of !{iid} passed but GitLab has not merged it "
                f"(it is {mr.state} after {clock.now() - start:.0f}s)",
                hint="look at the merge train on GitLab; run `send-mergereq status` later",
            )
        if not said:
            notify(f"waiting for the merge train to merge !{iid} …")
            said = True
        clock.sleep(delay)
        delay = min(delay * 1.5, 5.0)
    head = forge.branch_head(target)
    landed = mr.merge_commit_sha or head or mr.sha
    return LandResult(
        landed=True, sha=landed, how=LandHow.MERGE_TRAIN, target_head=head,
        merge_commit_sha=mr.merge_commit_sha,
    )  # fmt: skip


def _dropped(forge: Forge, iid: int, why: str, code: ExitCode = ExitCode.NOT_LANDED) -> LandResult:
    mr, _ = forge.merge_request(iid)
    if mr.state == "merged":  # merged anyway (a lost answer, a race): it landed
        sha = mr.merge_commit_sha or mr.sha
        return LandResult(True, sha=sha, how=LandHow.MERGE_TRAIN, merge_commit_sha=sha)
    reason = f"!{iid} was dropped from the merge train: {why}"
    return refused(LandDecision(False, reason, code))
