"""The verdict model: hand-picked cases, then random job sets against GitLab's own rules."""

from __future__ import annotations

from itertools import count

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from send_mergereq.errors import ExitCode
from send_mergereq.gate import (
    EXIT_CODES,
    Outcome,
    Verdict,
    evaluate,
    status_counts,
    to_retry,
)
from send_mergereq.models import Job, Pipeline, PipelineKind, latest_attempts

_ids = count(1000)

STATUSES = (
    "created",
    "waiting_for_resource",
    "preparing",
    "waiting_for_callback",
    "pending",
    "running",
    "success",
    "failed",
    "canceling",
    "canceled",
    "skipped",
    "manual",
    "scheduled",
)


def job(name: str, status: str, allow_failure: bool = False, **kw: object) -> Job:
    fields: dict[str, object] = {"id": next(_ids), "stage": "test", "pipeline_id": 1}
    fields.update(kw)
    return Job(name=name, status=status, allow_failure=allow_failure, **fields)  # type: ignore[arg-type]


def pipeline(
    status: str, *jobs: Job, children: tuple[Pipeline, ...] = (), pid: int = 1
) -> Pipeline:
    return Pipeline(
        id=pid,
        status=status,
        ref="refs/merge-requests/7/merge",
        sha="a" * 40,
        web_url=f"https://gitlab.example/p/-/pipelines/{pid}",
        kind=PipelineKind.MERGED_RESULT,
        jobs=jobs,
        children=children,
    )


# --- GitLab's rules, transcribed independently from Gitlab::Ci::Status::Composite ---------


def gitlab_status(jobs: list[Job]) -> str | None:
    """The pipeline status GitLab computes from its latest jobs (None: no jobs)."""
    found: set[str] = set()
    for j in jobs:
        if j.allow_failure and j.status in ("failed", "canceled"):
            found.add("success_with_warnings")
        elif j.allow_failure and j.status == "manual":
            found.add("ignored")
        else:
            found.add(j.status)
    if not found:
        return None

    def only(*names: str) -> bool:
        return found <= set(names)

    for names, result in (
        (("skipped", "ignored"), "skipped"),
        (("success", "skipped", "success_with_warnings", "ignored"), "success"),
        (("created", "success_with_warnings", "ignored"), "created"),
        (("preparing", "success_with_warnings", "ignored"), "preparing"),
        (("canceled", "success", "skipped", "success_with_warnings", "ignored"), "canceled"),
        (("pending", "created", "skipped", "success_with_warnings", "ignored"), "pending"),
    ):
        if only(*names):
            return result
    for names, result in (
        (("running", "pending"), "running"),
        (("waiting_for_resource",), "waiting_for_resource"),
        (("waiting_for_callback",), "waiting_for_callback"),
        (("manual",), "manual"),
        (("scheduled",), "scheduled"),
        (("preparing",), "preparing"),
        (("created",), "running"),
        (("canceling",), "canceling"),
    ):
        if found & set(names):
            return result
    return "failed"


job_sets = st.lists(
    st.tuples(st.sampled_from(STATUSES), st.booleans()), min_size=1, max_size=12
).map(lambda specs: [job(f"j{i}", s, a) for i, (s, a) in enumerate(specs)])


@settings(max_examples=3000, deadline=None)
@given(job_sets, st.booleans())
def test_verdict_agrees_with_gitlab_status(jobs: list[Job], fail_fast: bool) -> None:
    status = gitlab_status(jobs)
    assert status is not None
    verdict = evaluate(pipeline(status, *jobs), fail_fast=fail_fast)
    gating_failed = any(j.status == "failed" and not j.allow_failure for j in jobs)
    if status == "success":
        assert verdict.outcome is Outcome.OPEN
        warned = [j for j in jobs if j.allow_failure and j.status in ("failed", "canceled")]
        assert set(verdict.failed_optional) == set(warned)
    elif status in ("failed", "canceled", "skipped"):
        assert verdict.outcome is Outcome.CLOSED
    elif status == "manual":
        expected = Outcome.CLOSED if gating_failed else Outcome.BLOCKED
        assert verdict.outcome is expected
    elif fail_fast and gating_failed:
        assert verdict.outcome is Outcome.CLOSED
    else:
        assert verdict.outcome is Outcome.PENDING


@settings(max_examples=1500, deadline=None)
@given(job_sets, st.sampled_from(STATUSES))
def test_only_gitlab_success_opens(jobs: list[Job], reported: str) -> None:
    """Whatever GitLab reports while lagging behind its jobs, only its ``success`` opens."""
    verdict = evaluate(pipeline(reported, *jobs))
    if verdict.outcome is Outcome.OPEN:
        assert reported == "success"
        assert gitlab_status(jobs) == "success"


@settings(max_examples=500, deadline=None)
@given(job_sets, st.booleans())
def test_a_failed_attempt_that_was_retried_does_not_count(jobs: list[Job], fail_fast: bool) -> None:
    old = [job(j.name, "failed", retried=True, id=j.id - 500) for j in jobs]
    with_old = evaluate(pipeline(gitlab_status(jobs) or "", *old, *jobs), fail_fast=fail_fast)
    assert with_old == evaluate(pipeline(gitlab_status(jobs) or "", *jobs), fail_fast=fail_fast)


# --- hand-picked cases ----------------------------------------------------------------------


def test_all_success_is_open_with_exit_0() -> None:
    verdict = evaluate(pipeline("success", job("a", "success"), job("b", "skipped")))
    assert verdict.outcome is Outcome.OPEN
    assert verdict.exit_code is ExitCode.OK
    assert verdict.reason == "pipeline passed"
    assert not verdict.with_warnings


def test_passed_with_warnings_lists_the_failed_optional_jobs() -> None:
    lint = job("lint", "failed", allow_failure=True)
    verdict = evaluate(pipeline("success", job("build", "success"), lint))
    assert verdict.outcome is Outcome.OPEN
    assert verdict.failed_optional == (lint,)
    assert verdict.reason == "passed with warnings: test/lint failed"
    assert verdict.label == "open (passed with warnings)"


def test_fail_fast_closes_while_other_jobs_still_run() -> None:
    broken = job("unit", "failed")
    verdict = evaluate(pipeline("running", broken, job("slow", "running")))
    assert verdict.outcome is Outcome.CLOSED
    assert verdict.exit_code is ExitCode.GATE_CLOSED
    assert verdict.failed_gating == (broken,)
    assert verdict.reason == "test/unit failed"


def test_no_fail_fast_waits_for_the_rest() -> None:
    jobs = (job("unit", "failed"), job("slow", "running"))
    assert evaluate(pipeline("running", *jobs), fail_fast=False).outcome is Outcome.PENDING
    done = (job("unit", "failed"), job("slow", "success"))
    assert evaluate(pipeline("failed", *done), fail_fast=False).outcome is Outcome.CLOSED


def test_an_optional_failure_never_closes() -> None:
    verdict = evaluate(pipeline("running", job("lint", "failed", True), job("b", "running")))
    assert verdict.outcome is Outcome.PENDING


@pytest.mark.parametrize("status", ["canceled", "skipped"])
def test_canceled_or_skipped_is_not_open(status: str) -> None:
    verdict = evaluate(pipeline(status, job("a", status), job("b", "skipped")))
    assert verdict.outcome is Outcome.CLOSED


def test_blocked_on_a_manual_job_that_may_not_fail() -> None:
    deploy = job("deploy", "manual", stage="deploy")
    verdict = evaluate(pipeline("manual", job("a", "success"), deploy, job("after", "created")))
    assert verdict.outcome is Outcome.BLOCKED
    assert verdict.exit_code is ExitCode.BLOCKED
    assert verdict.blocking_manual == (deploy,)
    assert "deploy/deploy" in verdict.reason


def test_a_manual_job_that_may_fail_never_blocks() -> None:
    jobs = (job("a", "success"), job("optional-deploy", "manual", allow_failure=True))
    assert evaluate(pipeline("success", *jobs)).outcome is Outcome.OPEN


def test_blocked_only_once_nothing_runs() -> None:
    jobs = (job("deploy", "manual"), job("b", "running"))
    assert evaluate(pipeline("running", *jobs)).outcome is Outcome.PENDING


def test_jobs_done_but_gitlab_not_yet_success_stays_pending() -> None:
    verdict = evaluate(pipeline("running", job("a", "success")))
    assert verdict.outcome is Outcome.PENDING
    assert "GitLab still says running" in verdict.reason


def test_no_jobs_yet_is_pending() -> None:
    assert evaluate(pipeline("created")).outcome is Outcome.PENDING


def test_only_the_latest_attempt_counts() -> None:
    first = job("unit", "failed", id=10)
    second = job("unit", "success", id=20)
    assert latest_attempts([first, second]) == [second]
    assert latest_attempts([second, first]) == [second]
    assert evaluate(pipeline("success", first, second)).outcome is Outcome.OPEN


def test_a_retry_by_hand_while_watching_reopens_the_question() -> None:
    old = job("unit", "failed", id=10, retried=True)
    new = job("unit", "pending", id=30)
    assert evaluate(pipeline("running", old, new)).outcome is Outcome.PENDING


def test_gitlabs_retried_flag_wins_over_ids() -> None:
    old = job("unit", "failed", id=50, retried=True)
    new = job("unit", "running", id=40)
    assert latest_attempts([old, new]) == [new]


def _bridge(status: str, child: int, allow_failure: bool = False) -> Job:
    return job("child", status, allow_failure, is_bridge=True, downstream_pipeline_id=child)


def test_a_failed_gating_job_in_a_depending_child_closes_fast() -> None:
    child_job = job("deep", "failed", pipeline_id=2)
    child = pipeline("running", child_job, job("other", "running", pipeline_id=2), pid=2)
    verdict = evaluate(pipeline("running", _bridge("running", 2), children=(child,)))
    assert verdict.outcome is Outcome.CLOSED
    assert verdict.failed_gating == (child_job,)
    assert verdict.reason == "test/deep failed"


def test_a_child_failure_behind_an_optional_or_finished_bridge_does_not_gate() -> None:
    child = pipeline("failed", job("deep", "failed", pipeline_id=2), pid=2)
    optional = evaluate(pipeline("running", _bridge("running", 2, True), children=(child,)))
    assert optional.outcome is Outcome.PENDING
    fire_and_forget = evaluate(pipeline("success", _bridge("success", 2), children=(child,)))
    assert fire_and_forget.outcome is Outcome.OPEN


def test_a_failed_bridge_closes_and_names_the_child_job() -> None:
    bridge = _bridge("failed", 2)
    child_job = job("deep", "failed", pipeline_id=2)
    child = pipeline("failed", child_job, pid=2)
    verdict = evaluate(pipeline("failed", bridge, children=(child,)), fail_fast=False)
    assert verdict.outcome is Outcome.CLOSED
    assert verdict.failed_gating == (bridge, child_job)
    assert verdict.reason == "test/deep failed"


def test_timed_out_keeps_the_jobs_and_exits_4() -> None:
    pending = evaluate(pipeline("running", job("a", "running")))
    late = pending.timed_out("1h00m")
    assert late.outcome is Outcome.TIMED_OUT
    assert late.exit_code is ExitCode.TIMED_OUT
    assert late.reason == "no verdict after 1h00m"


def test_every_outcome_has_an_exit_code_and_pending_is_never_0() -> None:
    assert set(EXIT_CODES) == set(Outcome)
    assert Verdict(Outcome.PENDING, "").exit_code is not ExitCode.OK


def test_to_retry_respects_the_limit() -> None:
    broken = job("unit", "failed")
    closed = evaluate(pipeline("failed", broken))
    assert to_retry(closed, 2) == [broken]
    assert to_retry(closed, 0) == []
    spent = Verdict(closed.outcome, closed.reason, closed.failed_gating, retries={(1, "unit"): 2})
    assert to_retry(spent, 2) == []
    assert to_retry(evaluate(pipeline("running", job("a", "running"))), 2) == []


def test_status_counts_most_common_first() -> None:
    jobs = [job("a", "success"), job("b", "running"), job("c", "success")]
    assert list(status_counts(jobs).items()) == [("success", 2), ("running", 1)]


def test_a_child_waiting_on_a_gating_manual_job_blocks_through_its_running_bridge() -> None:
    """GitLab keeps a depend bridge ``running`` while its child waits on a manual job
    (Ci::Bridge#inherit_status_from_downstream!): the gate looks into the child."""
    manual = job("publish", "manual", pipeline_id=2, when="manual")
    child = pipeline("manual", job("cross", "success", pipeline_id=2), manual, pid=2)
    top = pipeline("running", job("build", "success"), _bridge("running", 2), children=(child,))
    verdict = evaluate(top)
    assert verdict.outcome is Outcome.BLOCKED
    assert verdict.blocking_manual == (manual,)


def test_a_running_child_keeps_its_bridge_busy() -> None:
    manual = job("publish", "manual", pipeline_id=2, when="manual")
    child = pipeline("running", job("cross", "running", pipeline_id=2), manual, pid=2)
    top = pipeline("running", _bridge("running", 2), children=(child,))
    assert evaluate(top).outcome is Outcome.PENDING


def test_a_manual_job_behind_an_optional_bridge_does_not_block() -> None:
    child = pipeline("manual", job("publish", "manual", pipeline_id=2), pid=2)
    top = pipeline("running", _bridge("running", 2, allow_failure=True), children=(child,))
    assert evaluate(top).outcome is Outcome.PENDING
