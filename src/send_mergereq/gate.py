"""The gate verdict: a pipeline's jobs in, a verdict out. Pure, no I/O.

Rules (docs/PRODUCT.md, "The gate verdict"), in the order they are applied:

1. Only the latest attempt of each job counts (bridges included).
2. **Closed** as soon as a job that may not fail has failed (fail fast), also when
   the failure is inside the child pipeline of a bridge that may not fail and has
   not finished yet (with ``strategy: depend`` its status will follow the child).
3. **Blocked** when a manual job that may not fail waits and nothing runs,
   pends or waits for a resource or callback (GitLab then shows ``manual``); also
   when it waits in the child pipeline of a depend bridge that may not fail: GitLab
   keeps such a bridge ``running`` while its child waits (Ci::Bridge), so the bridge
   counts as busy only while its child is.
4. **Pending** while any job is still on its way (created, preparing, pending,
   running, scheduled, waiting, canceling).
5. Once everything is done: **closed** if a job that may not fail failed or was
   canceled, or if nothing succeeded (all skipped); else the jobs say success,
   and the gate is **open** only when GitLab's own pipeline status says
   ``success`` too (until it does, the verdict stays pending).

These agree with GitLab's composite status rules (``Gitlab::Ci::Status::Composite``)
once the pipeline is finished; tests/test_gate.py checks it over random job sets.
One deliberate difference: a failed job that may not fail next to a blocking
manual job is ``closed`` here, where GitLab shows the pipeline as ``manual``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from send_mergereq.errors import ExitCode
from send_mergereq.models import FINISHED, Job, Pipeline, latest_attempts

# Statuses that keep GitLab from calling the pipeline blocked on a manual job.
BUSY = frozenset({"running", "pending", "waiting_for_resource", "waiting_for_callback"})
# Every status of a job that is still on its way to a result.
ON_THE_WAY = BUSY | {"created", "preparing", "scheduled", "canceling"}

JobKey = tuple[int, str]  # (pipeline id, job name): one job across its attempts


class Outcome(StrEnum):
    """What the gate says. New outcomes (``stale``) join here and in ``EXIT_CODES``."""

    OPEN = "open"
    CLOSED = "closed"
    BLOCKED = "blocked"
    TIMED_OUT = "timed_out"
    PENDING = "pending"


EXIT_CODES: dict[Outcome, ExitCode] = {
    Outcome.OPEN: ExitCode.OK,
    Outcome.CLOSED: ExitCode.GATE_CLOSED,
    Outcome.BLOCKED: ExitCode.BLOCKED,
    Outcome.TIMED_OUT: ExitCode.TIMED_OUT,
    Outcome.PENDING: ExitCode.TIMED_OUT,  # no verdict yet: never exit 0 on it
}


@dataclass(frozen=True)
class Verdict:
    """The gate's answer for one snapshot of a pipeline, with the jobs that decided it."""

    outcome: Outcome
    reason: str
    failed_gating: tuple[Job, ...] = ()  # failed jobs that may not fail (bridges' children too)
    failed_optional: tuple[Job, ...] = ()  # failed or canceled jobs that may fail: the warnings
    blocking_manual: tuple[Job, ...] = ()
    retries: Mapping[JobKey, int] = field(default_factory=dict)  # retried by us, how often

    @property
    def exit_code(self) -> ExitCode:
        return EXIT_CODES[self.outcome]

    @property
    def final(self) -> bool:
        return self.outcome is not Outcome.PENDING

    @property
    def with_warnings(self) -> bool:
        return self.outcome is Outcome.OPEN and bool(self.failed_optional)

    @property
    def label(self) -> str:
        """Short human words: "open", "passed with warnings", "closed", "blocked"…"""
        if self.with_warnings:
            return "open (passed with warnings)"
        return self.outcome.value.replace("_", " ")

    def retry_count(self, job: Job) -> int:
        return self.retries.get(job_key(job), 0)

    def timed_out(self, after: str) -> Verdict:
        """This (pending) verdict turned into a timeout after ``after`` (e.g. "1h00m")."""
        return replace(self, outcome=Outcome.TIMED_OUT, reason=f"no verdict after {after}")


def job_key(job: Job) -> JobKey:
    return (job.pipeline_id, job.name)


def evaluate(pipeline: Pipeline, *, fail_fast: bool = True) -> Verdict:
    """The verdict on ``pipeline`` (its ``jobs`` include bridges, ``children`` the downstreams)."""
    jobs = latest_attempts(pipeline.jobs)
    failed = _gating_failures(pipeline, jobs)
    optional = tuple(j for j in jobs if j.allow_failure and j.status in ("failed", "canceled"))
    manual, busy = _waiting(pipeline, jobs)
    base = Verdict(Outcome.PENDING, "", failed, optional, manual)
    moving = any(j.status in ON_THE_WAY for j in jobs)
    if failed and (fail_fast or not moving or (manual and not busy)):
        return replace(base, outcome=Outcome.CLOSED, reason=_failed_reason(failed))
    if manual and not busy:
        names = ", ".join(j.qualified_name for j in manual)
        return replace(base, outcome=Outcome.BLOCKED, reason=f"waiting on manual job {names}")
    if moving:
        return replace(base, reason=f"pipeline {pipeline.status}")
    return _finished(pipeline, jobs, base)


def _finished(pipeline: Pipeline, jobs: list[Job], base: Verdict) -> Verdict:
    """The verdict once no job of ``pipeline`` moves any more and none failed gating."""
    canceled = [j for j in jobs if j.status == "canceled" and not j.allow_failure]
    if canceled:
        names = ", ".join(j.qualified_name for j in canceled)
        return replace(base, outcome=Outcome.CLOSED, reason=f"{names} canceled")
    passed = any(j.status == "success" for j in jobs) or bool(base.failed_optional)
    if not passed:
        if jobs or pipeline.status in FINISHED:
            return replace(base, outcome=Outcome.CLOSED, reason="nothing ran: every job skipped")
        return replace(base, reason=f"pipeline {pipeline.status}, no jobs yet")
    if pipeline.status != "success":
        return replace(base, reason=f"jobs done, GitLab still says {pipeline.status}")
    if base.failed_optional:
        names = ", ".join(j.qualified_name for j in base.failed_optional)
        return replace(base, outcome=Outcome.OPEN, reason=f"passed with warnings: {names} failed")
    return replace(base, outcome=Outcome.OPEN, reason="pipeline passed")


def _gating_failures(pipeline: Pipeline, jobs: list[Job]) -> tuple[Job, ...]:
    """Failed jobs that may not fail, with those of children whose bridge still gates."""
    children = {child.id: child for child in pipeline.children}
    found: list[Job] = []
    for job in jobs:
        if job.allow_failure:
            continue
        if job.status == "failed":
            found.append(job)
        child = children.get(job.downstream_pipeline_id or -1)
        if child is not None and job.is_bridge and job.status not in ("success", "skipped"):
            found.extend(_gating_failures(child, latest_attempts(child.jobs)))
    return tuple(found)


def _waiting(pipeline: Pipeline, jobs: list[Job]) -> tuple[tuple[Job, ...], bool]:
    """The manual jobs that may not fail waiting in ``pipeline`` and in the children of
    its running bridges that may not fail, and whether anything is busy (a running bridge
    is busy only while its child is, or before it has one)."""
    children = {child.id: child for child in pipeline.children}
    manual = [j for j in jobs if j.status == "manual" and not j.allow_failure]
    busy = False
    for job in jobs:
        child = children.get(job.downstream_pipeline_id or -1)
        if not (job.is_bridge and job.status in BUSY and child is not None):
            busy = busy or job.status in BUSY
            continue
        inner, inner_busy = _waiting(child, latest_attempts(child.jobs))
        busy = busy or inner_busy
        if not job.allow_failure:
            manual.extend(inner)
    return tuple(manual), busy


def _failed_reason(failed: tuple[Job, ...]) -> str:
    real = [j for j in failed if not j.is_bridge] or list(failed)
    return ", ".join(j.qualified_name for j in real) + " failed"


def to_retry(verdict: Verdict, limit: int) -> list[Job]:
    """The failed gating jobs (not bridges) that ``--retry-failed limit`` still allows retrying."""
    if verdict.outcome is not Outcome.CLOSED:
        return []
    failed = [  # another project's job (multi-project child) is left to its project
        j
        for j in verdict.failed_gating
        if not j.is_bridge and j.status == "failed" and j.project_id is None
    ]
    if not failed or any(verdict.retry_count(j) >= limit for j in failed):
        return []
    return failed


def status_counts(jobs: Iterable[Job]) -> dict[str, int]:
    """How many jobs are in each status, most common first."""
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job.status] = counts.get(job.status, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
