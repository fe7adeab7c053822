"""Job health from a target's finished pipelines: runs, flaky runs, streaks, durations.

Pure: pipelines in (each with every attempt of every job, ``include_retried``), one
``JobHealth`` per job name out. The counting rules (issue 23, docs/PRODUCT.md):

- a *run* is a pipeline in which the job finished ``success`` or ``failed``; its result
  is its last attempt's (the attempt GitLab did not mark ``retried``, else the newest);
- a *flaky run* passed after a failed attempt in the same pipeline (a retry, by
  ``retry:`` or by hand): successes include flaky runs, failures are runs whose last
  attempt failed;
- canceled, skipped and manual jobs are not runs; a job ever seen ``manual`` is a
  manual job.

Times are Unix seconds (the edge parses GitLab's ISO 8601).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

RESULTS = frozenset({"success", "failed"})
STRIP_RUNS = 40
# The strip's characters, one per run, newest right.
PASSED, RESCUED, FAILED = ".", "r", "X"


@dataclass(frozen=True)
class Attempt:
    """One attempt of one job, as GitLab lists it with ``include_retried=true``."""

    id: int
    name: str
    status: str
    stage: str = ""
    allow_failure: bool = False
    retried: bool = False
    finished_at: float | None = None
    duration: float | None = None


@dataclass(frozen=True)
class PipelineRecord:
    """One finished pipeline of the target and every attempt of its jobs."""

    id: int
    created_at: float
    attempts: tuple[Attempt, ...] = ()
    updated_at: str = ""  # GitLab's own text: the cache's key with the id


@dataclass(frozen=True)
class Run:
    """One job in one pipeline where it finished: its result and when."""

    pipeline_id: int
    at: float  # the last attempt's end, else the pipeline's creation
    passed: bool
    rescued: bool  # passed after a failed attempt of the same pipeline
    duration: float | None
    allow_failure: bool


@dataclass(frozen=True)
class Streak:
    """The job's current streak: ``green`` for ``runs`` runs since ``since`` (its first
    green run after the last failure), ``failing`` since its first failed run of the
    streak, or ``none`` (no runs)."""

    state: str
    runs: int = 0
    since: float | None = None

    def document(self) -> dict[str, object]:
        return {"state": self.state, "runs": self.runs, "since": iso(self.since)}


@dataclass(frozen=True)
class JobHealth:
    name: str
    stage: str
    runs: tuple[Run, ...]  # oldest first
    appeared: tuple[int, ...]  # ids of the pipelines it appears in at all, oldest first
    first_seen: float | None
    allow_failure: bool  # its tier today: the newest attempt's flag
    manual: bool

    @property
    def successes(self) -> int:
        return sum(run.passed for run in self.runs)

    @property
    def failures(self) -> int:
        return sum(not run.passed for run in self.runs)

    @property
    def flaky(self) -> int:
        return sum(run.rescued for run in self.runs)

    @property
    def failure_rate(self) -> float:
        return self.failures / len(self.runs) if self.runs else 0.0

    @property
    def flaky_rate(self) -> float:
        return self.flaky / len(self.runs) if self.runs else 0.0

    @property
    def last_failure(self) -> float | None:
        failed = [run.at for run in self.runs if not run.passed]
        return failed[-1] if failed else None

    @property
    def streak(self) -> Streak:
        return streak(self.runs)

    @property
    def durations(self) -> list[float]:
        return [run.duration for run in self.runs if run.duration is not None]

    @property
    def median_duration(self) -> float | None:
        return percentile(self.durations, 50)

    @property
    def p90_duration(self) -> float | None:
        return percentile(self.durations, 90)

    @property
    def strip(self) -> str:
        return strip(self.runs)


def last_attempt(attempts: Sequence[Attempt]) -> Attempt:
    """The attempt whose result counts: the one not marked ``retried``, else the newest."""
    return max(attempts, key=lambda a: (not a.retried, a.id))


def run_of(pipeline: PipelineRecord, attempts: Sequence[Attempt]) -> Run | None:
    """The job's run in ``pipeline`` (``attempts`` are its attempts there), or None when
    it did not finish ``success``/``failed`` there."""
    last = last_attempt(attempts)
    if last.status not in RESULTS:
        return None
    passed = last.status == "success"
    rescued = passed and any(a.status == "failed" and a.id != last.id for a in attempts)
    return Run(
        pipeline_id=pipeline.id,
        at=last.finished_at if last.finished_at is not None else pipeline.created_at,
        passed=passed,
        rescued=rescued,
        duration=last.duration,
        allow_failure=last.allow_failure,
    )


def job_health(pipelines: Iterable[PipelineRecord]) -> list[JobHealth]:
    """Every job's health over ``pipelines`` (any order; read oldest first), by name."""
    ordered = sorted(pipelines, key=lambda p: p.id)
    runs: dict[str, list[Run]] = {}
    appeared: dict[str, list[int]] = {}
    first: dict[str, float] = {}
    newest: dict[str, Attempt] = {}
    manual: set[str] = set()
    for pipeline in ordered:
        by_name: dict[str, list[Attempt]] = {}
        for attempt in pipeline.attempts:
            by_name.setdefault(attempt.name, []).append(attempt)
        for name, attempts in by_name.items():
            appeared.setdefault(name, []).append(pipeline.id)
            first.setdefault(name, pipeline.created_at)
            newest[name] = last_attempt(attempts)
            if any(a.status == "manual" for a in attempts):
                manual.add(name)
            run = run_of(pipeline, attempts)
            if run is not None:
                runs.setdefault(name, []).append(run)
    return [
        JobHealth(
            name=name,
            stage=newest[name].stage,
            runs=tuple(runs.get(name, ())),
            appeared=tuple(appeared[name]),
            first_seen=first[name],
            allow_failure=newest[name].allow_failure,
            manual=name in manual,
        )
        for name in sorted(appeared)
    ]


def streak(runs: Sequence[Run]) -> Streak:
    if not runs:
        return Streak("none")
    state = runs[-1].passed
    count = 0
    for run in reversed(runs):
        if run.passed != state:
            break
        count += 1
    since = runs[len(runs) - count].at
    return Streak("green" if state else "failing", count, since)


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The nearest-rank percentile (``pct`` 50: the median, lower of two middles)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def strip(runs: Sequence[Run], width: int = STRIP_RUNS) -> str:
    """One character a run, the last ``width`` runs, newest right."""
    return "".join(
        (RESCUED if run.rescued else PASSED) if run.passed else FAILED for run in runs[-width:]
    )


def iso(stamp: float | None) -> str | None:
    """``2026-12-04T10:00:00Z`` (UTC, whole seconds), or None."""
    if stamp is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(stamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
