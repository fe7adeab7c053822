"""What the watch shows: a live table on a terminal, plain lines elsewhere.

``watch.watch`` feeds one ``Display``; the caller picks the implementation:
``LiveDisplay`` (rich, a terminal) or ``PlainDisplay`` (a pipe or a CI log: one
timestamped line per change of state). The ``--json`` document is ``document.py``'s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Protocol

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from send_mergereq.errors import TransientForgeError, redact
from send_mergereq.gate import Outcome, latest_attempts, qualified_name, status_counts
from send_mergereq.logtext import format_duration
from send_mergereq.models import Job, Pipeline

if TYPE_CHECKING:
    from send_mergereq.run.watch import Snapshot, WatchResult

STATUS_STYLE: dict[str, tuple[str, str]] = {
    "success": ("✔", "green"),
    "failed": ("✘", "red"),
    "running": ("●", "cyan"),
    "pending": ("◌", "yellow"),
    "created": ("·", "dim"),
    "waiting_for_resource": ("◌", "yellow"),
    "waiting_for_callback": ("◌", "yellow"),
    "preparing": ("◌", "yellow"),
    "scheduled": ("◷", "magenta"),
    "manual": ("▶", "magenta"),
    "canceling": ("⊘", "dim"),
    "canceled": ("⊘", "dim"),
    "skipped": ("»", "dim"),
}
OUTCOME_STYLE = {
    Outcome.OPEN: "bold green",
    Outcome.CLOSED: "bold red",
    Outcome.BLOCKED: "bold magenta",
    Outcome.TIMED_OUT: "bold yellow",
    Outcome.PENDING: "bold yellow",
}


class Display(Protocol):
    """What the watch loop tells the user about, in the order it happens."""

    def update(self, snapshot: Snapshot) -> None:
        """A successful poll (the last one carries the final verdict)."""

    def reconnecting(self, error: TransientForgeError, retry_in: float) -> None:
        """A transient fault; the loop polls again in ``retry_in`` seconds."""

    def retried(self, job: Job, count: int, limit: int) -> None:
        """We retried ``job`` (``--retry-failed``), the ``count``-th time of ``limit``."""

    def finish(self, result: WatchResult) -> None:
        """The watch ended with a verdict, a timeout or Ctrl-C: say so, once."""

    def close(self) -> None:
        """Give the terminal back (the watch ends with an error); safe to call twice."""


# --- text helpers ---------------------------------------------------------------------------


def job_label(job: Job, bridge: Job | None = None) -> str:
    """``stage/name``, and ``bridge > stage/name`` for a job of a child pipeline."""
    own = qualified_name(job)
    return f"{bridge.name} > {own}" if bridge is not None else own


def walk(pipeline: Pipeline, bridge: Job | None = None) -> Iterator[tuple[Job, Job | None, int]]:
    """Every latest job in display order: by stage (earliest first), a child's jobs right after
    its bridge; with the bridge that leads to it and the nesting depth."""
    children = {child.id: child for child in pipeline.children}
    depth = 0 if bridge is None else 1
    for job in _in_stage_order(latest_attempts(pipeline.jobs)):
        yield job, bridge, depth
        child = children.get(job.downstream_pipeline_id or -1)
        if job.is_bridge and child is not None:
            for inner, via, level in walk(child, job):
                yield inner, via, level + depth


def _in_stage_order(jobs: list[Job]) -> list[Job]:
    first_id: dict[str, int] = {}
    for job in jobs:
        first_id[job.stage] = min(first_id.get(job.stage, job.id), job.id)
    return sorted(jobs, key=lambda j: (first_id[j.stage], j.stage, j.name))


def all_jobs(pipeline: Pipeline) -> list[Job]:
    return [job for job, _, _ in walk(pipeline)]


def summary_counts(pipeline: Pipeline) -> str:
    """``12 success · 3 running · 1 failed``."""
    return " · ".join(f"{n} {status}" for status, n in status_counts(all_jobs(pipeline)).items())


def pipeline_title(pipeline: Pipeline) -> str:
    kind = pipeline.kind.value.replace("_", " ")
    return f"pipeline #{pipeline.id} ({kind} pipeline, {pipeline.ref})"


def verdict_lines(result: WatchResult) -> list[str]:
    """The end of the watch in plain words: the verdict, warnings, retries, logs, next step."""
    verdict, took = result.verdict, format_duration(result.elapsed)
    if result.interrupted:
        return [f"interrupted after {took}; resume with: {result.resume_command}"]
    head = f"gate {verdict.outcome.value.replace('_', ' ')}: {verdict.reason}"
    if verdict.outcome is not Outcome.TIMED_OUT:
        head += f" (after {took})"
    counts = summary_counts(result.pipeline) if result.pipeline is not None else ""
    lines = [head + (f"  [{counts}]" if counts else "")]
    lines.extend(_retry_lines(result))
    if verdict.outcome is Outcome.OPEN:
        lines.extend(
            f"  may fail, failed: {job_label(j)}  {j.web_url}" for j in verdict.failed_optional
        )
    elif verdict.outcome is Outcome.CLOSED:
        lines.extend(_failure_lines(result))
    elif verdict.outcome is Outcome.BLOCKED:
        lines.extend(f"  play it: {job_label(j)}  {j.web_url}" for j in verdict.blocking_manual)
    if verdict.outcome in (Outcome.TIMED_OUT, Outcome.PENDING, Outcome.BLOCKED):
        lines.append(f"resume with: {result.resume_command}")
    return lines


def _retry_lines(result: WatchResult) -> list[str]:
    names = {(j.pipeline_id, j.name): job_label(j) for j in jobs_of(result.pipeline)}
    return [
        f"  retried by send-mergereq {count}x: {names.get(key, key[1])}"
        for key, count in result.verdict.retries.items()
    ]


def _failure_lines(result: WatchResult) -> list[str]:
    lines: list[str] = []
    for job in result.verdict.failed_gating:
        if job.is_bridge:
            child = job.downstream_pipeline_id
            lines.append(f"  {job_label(job)} failed (child pipeline #{child})  {job.web_url}")
            continue
        tail = result.logs.get(job.id)
        lines.append(f"--- {job_label(job)} failed, end of its log: {job.web_url}")
        if tail:
            lines.extend(f"  {line}" for line in tail.split("\n"))
    return lines


def jobs_of(pipeline: Pipeline | None) -> list[Job]:
    return [] if pipeline is None else all_jobs(pipeline)


def _utc_now() -> datetime:
    return datetime.now(UTC)


# --- plain lines ----------------------------------------------------------------------------


class PlainDisplay:
    """One timestamped line per change of state; never the whole table again."""

    def __init__(self, stream: IO[str], now: Callable[[], datetime] = _utc_now) -> None:
        self.stream = stream
        self.now = now
        self.statuses: dict[tuple[int, str], str] = {}
        self.pipeline_status: dict[int, str] = {}
        self.faulty = False

    def _line(self, text: str) -> None:
        stamp = self.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.stream.write(f"{stamp}  {text}\n")
        self.stream.flush()

    def update(self, snapshot: Snapshot) -> None:
        if self.faulty:
            self.faulty = False
            self._line("reconnected")
        top = snapshot.pipeline
        if not self.pipeline_status:
            self._line(f"watching {pipeline_title(top)} {top.web_url}")
        seen: dict[tuple[int, str], str] = {}
        for job, bridge, _ in walk(top):
            key = (job.pipeline_id, job.name)
            seen[key] = job.status
            self._job(job, bridge, self.statuses.get(key))
        self.statuses = seen
        statuses: dict[int, str] = {}
        self._pipelines(top, None, statuses)
        self.pipeline_status = statuses

    def _pipelines(self, pipeline: Pipeline, via: Job | None, statuses: dict[int, str]) -> None:
        """A line for each pipeline (the watched one, then its children) whose status moved."""
        before = self.pipeline_status.get(pipeline.id)
        if before != pipeline.status:
            change = f"{before} -> {pipeline.status}" if before else pipeline.status
            child = f" (child, {via.name})" if via is not None else ""
            self._line(f"pipeline #{pipeline.id}{child}  {change}")
        statuses[pipeline.id] = pipeline.status
        bridges = {job.downstream_pipeline_id: job for job in pipeline.jobs if job.is_bridge}
        for child_pipeline in pipeline.children:
            self._pipelines(child_pipeline, bridges.get(child_pipeline.id), statuses)

    def _job(self, job: Job, bridge: Job | None, before: str | None) -> None:
        if before == job.status or (before is None and job.status == "created"):
            return
        change = f"{before} -> {job.status}" if before else job.status
        took = format_duration(job.duration) if job.status in ("success", "failed") else ""
        marker = "  (may fail)" if job.allow_failure and job.status == "failed" else ""
        self._line(f"{job_label(job, bridge)}  {change}" + (f"  ({took})" if took else "") + marker)

    def reconnecting(self, error: TransientForgeError, retry_in: float) -> None:
        self.faulty = True
        self._line(
            f"reconnecting: {redact(error.message)} (next try in {format_duration(retry_in)})"
        )

    def retried(self, job: Job, count: int, limit: int) -> None:
        self._line(f"{job_label(job)}  failed, retried by send-mergereq ({count} of {limit})")

    def finish(self, result: WatchResult) -> None:
        lines = verdict_lines(result)
        self._line(lines[0])
        for line in lines[1:]:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


# --- live table -----------------------------------------------------------------------------


def render_table(snapshot: Snapshot, now: float) -> Table:
    """The jobs grouped by stage, a child's jobs nested under its bridge; running durations tick."""
    title = Text(pipeline_title(snapshot.pipeline), style="bold")
    table = Table(title=title, title_justify="left", expand=False)
    for column in ("stage", "job", "status", "duration", "", "link"):
        table.add_column(column, no_wrap=column != "link", overflow="fold")
    last_stage: tuple[int, str] | None = None
    for job, _, depth in walk(snapshot.pipeline):
        group = (job.pipeline_id, job.stage)
        stage = job.stage if group != last_stage else ""
        last_stage = group
        table.add_row(*_row(job, depth, stage, snapshot, now))
    return table


def _row(job: Job, depth: int, stage: str, snapshot: Snapshot, now: float) -> list[Text | str]:
    symbol, colour = STATUS_STYLE.get(job.status, ("?", "white"))
    duration = job.duration
    if job.status == "running" and duration is not None:
        duration += max(0.0, now - snapshot.taken_at)
    indent = "  " * depth + ("└ " if depth else "")
    name = Text(indent + job.name + (" ⇢" if job.is_bridge else ""))
    status = Text(f"{symbol} {job.status}", style=colour)
    retried = snapshot.verdict.retry_count(job)
    note = "may fail" if job.allow_failure else ""
    if retried:
        note = f"{note} retried {retried}x".strip()
    link = Text(job.web_url, style=f"link {job.web_url}" if job.web_url else "")
    return [
        Text("  " * depth + stage, style="bold"),
        name,
        status,
        format_duration(duration),
        note,
        link,
    ]


def render_summary(snapshot: Snapshot, now: float, fault: str | None = None) -> Text:
    """Counts by status, elapsed time, next poll (or "reconnecting…")."""
    elapsed = format_duration(snapshot.elapsed + max(0.0, now - snapshot.taken_at))
    text = Text(summary_counts(snapshot.pipeline) + f"  —  elapsed {elapsed}  —  ")
    if fault is not None:
        text.append(f"reconnecting… ({fault})", style="yellow")
    else:
        due = snapshot.taken_at + snapshot.next_poll_in - now
        text.append(f"next poll in {max(0, round(due))}s")
    return text


class LiveDisplay:
    """A rich ``Live`` table on a terminal, redrawn in place; the log tails when the gate closes.

    ``clock`` must be the watch loop's clock: running durations and the countdown to the
    next poll are computed from it between polls, so they tick.
    """

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.clock = clock
        self.snapshot: Snapshot | None = None
        self.fault: str | None = None
        self.live: Live | None = None

    def __rich__(self) -> Group | Text:
        if self.snapshot is None:
            waiting = f"reconnecting… ({self.fault})" if self.fault else "waiting for GitLab…"
            return Text(waiting)
        now = self.clock()
        return Group(
            render_table(self.snapshot, now), render_summary(self.snapshot, now, self.fault)
        )

    def _start(self) -> None:
        if self.live is None:
            self.live = Live(self, console=self.console, refresh_per_second=2, transient=False)
            self.live.start()

    def update(self, snapshot: Snapshot) -> None:
        self.snapshot, self.fault = snapshot, None
        self._start()
        assert self.live is not None
        self.live.refresh()

    def reconnecting(self, error: TransientForgeError, retry_in: float) -> None:
        self.fault = f"{redact(error.message)}; next try in {format_duration(retry_in)}"
        self._start()

    def retried(self, job: Job, count: int, limit: int) -> None:
        self._start()
        assert self.live is not None
        note = f"{job_label(job)} failed: retried by send-mergereq ({count} of {limit})"
        self.live.console.print(Text(note, style="yellow"))

    def finish(self, result: WatchResult) -> None:
        self.close()
        lines = verdict_lines(result)
        self.console.print(Text(lines[0], style=OUTCOME_STYLE[result.verdict.outcome]))
        for line in lines[1:]:
            self.console.print(Text(line))

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
