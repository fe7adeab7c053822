"""The polling loop: follow a pipeline (and its children) to a gate verdict.

Requests per poll, against the bound "1 + ⌈jobs/100⌉ + (bridges)" of docs/PRODUCT.md:

- 1 ``get_pipeline`` for the watched pipeline, and ⌈jobs/100⌉ ``list_jobs`` pages;
- ``list_bridges`` (1 request) only on the first poll, then only while one of the
  pipeline's bridges has not finished or when the pipeline's status changed since
  the last listing (a bridge retried by hand): a pipeline without bridges pays it
  once, plus once per change of its own status;
- per child pipeline, the same again (1 + ⌈its jobs/100⌉ + its bridges rule), but
  only while it has not finished or when its bridge's status changed; a finished
  child costs nothing. Another project's downstream pipeline (a multi-project bridge)
  is read at that project, the same way; one the token cannot read (403/404) is asked
  once, and its bridge says so.

Logs are fetched once per failed gating job, only when the gate closes, and only
their last ``log_lines`` lines are kept. The interval starts at ``min_interval``,
grows by a factor ``backoff`` up to ``max_interval`` while nothing changes and resets when
something does; ``interval`` pins it.

A failed job GitLab retries by itself (``retry:`` in the CI config) is not a closed
gate: GitLab creates the next attempt just after saving the failure, so before closing
the gate on a failed attempt while its pipeline still runs, the loop waits
``retry_grace`` seconds (about 5) and polls again. A new attempt of the job keeps the
gate open ("retried by GitLab"); the same failed attempt closes it.

Transient faults (``TransientForgeError``: 5xx, dropped connections, 429) never end
the watch early: it shows "reconnecting", waits (``Retry-After`` when GitLab sent
one, else 2, 4, 8 … up to 60 s) and polls again. It gives up only when no poll has
succeeded for ``give_up_after`` seconds (default 5 minutes): a ``ForgeError``
(exit 6) whose hint is the resume command. Ctrl-C ends the watch with a result
whose exit code is 130. Memory stays flat: only the latest snapshot, one status
per job and the log tails are kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from send_mergereq import deadline
from send_mergereq.errors import (
    ForgeError,
    TimedOutError,
    TransientForgeError,
    UnreadableProject,
    interrupt_code,
)
from send_mergereq.gate import JobKey, Outcome, Verdict, evaluate, job_key, to_retry
from send_mergereq.logtext import format_duration, log_tail
from send_mergereq.models import FINISHED, Job, Pipeline
from send_mergereq.watch.types import PipelineSource, Snapshot, WatchOptions, WatchResult

if TYPE_CHECKING:
    from send_mergereq.watch.types import Display


def next_interval(current: float, changed: bool, options: WatchOptions) -> float:
    """The adaptive poll interval: short while jobs change, backing off while nothing does."""
    if options.interval is not None:
        return options.interval
    if changed:
        return options.min_interval
    return min(current * options.backoff, options.max_interval)


def fault_wait(error: TransientForgeError, faults: int, options: WatchOptions) -> float:
    """How long to wait after the ``faults``-th fault in a row: Retry-After (at most
    ``max_fault_wait``: a server asking for an hour is asked again, not given up on at
    once), else 2**n s."""
    if error.retry_after is not None and error.retry_after >= 0:
        return min(error.retry_after, options.max_fault_wait)
    return float(min(2**faults, options.max_fault_wait))


def watch(
    source: PipelineSource,
    pipeline_id: int,
    display: Display,
    options: WatchOptions,
    *,
    resume_command: str,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WatchResult:
    """Follow pipeline ``pipeline_id`` to a verdict, feeding ``display``; see the module doc."""
    watcher = _Watcher(source, options, clock)
    try:
        with deadline.overall(options.timeout):  # requests in flight included
            result = watcher.run(pipeline_id, display, sleep, resume_command)
    except KeyboardInterrupt as exc:  # Ctrl-C, and SIGTERM/SIGHUP (errors.Terminated)
        result = replace(
            watcher.result(resume_command, interrupted=True), interrupt_code=interrupt_code(exc)
        )
    except ForgeError as exc:
        display.close()
        if "resume with:" in (exc.hint or ""):
            raise
        hint = f"{exc.hint}; resume with: " if exc.hint else "resume with: "
        raise ForgeError(exc.message, hint=hint + resume_command) from exc
    except BaseException:
        display.close()
        raise
    display.finish(result)
    return result


@dataclass
class _Listing:
    """What we last saw of one pipeline, to decide what to ask again."""

    pipeline: Pipeline
    bridges: list[Job]
    trigger: str  # the pipeline's (or for a child, its bridge's) status at the listing


@dataclass
class _Watcher:
    source: PipelineSource
    options: WatchOptions
    clock: Callable[[], float]
    started: float = field(init=False)
    last_ok: float = field(init=False)
    pipeline: Pipeline | None = None
    verdict: Verdict = field(default_factory=lambda: Verdict(Outcome.PENDING, "no answer yet"))
    retries: dict[JobKey, int] = field(default_factory=dict)
    fresh: dict[JobKey, Job] = field(default_factory=dict)  # new attempts we started
    listings: dict[int, _Listing] = field(default_factory=dict)
    logs: dict[int, str] = field(default_factory=dict)
    confirmed: set[int] = field(default_factory=set)  # failed attempts waited on once
    attempts: dict[JobKey, tuple[int, str, int]] = field(default_factory=dict)  # id, status, n
    unreadable: set[int] = field(default_factory=set)  # other projects' pipelines: 403/404

    def __post_init__(self) -> None:
        self.started = self.last_ok = self.clock()

    def since_ok(self) -> float:
        return self.clock() - self.last_ok

    def result(self, resume_command: str, *, interrupted: bool = False) -> WatchResult:
        elapsed = self.clock() - self.started
        return WatchResult(
            self.verdict, self.pipeline, dict(self.logs), elapsed, resume_command, interrupted
        )

    def run(
        self,
        pipeline_id: int,
        display: Display,
        sleep: Callable[[float], None],
        resume_command: str,
    ) -> WatchResult:
        try:
            return self._loop(pipeline_id, display, sleep, resume_command)
        except TimedOutError:  # --timeout passed while a request was in flight
            assert self.options.timeout is not None
            self.verdict = self.verdict.timed_out(format_duration(self.options.timeout))
            return self.result(resume_command)

    def _loop(
        self,
        pipeline_id: int,
        display: Display,
        sleep: Callable[[float], None],
        resume_command: str,
    ) -> WatchResult:
        interval, faults, seen = self.options.min_interval, 0, None
        while True:
            try:
                self._poll(pipeline_id)
            except TransientForgeError as exc:
                faults += 1
                pause = self._fault_pause(exc, faults, resume_command)
                if pause is None:
                    return self.result(resume_command)
                display.reconnecting(exc, pause)
                sleep(pause)
                continue
            faults = 0
            self._auto_retried(display)
            grace = self._grace()
            if grace:
                display.update(self._snapshot(grace))
                sleep(grace)
                continue
            if self._retry_failed(display):
                interval = self.options.min_interval
            fingerprint = _fingerprint(self.pipeline)
            interval = next_interval(interval, fingerprint != seen, self.options)
            seen = fingerprint
            wait = self._pause(interval)
            display.update(self._snapshot(wait))
            if self.verdict.final:
                self._fetch_logs()
                return self.result(resume_command)
            sleep(wait)

    def _snapshot(self, wait: float) -> Snapshot:
        assert self.pipeline is not None
        now = self.clock()
        return Snapshot(self.pipeline, self.verdict, now - self.started, now, wait)

    def _pause(self, interval: float) -> float:
        """The wait before the next poll; turns the verdict into "timed out" at the deadline."""
        if self.options.timeout is None or self.verdict.final:
            return 0.0 if self.verdict.final else interval
        left = self.started + self.options.timeout - self.clock()
        if left <= 0:
            self.verdict = self.verdict.timed_out(format_duration(self.options.timeout))
            return 0.0
        return min(interval, left)

    def _fault_pause(self, error: TransientForgeError, faults: int, resume: str) -> float | None:
        """The wait before polling again after a fault; None when the deadline has passed.

        :raises ForgeError: no poll has succeeded for ``give_up_after`` seconds.
        """
        wait = fault_wait(error, faults, self.options)
        if self.since_ok() + wait > self.options.give_up_after:
            silent = format_duration(self.since_ok())
            raise ForgeError(
                f"GitLab has not answered for {silent}: {error.message}",
                hint=f"check the network or GitLab's status page, then resume with: {resume}",
            ) from error
        if self.options.timeout is None:
            return wait
        left = self.started + self.options.timeout - self.clock()
        if left <= 0:
            self.verdict = self.verdict.timed_out(format_duration(self.options.timeout))
            return None
        return min(wait, left)

    def _poll(self, pipeline_id: int) -> None:
        top = self.source.get_pipeline(pipeline_id)
        seen: set[int] = set()
        self.pipeline = self._fill(top, top.status, seen)
        self.listings = {pid: entry for pid, entry in self.listings.items() if pid in seen}
        self.last_ok = self.clock()
        verdict = evaluate(self.pipeline, fail_fast=self.options.fail_fast)
        self.verdict = replace(verdict, retries=dict(self.retries))

    def _fill(self, pipeline: Pipeline, trigger: str, seen: set[int]) -> Pipeline:
        """``pipeline`` with its jobs, bridges and children, asking only what may have moved."""
        seen.add(pipeline.id)
        before = self.listings.get(pipeline.id)
        bridges = self._bridges(pipeline, before)
        own = self.source.list_jobs(pipeline.id, **_at(pipeline.project_id))
        found = (self._child(bridge, seen) for bridge in bridges if _has_child(bridge))
        children = tuple(child for child in found if child is not None)
        bridges = [self._marked(bridge) for bridge in bridges]
        jobs = [*own, *bridges]
        jobs.extend(self._fresh_attempts(pipeline.id, jobs))
        full = replace(pipeline, jobs=tuple(jobs), children=children)
        self.listings[pipeline.id] = _Listing(full, bridges, trigger)
        return full

    def _bridges(self, pipeline: Pipeline, before: _Listing | None) -> list[Job]:
        if (
            before is None
            or before.pipeline.status != pipeline.status
            or any(b.status not in FINISHED for b in before.bridges)
        ):
            return self.source.list_bridges(pipeline.id, **_at(pipeline.project_id))
        return before.bridges

    def _child(self, bridge: Job, seen: set[int]) -> Pipeline | None:
        """The bridge's downstream pipeline; None for another project's that the token
        cannot read (asked once: its bridge says so, and decides through its status)."""
        child_id = bridge.downstream_pipeline_id
        assert child_id is not None
        if child_id in self.unreadable:
            return None
        before = self.listings.get(child_id)
        settled = before is not None and before.pipeline.status in FINISHED
        if settled and before and before.trigger == bridge.status and not self._retrying(child_id):
            seen.update(each.id for each in before.pipeline.tree())
            return before.pipeline
        where = _at(bridge.downstream_project_id or bridge.project_id)
        try:
            return self._fill(self.source.get_pipeline(child_id, **where), bridge.status, seen)
        except UnreadableProject:
            self.unreadable.add(child_id)
            return None

    def _marked(self, bridge: Job) -> Job:
        if bridge.downstream_pipeline_id in self.unreadable:
            return replace(bridge, downstream_unreadable=True)
        return bridge

    def _retrying(self, pipeline_id: int) -> bool:
        return any(key[0] == pipeline_id for key in self.fresh)

    def _fresh_attempts(self, pipeline_id: int, listed: list[Job]) -> list[Job]:
        """Attempts we started that the listing does not show yet (GitLab may lag a moment)."""
        newest = {job.name: job.id for job in listed}
        extra = []
        for key, job in list(self.fresh.items()):
            if key[0] != pipeline_id:
                continue
            if newest.get(job.name, -1) >= job.id:
                del self.fresh[key]
            else:
                extra.append(job)
        return extra

    def _grace(self) -> float:
        """The pause before trusting a closed verdict made of failed attempts GitLab may
        still retry by itself (their pipeline still runs): 0 once each was waited on."""
        if self.verdict.outcome is not Outcome.CLOSED or self.pipeline is None:
            return 0.0
        running = {p.id for p in self.pipeline.tree() if p.status not in FINISHED}
        fresh = [
            job
            for job in self.verdict.failed_gating
            if not job.is_bridge and job.id not in self.confirmed and job.pipeline_id in running
        ]
        if not fresh or self.options.retry_grace <= 0:
            return 0.0
        self.confirmed.update(job.id for job in fresh)
        names = ", ".join(job.qualified_name for job in fresh)
        self.verdict = replace(
            self.verdict,
            outcome=Outcome.PENDING,
            reason=f"{names} failed; a moment for GitLab's automatic retry (retry:)",
        )
        return self.options.retry_grace

    def _auto_retried(self, display: Display) -> None:
        """Say each job GitLab retried by itself: a newer attempt where we saw one fail."""
        assert self.pipeline is not None
        for job, _, _ in self.pipeline.walk():
            key = job_key(job)
            before = self.attempts.get(key)
            count = before[2] if before else 1
            ours = key in self.fresh or self.retries.get(key)
            if before and before[0] != job.id and before[1] == "failed" and not ours:
                count += 1
                display.retried(replace(job, status="failed"), count, 0)
            self.attempts[key] = (job.id, job.status, count)

    def _retry_failed(self, display: Display) -> bool:
        """Retry the failed gating jobs ``--retry-failed`` allows; True if any was retried."""
        jobs = to_retry(self.verdict, self.options.retry_failed)
        for job in jobs:
            attempt = replace(self.source.retry_job(job.id), pipeline_id=job.pipeline_id)
            key = job_key(job)
            self.retries[key] = self.retries.get(key, 0) + 1
            self.fresh[key] = attempt
            display.retried(job, self.retries[key], self.options.retry_failed)
        if jobs:
            assert self.pipeline is not None
            self.pipeline = _with_attempts(self.pipeline, self.fresh)
            verdict = evaluate(self.pipeline, fail_fast=self.options.fail_fast)
            self.verdict = replace(verdict, retries=dict(self.retries))
        return bool(jobs)

    def _fetch_logs(self) -> None:
        for job in self.verdict.failed_gating:
            if job.is_bridge or job.id in self.logs:
                continue
            try:
                text = self.source.job_trace(job.id, **_at(job.project_id))
            except (ForgeError, TimedOutError) as exc:
                text = f"(log unavailable: {exc.message})"
            self.logs[job.id] = log_tail(text, self.options.log_lines)


def _has_child(job: Job) -> bool:
    return job.is_bridge and job.downstream_pipeline_id is not None


def _at(project: int | None) -> dict[str, int]:
    """The ``project`` argument of a ``PipelineSource`` call: only for another project."""
    return {} if project is None else {"project": project}


def _with_attempts(pipeline: Pipeline, fresh: Mapping[JobKey, Job]) -> Pipeline:
    """``pipeline`` (and its children) with the attempts in ``fresh`` added to their jobs."""
    mine = tuple(job for key, job in fresh.items() if key[0] == pipeline.id)
    children = tuple(_with_attempts(child, fresh) for child in pipeline.children)
    return replace(pipeline, jobs=pipeline.jobs + mine, children=children)


def _fingerprint(pipeline: Pipeline | None) -> tuple[object, ...]:
    """What counts as "something changed": any pipeline's status, any job's attempt or status."""
    if pipeline is None:
        return ()
    rows: list[object] = [(pipeline.id, pipeline.status)]
    rows.extend((job.id, job.status) for job in pipeline.jobs)
    rows.extend(_fingerprint(child) for child in pipeline.children)
    return tuple(rows)
