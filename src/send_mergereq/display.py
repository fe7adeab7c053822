"""What the watch shows: a live table on a terminal, plain lines elsewhere.

``watch.watch`` feeds one ``Display``; the caller picks the implementation:
``LiveDisplay`` (rich, a terminal) or ``PlainDisplay`` (a pipe or a CI log: one
timestamped line per change of state). The ``--json`` document is ``document.py``'s.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Protocol

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.control import Control
from rich.live import Live
from rich.live_render import LiveRender
from rich.segment import ControlType, Segment
from rich.text import Text

from send_mergereq.errors import TransientForgeError, redact
from send_mergereq.gate import Outcome, latest_attempts, qualified_name, status_counts
from send_mergereq.logtext import format_duration
from send_mergereq.models import Job, Pipeline
from send_mergereq.terminal import visible
from send_mergereq.view import layout, natural_key

if TYPE_CHECKING:
    from send_mergereq.run.watch import Snapshot, WatchResult

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

    def finish(self, result: WatchResult, stale: str | None = None) -> None:
        """The watch ended with a verdict, a timeout or Ctrl-C: say so, once (``stale``: why
        an open verdict's result is stale, said in the verdict line)."""

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
    return sorted(jobs, key=lambda j: (first_id[j.stage], j.stage, natural_key(j.name)))


def all_jobs(pipeline: Pipeline) -> list[Job]:
    return [job for job, _, _ in walk(pipeline)]


def summary_counts(pipeline: Pipeline) -> str:
    """``12 success · 3 running · 1 failed``."""
    counts = status_counts(all_jobs(pipeline)).items()
    return " · ".join(f"{n} {visible(status)}" for status, n in counts)


def pipeline_title(pipeline: Pipeline) -> str:
    kind = pipeline.kind.value.replace("_", " ")
    return f"pipeline #{pipeline.id} ({kind} pipeline, {visible(pipeline.ref)})"


FLAKY_REASONS = frozenset(
    {
        "runner_system_failure",
        "stuck_or_timeout_failure",
        "job_execution_timeout",
        "scheduler_failure",
        "api_failure",
        "data_integrity_failure",
    }
)


def shown(job: Job, bridge: Job | None = None) -> str:
    """``job_label`` fit for a terminal: every control character escaped (``--json`` keeps
    the exact ``job_label``)."""
    return visible(job_label(job, bridge))


def looks_flaky(job: Job, result: WatchResult) -> str | None:
    """Why ``job``'s failure looks flaky (it already needed a retry, or GitLab blames the
    runner, the system, a stuck job or a timeout); None when it looks like a real failure."""
    if job.failure_reason in FLAKY_REASONS:
        return visible(job.failure_reason.replace("_", " "))
    earlier = [j for j in jobs_of_all(result.pipeline) if j.name == job.name and j.id != job.id]
    if result.verdict.retry_count(job) or job.retried or earlier:
        return "it already needed a retry"
    return None


def jobs_of_all(pipeline: Pipeline | None) -> list[Job]:
    """Every attempt of every job of ``pipeline`` and its children."""
    if pipeline is None:
        return []
    found = list(pipeline.jobs)
    for child in pipeline.children:
        found.extend(jobs_of_all(child))
    return found


def verdict_line(result: WatchResult, stale: str | None = None, *, counts: bool = True) -> str:
    """The one verdict line: the last thing a watch prints."""
    verdict, took = result.verdict, format_duration(result.elapsed)
    if result.interrupted:
        return f"interrupted after {took}; resume with: {result.resume_command}"
    if stale is not None and verdict.outcome is Outcome.OPEN:
        return f"gate open on a stale target: {visible(stale.removeprefix('stale: '))}"
    head = f"gate {verdict.outcome.value.replace('_', ' ')}: {visible(verdict.reason)}"
    if verdict.outcome is not Outcome.TIMED_OUT:
        head += f" (after {took})"
    summary = summary_counts(result.pipeline) if result.pipeline is not None else ""
    return head + (f"  [{summary}]" if summary and counts else "")


def verdict_lines(
    result: WatchResult, stale: str | None = None, *, width: int | None = None
) -> list[str]:
    """The end of the watch in plain words; the verdict line comes LAST (log tails, retries,
    links and hints above it), so on a small terminal it is what stays in view. Given a
    ``width`` the verdict line leaves its job counts to a line above rather than wrap."""
    verdict = result.verdict
    if result.interrupted:
        return [verdict_line(result)]
    lines = _retry_lines(result)
    if verdict.outcome is Outcome.OPEN:
        lines.extend(
            f"  may fail, failed: {shown(j)}  {visible(j.web_url)}" for j in verdict.failed_optional
        )
    elif verdict.outcome is Outcome.CLOSED:
        lines = _log_lines(result) + lines + _failure_lines(result)
    elif verdict.outcome is Outcome.BLOCKED:
        lines.extend(
            f"  play it: {shown(j)}  {visible(j.web_url)}" for j in verdict.blocking_manual
        )
    if verdict.outcome in (Outcome.TIMED_OUT, Outcome.PENDING, Outcome.BLOCKED):
        lines.append(f"resume with: {result.resume_command}")
    last = verdict_line(result, stale)
    if width is not None and len(last) > width and result.pipeline is not None:
        lines.append(f"  jobs: {summary_counts(result.pipeline)}")
        last = verdict_line(result, stale, counts=False)
    return [*lines, last]


def _retry_lines(result: WatchResult) -> list[str]:
    names = {(j.pipeline_id, j.name): shown(j) for j in jobs_of(result.pipeline)}
    return [
        f"  retried by send-mergereq {count}x: {names.get(key, visible(key[1]))}"
        for key, count in result.verdict.retries.items()
    ]


def _log_lines(result: WatchResult) -> list[str]:
    """Each failed gating job's log tail, under a ``--- … failed`` header."""
    lines: list[str] = []
    for job in result.verdict.failed_gating:
        tail = result.logs.get(job.id)
        if job.is_bridge or tail is None:
            continue
        lines.append(f"--- {shown(job)} failed, end of its log: {visible(job.web_url)}")
        if tail:
            lines.extend(f"  {line}" for line in tail.split("\n"))
    return lines


def _failure_lines(result: WatchResult) -> list[str]:
    """One line per failed gating job with its link; a hint when the failure looks flaky."""
    lines: list[str] = []
    flaky: list[str] = []
    for job in result.verdict.failed_gating:
        where = f" (child pipeline #{job.downstream_pipeline_id})" if job.is_bridge else ""
        lines.append(f"  ✘ {shown(job)}{where}  {visible(job.web_url)}")
        why = None if job.is_bridge else looks_flaky(job, result)
        if why is not None:
            flaky.append(f"{shown(job)} ({why})")
    if flaky:
        lines.append(
            f"  looks flaky: {', '.join(flaky)}; to retry a failed job once, "
            "run again with --retry-failed 1"
        )
    return lines


def jobs_of(pipeline: Pipeline | None) -> list[Job]:
    return [] if pipeline is None else all_jobs(pipeline)


def _utc_now() -> datetime:
    return datetime.now(UTC)


# --- plain lines ----------------------------------------------------------------------------


class PlainDisplay:
    """One timestamped line per poll that saw changes, the jobs grouped by their new state
    (``running: check-block, check-qtest (+38 more)``); failed and manual jobs are always
    named in full. Never the whole table again."""

    SHOWN = 5  # names per group before "(+N more)"

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
        parts: list[str] = []
        if self.faulty:
            self.faulty = False
            parts.append("reconnected")
        top = snapshot.pipeline
        if not self.pipeline_status:
            parts.append(f"watching {pipeline_title(top)} {visible(top.web_url)}")
        statuses: dict[int, str] = {}
        parts.extend(self._pipelines(top, None, statuses))
        self.pipeline_status = statuses
        seen: dict[tuple[int, str], str] = {}
        groups: dict[str, list[str]] = {}
        for job, bridge, _ in walk(top):
            key = (job.pipeline_id, job.name)
            seen[key] = job.status
            before = self.statuses.get(key)
            if before == job.status or (before is None and job.status == "created"):
                continue
            state = job.status
            label = shown(job, bridge)
            if state in ("success", "failed") and job.duration is not None:
                label += f" ({format_duration(job.duration)})"
            if state == "failed" and job.allow_failure:
                state = "failed (may fail)"
            groups.setdefault(state, []).append(label)
        self.statuses = seen
        parts.extend(self._group(state, names) for state, names in _by_weight(groups))
        if parts:
            self._line("; ".join(parts))

    def _group(self, state: str, names: list[str]) -> str:
        if state.startswith("failed") or state == "manual" or len(names) <= self.SHOWN + 1:
            return f"{visible(state)}: {', '.join(names)}"
        more = len(names) - self.SHOWN
        return f"{visible(state)}: {', '.join(names[: self.SHOWN])} (+{more} more)"

    def _pipelines(
        self, pipeline: Pipeline, via: Job | None, statuses: dict[int, str]
    ) -> list[str]:
        """A part for each pipeline (the watched one, then its children) whose status moved."""
        parts: list[str] = []
        before = self.pipeline_status.get(pipeline.id)
        if before != pipeline.status:
            now = visible(pipeline.status)
            change = f"{visible(before)} -> {now}" if before else now
            child = f" (child, {visible(via.name)})" if via is not None else ""
            parts.append(f"pipeline #{pipeline.id}{child} {change}")
        statuses[pipeline.id] = pipeline.status
        bridges = {job.downstream_pipeline_id: job for job in pipeline.jobs if job.is_bridge}
        for child_pipeline in pipeline.children:
            parts.extend(self._pipelines(child_pipeline, bridges.get(child_pipeline.id), statuses))
        return parts

    def reconnecting(self, error: TransientForgeError, retry_in: float) -> None:
        self.faulty = True
        self._line(
            f"reconnecting: {visible(redact(error.message)).rstrip('.;: ')} "
            f"(next try in {format_duration(retry_in)})"
        )

    def retried(self, job: Job, count: int, limit: int) -> None:
        self._line(f"{shown(job)}  failed, retried by send-mergereq ({count} of {limit})")

    def finish(self, result: WatchResult, stale: str | None = None) -> None:
        lines = verdict_lines(result, stale)
        for line in lines[:-1]:
            self.stream.write(line + "\n")
        self._line(lines[-1])

    def close(self) -> None:
        self.stream.flush()


_WEIGHT = {"failed": 0, "failed (may fail)": 1, "manual": 2, "running": 3, "success": 4}


def _by_weight(groups: dict[str, list[str]]) -> list[tuple[str, list[str]]]:
    """Failures first, then manual blocks, running, passed, the rest."""
    return sorted(groups.items(), key=lambda item: _WEIGHT.get(item[0], 9))


# --- live table -----------------------------------------------------------------------------


# What a summary line too narrow for everything drops first (higher first); a status not
# named here goes with "created". The failed count is never dropped.
_DROP_POLL, _DROP_FAULT, _DROP_ELAPSED = 9, 8, 4
_DROP_STATUS = {"running": 1, "pending": 2, "success": 3, "canceled": 5}
_DROP_OTHER_STATUS = 6


def render_summary(
    snapshot: Snapshot, now: float, fault: str | None = None, width: int | None = None
) -> Text:
    """Counts by status, elapsed time, next poll (or "reconnecting…"), on one line of at
    most ``width`` columns: when it does not fit, the least important parts go first (the
    next poll, the fault's detail, rare statuses, the elapsed time, then the common ones);
    the failed count is never cut."""
    elapsed = format_duration(snapshot.elapsed + max(0.0, now - snapshot.taken_at))
    parts: list[tuple[str, str, int | None]] = [(f"elapsed {elapsed}", "bold", _DROP_ELAPSED)]
    if fault is not None:
        parts.append(("reconnecting…", "yellow", None))
        parts.append((f"({visible(fault)})", "yellow", _DROP_FAULT))
    elif snapshot.next_poll_in <= 0:
        parts.append(("done", "", _DROP_POLL))  # the watch's last summary: no poll is coming
    else:
        due = snapshot.taken_at + snapshot.next_poll_in - now
        parts.append((f"next poll in {max(0, round(due))}s", "", _DROP_POLL))
    for status, n in status_counts(all_jobs(snapshot.pipeline)).items():
        rank = None if status == "failed" else _DROP_STATUS.get(status, _DROP_OTHER_STATUS)
        parts.append((f"{n} {visible(status)}", "", rank))
    if width is not None:
        parts = _fitting(parts, width)
    text = Text()
    for n, (said, style, _) in enumerate(parts):
        if n:
            separator = " " if said.startswith("(") else " · "
            text.append(separator, style="bold" if n == 1 else "")
        text.append(said, style=style)
    return text


def _fitting(
    parts: list[tuple[str, str, int | None]], width: int
) -> list[tuple[str, str, int | None]]:
    """``parts`` without the least important ones, until they fit ``width`` columns; when
    even the ones never dropped do not fit, the failed count comes first."""

    def size(kept: list[tuple[str, str, int | None]]) -> int:
        return sum(len(said) for said, _, _ in kept) + 3 * max(0, len(kept) - 1)

    kept = list(parts)
    while size(kept) > width:
        droppable = [part for part in kept if part[2] is not None]
        if not droppable:
            return sorted(kept, key=lambda part: not part[0].endswith(" failed"))
        least = max(droppable, key=lambda part: (part[2] or 0, kept.index(part)))
        kept.remove(least)
    return kept


def render_screen(
    snapshot: Snapshot, now: float, width: int, height: int, fault: str | None = None
) -> Group:
    """The live view for a ``width`` x ``height`` terminal (``view.layout``)."""
    summary = render_summary(snapshot, now, fault, width=max(20, width))
    return Group(*layout(snapshot, now, width, height, summary))


_ERASE_TO_END = Segment("\x1b[K", None, [(ControlType.ERASE_IN_LINE, 0)])  # CSI K
_ERASE_BELOW = Segment("\x1b[J", None, [(ControlType.ERASE_IN_LINE, 0)])  # CSI J


class _InPlaceRender(LiveRender):
    """rich's live render, redrawn over itself line by line instead of erasing the whole
    frame first: a terminal (or a ``tmux capture-pane``) that catches a frame half written
    shows the new lines above and the last frame's below, never blank rows and never a
    frame without its summary line."""

    def position_cursor(self) -> Control:
        if self._shape is None:
            return Control()
        _, height = self._shape
        return Control(ControlType.CARRIAGE_RETURN, *((ControlType.CURSOR_UP, 1),) * (height - 1))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for segment in super().__rich_console__(console, options):
            if isinstance(segment, Segment) and segment.text == "\n" and not segment.control:
                yield _ERASE_TO_END
            yield segment
        yield _ERASE_TO_END
        yield _ERASE_BELOW


class LiveDisplay:
    """A rich ``Live`` view on a terminal, redrawn in place and fitted to the terminal's
    current size at every refresh (so a resize redraws it); the verdict last.

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
        width, height = self.console.size
        return render_screen(self.snapshot, self.clock(), width, height, self.fault)

    def _start(self) -> None:
        if self.live is None:
            self.live = Live(
                self,
                console=self.console,
                refresh_per_second=2,
                transient=False,
                vertical_overflow="crop",
            )
            self.live._live_render = _InPlaceRender(self, vertical_overflow="crop")
            self.live.start()

    def update(self, snapshot: Snapshot) -> None:
        self.snapshot, self.fault = snapshot, None
        self._start()
        assert self.live is not None
        self.live.refresh()

    def reconnecting(self, error: TransientForgeError, retry_in: float) -> None:
        said = visible(redact(error.message)).rstrip(".;: ")  # no "responding.; next try"
        self.fault = f"{said}; next try in {format_duration(retry_in)}"
        self._start()

    def retried(self, job: Job, count: int, limit: int) -> None:
        self._start()
        assert self.live is not None
        note = f"{shown(job)} failed: retried by send-mergereq ({count} of {limit})"
        erase = Control((ControlType.ERASE_IN_LINE, 2))  # the frame is not erased first
        self.live.console.print(Group(erase, Text(note, style="yellow")))

    def finish(self, result: WatchResult, stale: str | None = None) -> None:
        self.close()
        lines = verdict_lines(result, stale, width=self.console.size.width)
        for line in lines[:-1]:
            self.console.print(Text(line), soft_wrap=True)
        style = OUTCOME_STYLE[result.verdict.outcome]
        if stale is not None and result.verdict.outcome is Outcome.OPEN:
            style = "bold yellow"
        self.console.print(Text(lines[-1], style=style), soft_wrap=True)

    def close(self) -> None:
        if self.live is not None:
            live, self.live = self.live, None
            # a signal that lands inside Live.start leaves rich half started: stop what is
            # there and show the cursor again rather than fail (exit 70) on the way out
            with contextlib.suppress(IndexError):
                live.stop()
            self.console.show_cursor(True)


class HeldVerdict:
    """A ``Display`` whose verdict waits for :meth:`release`: the run checks whether the
    result is stale first, so that "gate open on a stale target" is the verdict line itself."""

    def __init__(self, display: Display) -> None:
        self.display = display
        self.result: WatchResult | None = None
        self.stale: str | None = None

    def update(self, snapshot: Snapshot) -> None:
        self.display.update(snapshot)

    def reconnecting(self, error: TransientForgeError, retry_in: float) -> None:
        self.display.reconnecting(error, retry_in)

    def retried(self, job: Job, count: int, limit: int) -> None:
        self.display.retried(job, count, limit)

    def finish(self, result: WatchResult, stale: str | None = None) -> None:
        self.result, self.stale = result, stale

    def release(self, stale: str | None = None) -> None:
        """Show the verdict held back (once), ``stale`` saying why the result is stale."""
        if self.result is not None:
            result, self.result = self.result, None
            self.display.finish(result, stale or self.stale)

    def close(self) -> None:
        self.release()
        self.display.close()
