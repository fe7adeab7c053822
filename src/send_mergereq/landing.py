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

``decide`` makes that call from plain data; ``land.py`` gathers the data and acts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from send_mergereq.errors import ConfigError, ExitCode
from send_mergereq.gate import EXIT_CODES, Outcome
from send_mergereq.models import PipelineKind

MODE_KEY = "sendmergereq.mode"


class LandHow(StrEnum):
    MERGE_REQUEST = "merge_request"  # GitLab merged the MR (sha-guarded)
    FAST_FORWARD = "fast_forward"  # we pushed the tested commit to the target, with a lease


class LandMode(StrEnum):
    MR = "mr"  # gate on a merge request pipeline, land by merging the MR
    PUSH = "push"  # gate on the branch pipeline of the pushed commit, land by fast-forward


_MODE_WORDS = {"mr": LandMode.MR, "merge-request": LandMode.MR, "push": LandMode.PUSH}


def parse_mode(value: str, where: str) -> LandMode:
    """``mr`` or ``push`` (``merge-request`` too), or a ConfigError naming ``where``."""
    mode = _MODE_WORDS.get(value.strip().lower())
    if mode is None:
        raise ConfigError(f"{where}: unknown mode {value!r}", hint="use mode = mr or mode = push")
    return mode


def land_mode(
    no_mr: bool | None, git_config: Mapping[str, tuple[str, ...]], policy_mode: str | None
) -> LandMode:
    """``--mr/--no-mr`` over git config ``sendmergereq.mode`` over the policy file's ``mode``."""
    if no_mr is not None:
        return LandMode.PUSH if no_mr else LandMode.MR
    values = git_config.get(MODE_KEY, ())
    if values:
        return parse_mode(values[-1], f"git config {MODE_KEY}")
    if policy_mode:
        return parse_mode(policy_mode, ".send-mergereq.toml: mode")
    return LandMode.MR


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

    def as_json(self) -> dict[str, Any]:
        """The staleness fields of ``--json`` (also without ``--land``)."""
        return {
            "stale": self.stale,
            "tested_target_sha": self.tested_target,
            "current_target_sha": self.current_target,
        }


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
            how = "merged the MR" if self.how is LandHow.MERGE_REQUEST else "fast-forward"
            head = self.target_head or self.sha
            return f"landed {self.sha[:12]} ({how}); {target} is now at {head[:12]}"
        return f"nothing landed: {self.reason or 'no reason given'}"

    def as_json(self) -> dict[str, Any]:
        landed: dict[str, Any] | None = None
        if self.landed:
            landed = {
                "sha": self.sha,
                "how": str(self.how) if self.how else None,
                "target_head": self.target_head,
                "merge_commit_sha": self.merge_commit_sha,
            }
        return {
            "landed": landed,
            "landed_reason": None if self.landed else self.reason,
            "stale": self.stale,
            "tested_target_sha": self.tested_target,
            "current_target_sha": self.current_target,
            "refreshes": self.refreshes,
        }


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


# GitLab's detailed_merge_status values, in words (GitLab's own reasons for a 405).
MERGE_STATUS_WORDS = {
    "approvals_syncing": "approvals are still syncing",
    "blocked_status": "it is blocked by another merge request",
    "broken_status": "the source branch is broken (no commits, or a branch is missing)",
    "checking": "GitLab is still checking whether it can be merged",
    "unchecked": "GitLab has not checked yet whether it can be merged",
    "ci_must_pass": "the pipeline must succeed first (GitLab's head pipeline has not)",
    "ci_still_running": "GitLab's head pipeline is still running",
    "commits_status": "the source branch has no commits or is missing",
    "conflict": "the source branch conflicts with the target",
    "discussions_not_resolved": "discussions are not resolved",
    "draft_status": "it is a draft",
    "external_status_checks": "external status checks have not passed",
    "jira_association_missing": "the title or description must reference a Jira issue",
    "merge_request_blocked": "it is blocked by another merge request",
    "merge_time": "it may not be merged before its scheduled merge time",
    "need_rebase": "it must be rebased onto the target (fast-forward or semi-linear merges)",
    "not_approved": "approvals are missing",
    "not_open": "it is not open",
    "requested_changes": "a reviewer requested changes",
    "security_policy_violations": "security policies are not satisfied",
    "title_regex": "the title does not match the project's required pattern",
    "locked_paths": "it changes locked paths",
    "locked_lfs_files": "it changes locked LFS files",
}


def refusal_reason(
    status: int | None,
    message: str,
    *,
    iid: int,
    detailed_status: str | None = None,
    merge_error: str | None = None,
) -> str:
    """GitLab's refusal of ``PUT …/merge`` as one line naming its reason."""
    why = MERGE_STATUS_WORDS.get(detailed_status or "", detailed_status or "")
    if status == 409:
        return (
            f"GitLab refused to merge !{iid} (409): the source branch moved since it was "
            f"tested, the sha guard held ({message})"
        )
    if status in (405, 406) or (status is None and why):
        said = f" ({merge_error})" if merge_error else ""
        because = f": {why}{said}" if why else f": {merge_error or message}"
        return f"GitLab refused to merge !{iid} ({status or 'not merged'}){because}"
    if status == 422:
        extra = f": {merge_error}" if merge_error else ""
        return f"GitLab could not merge !{iid} (422 {message}){extra}"
    if status == 400:
        return f"GitLab refused to merge !{iid} (400): {message}"
    code = f" ({status})" if status else ""
    return f"GitLab did not merge !{iid}{code}: {merge_error or message}"
