"""run/land_decision.py: the pure decision of what may land, and the outcome's JSON."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from send_mergereq.config import LandMode
from send_mergereq.errors import ExitCode
from send_mergereq.gate import Outcome
from send_mergereq.models import PipelineKind
from send_mergereq.run.document import landing_document
from send_mergereq.run.land_decision import (
    Basis,
    LandDecision,
    LandHow,
    LandResult,
    decide,
    refused,
)

A, B, C, HEAD = "a" * 40, "b" * 40, "c" * 40, "d" * 40
MR, PUSH = LandMode.MR, LandMode.PUSH


def merged(tested_target: str | None, current: str | None, **kw: object) -> Basis:
    return Basis(PipelineKind.MERGED_RESULT, 9, HEAD, tested_target, current,
                  current == tested_target, **kw)  # type: ignore[arg-type]  # fmt: skip


def plain(kind: PipelineKind, current: str | None, contained: bool) -> Basis:
    return Basis(kind, 9, HEAD, None, current, contained)


# -- decide -------------------------------------------------------------------------------


def test_open_and_fresh_merged_result_lands() -> None:
    assert decide(Outcome.OPEN, merged(A, A), target="master", mode=MR) == LandDecision(True, None)


def test_target_moved_since_the_merge_commit_was_built_is_stale() -> None:
    tested = merged(A, B)
    decision = decide(Outcome.OPEN, tested, target="master", mode=MR)
    assert tested.stale and not decision.land
    assert decision.exit_code is ExitCode.NOT_LANDED
    assert decision.reason == (
        f"stale: pipeline #9 tested master at {A[:12]}, master has moved to {B[:12]} since"
    )


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        (Outcome.CLOSED, ExitCode.GATE_CLOSED),
        (Outcome.BLOCKED, ExitCode.BLOCKED),
        (Outcome.TIMED_OUT, ExitCode.TIMED_OUT),
        (Outcome.PENDING, ExitCode.TIMED_OUT),
    ],
)
def test_nothing_lands_without_an_open_gate_and_the_gates_code_stays(
    outcome: Outcome, code: ExitCode
) -> None:
    decision = decide(outcome, merged(A, A), target="master", mode=MR)
    assert not decision.land and decision.exit_code is code
    assert decision.reason == f"the gate is {outcome.value.replace('_', ' ')}"


def test_a_pipeline_that_tested_another_head_never_lands() -> None:
    tested = merged(A, A, mismatch="pipeline #9 tested X, not Y")
    decision = decide(Outcome.OPEN, tested, target="master", mode=MR)
    assert (decision.land, decision.reason) == (False, "pipeline #9 tested X, not Y")


def test_missing_target_branch_never_lands() -> None:
    decision = decide(Outcome.OPEN, merged(A, None), target="master", mode=MR)
    assert decision.reason == "target branch master does not exist"


@pytest.mark.parametrize("kind", [PipelineKind.DETACHED, PipelineKind.BRANCH])
def test_detached_or_branch_result_lands_only_while_the_target_is_contained(
    kind: PipelineKind,
) -> None:
    assert decide(Outcome.OPEN, plain(kind, A, True), target="master", mode=MR).land
    decision = decide(Outcome.OPEN, plain(kind, B, False), target="master", mode=MR)
    assert not decision.land and plain(kind, B, False).stale
    assert decision.reason == (
        f"stale: master has moved to {B[:12]}, which the tested {HEAD[:12]} does not contain"
    )


def test_push_mode_refuses_a_non_fast_forward() -> None:
    tested = plain(PipelineKind.BRANCH, C, False)
    decision = decide(Outcome.OPEN, tested, target="master", mode=PUSH)
    assert not decision.land and decision.exit_code is ExitCode.NOT_LANDED
    assert decision.reason == (
        f"not a fast-forward: master ({C[:12]}) is not an ancestor of the tested {HEAD[:12]}"
    )
    assert decide(Outcome.OPEN, plain(PipelineKind.BRANCH, C, True), target="m", mode=PUSH).land


shas = st.sampled_from([A, B, C, None])


@given(st.sampled_from(list(Outcome)), shas, shas, st.sampled_from([MR, PUSH]), st.booleans())
def test_never_lands_unless_open_fresh_and_contained(
    outcome: Outcome, was: str | None, now: str | None, mode: LandMode, contained: bool
) -> None:
    kind = PipelineKind.MERGED_RESULT if mode is MR else PipelineKind.BRANCH
    tested = Basis(kind, 1, HEAD, was, now, contained)
    decision = decide(outcome, tested, target="master", mode=mode)
    fresh = (was == now) if mode is MR else contained
    assert decision.land == (outcome is Outcome.OPEN and now is not None and fresh)
    assert decision.land == (decision.exit_code is ExitCode.OK)


# -- result ---------------------------------------------------------------------------------


def test_landed_result_json_line_and_exit_code() -> None:
    result = LandResult(
        landed=True, sha=C, how=LandHow.MERGE_REQUEST, tested_target=A, current_target=A,
        target_head=C, merge_commit_sha=C,
    )  # fmt: skip
    assert result.exit_code is ExitCode.OK
    assert landing_document(result) == {
        "landed": {"sha": C, "how": "merge_request", "target_head": C, "merge_commit_sha": C},
        "landed_reason": None,
        "stale": False,
        "tested_target_sha": A,
        "current_target_sha": A,
        "refreshes": 0,
    }
    assert result.line("master") == f"landed {C[:12]} (merged the MR); master is now at {C[:12]}"


def test_refused_result_carries_staleness_and_the_reason() -> None:
    tested = merged(A, B)
    result = refused(decide(Outcome.OPEN, tested, target="master", mode=MR), tested)
    assert result.exit_code is ExitCode.NOT_LANDED
    document = landing_document(result)
    assert document["landed"] is None and document["stale"] is True
    assert (document["tested_target_sha"], document["current_target_sha"]) == (A, B)
    assert str(document["landed_reason"]).startswith("stale: pipeline #9 tested master")
    assert result.line("master").startswith("nothing landed: stale:")


def test_a_closed_gate_is_not_stale_and_keeps_exit_1() -> None:
    result = refused(decide(Outcome.CLOSED, merged(A, None), target="master", mode=MR))
    assert (result.exit_code, result.stale) == (ExitCode.GATE_CLOSED, False)
