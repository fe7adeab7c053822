"""Landing, decided: what may land after the gate opened, and what the outcome says. Pure.

The rule is "what lands is exactly what passed":

- A **merged results** pipeline tests a merge commit whose first parent is the target
  head it was built on. Once the target has moved past that head the result is
  **stale**: it says nothing about merging now, and it never lands.
- A **detached** or **branch** pipeline tests the source head alone. Merging it into
  the target lands exactly that content only while the target is an ancestor of the
  tested head (the merge adds nothing untested); otherwise the result is stale too.
- **Push-only** mode fast-forwards the target to the tested commit itself, and only
  when that is a fast-forward.

``decide`` makes that call from plain data; ``run/land.py`` gathers the data and acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from send_mergereq.config import LandMode
from send_mergereq.errors import ExitCode
from send_mergereq.gate import EXIT_CODES, Outcome
from send_mergereq.models import PipelineKind


class LandHow(StrEnum):
    MERGE_REQUEST = "merge_request"  # GitLab merged the MR (sha-guarded)
    FAST_FORWARD = "fast_forward"  # we pushed the tested commit to the target, with a lease
    MERGE_TRAIN = "merge_train"  # GitLab's merge train merged the MR after its train pipeline


@dataclass(frozen=True)
class Basis:
    """What the watched pipeline tested, and where the target is now."""

    kind: PipelineKind
    pipeline_id: int
    source_sha: str  # the head that was pushed and tested (the sha guard)
    tested_target: str | None  # merged results: the merge commit's first parent
    current_target: str | None  # the target branch head now (None: no such branch)
    target_contained: bool  # current target is an ancestor of the tested head (or equal)
    mismatch: str | None = None  # the pipeline did not test ``source_sha`` (why)

    @property
    def stale(self) -> bool:
        if self.kind is PipelineKind.MERGED_RESULT:
            return self.tested_target != self.current_target
        return not self.target_contained


@dataclass(frozen=True)
class LandDecision:
    land: bool
    reason: str | None  # why not (None when it lands)
    exit_code: ExitCode = ExitCode.OK


def decide(outcome: Outcome, tested: Basis, *, target: str, mode: LandMode) -> LandDecision:
    """Whether the gate's result may land now; the reason and exit code when it may not."""
    if outcome is not Outcome.OPEN:
        said = outcome.value.replace("_", " ")
        return LandDecision(False, f"the gate is {said}", EXIT_CODES[outcome])
    blocker = _blocker(tested, target, mode)
    if blocker is not None:
        return LandDecision(False, blocker, ExitCode.NOT_LANDED)
    return LandDecision(True, None)


def _blocker(tested: Basis, target: str, mode: LandMode) -> str | None:
    """Why an open gate's result may not land (None: it may)."""
    if tested.mismatch:
        return tested.mismatch
    if tested.current_target is None:
        return f"target branch {target} does not exist"
    if mode is LandMode.PUSH:
        if tested.target_contained:
            return None
        return (
            f"not a fast-forward: {target} ({tested.current_target[:12]}) is not an "
            f"ancestor of the tested {tested.source_sha[:12]}"
        )
    return stale_line(tested, target) if tested.stale else None


def stale_line(tested: Basis, target: str) -> str:
    """One line saying why a result is stale (for the verdict line and the reason)."""
    now = (tested.current_target or "")[:12]
    if tested.kind is PipelineKind.MERGED_RESULT:
        was = (tested.tested_target or "")[:12]
        return (
            f"stale: pipeline #{tested.pipeline_id} tested {target} at {was}, "
            f"{target} has moved to {now} since"
        )
    return (
        f"stale: {target} has moved to {now}, which the tested "
        f"{tested.source_sha[:12]} does not contain"
    )


@dataclass(frozen=True)
class LandResult:
    """What ``--land`` did. ``landed`` False: nothing changed on the target branch."""

    landed: bool
    sha: str | None = None  # the commit that landed (merge commit, squash or ff head)
    how: LandHow | None = None
    reason: str | None = None  # why nothing landed
    stale: bool = False
    tested_target: str | None = None
    current_target: str | None = None
    target_head: str | None = None  # the target branch head after landing
    merge_commit_sha: str | None = None
    refreshes: int = 0  # new MR pipelines started by --refresh
    notes: tuple[str, ...] = ()
    not_landed_code: ExitCode = ExitCode.NOT_LANDED

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.landed else self.not_landed_code

    def line(self, target: str) -> str:
        """The one line to show at the end."""
        if self.landed and self.sha:
            how = {
                LandHow.MERGE_REQUEST: "merged the MR",
                LandHow.MERGE_TRAIN: "merged by the merge train",
            }.get(self.how or LandHow.FAST_FORWARD, "fast-forward")
            head = self.target_head or self.sha
            return f"landed {self.sha[:12]} ({how}); {target} is now at {head[:12]}"
        return f"nothing landed: {self.reason or 'no reason given'}"


def refused(
    decision: LandDecision, tested: Basis | None = None, *, refreshes: int = 0
) -> LandResult:
    """The LandResult of a decision not to land."""
    return LandResult(
        landed=False,
        reason=decision.reason,
        stale=bool(tested and tested.stale and tested.current_target is not None),
        tested_target=tested.tested_target if tested else None,
        current_target=tested.current_target if tested else None,
        refreshes=refreshes,
        not_landed_code=decision.exit_code or ExitCode.NOT_LANDED,
    )
