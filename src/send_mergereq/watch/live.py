"""The live view on a terminal: rich's ``Live``, redrawn in place and fitted to the
terminal at every refresh; the layout itself is ``watch.view.layout`` (pure)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.control import Control
from rich.live import Live
from rich.live_render import LiveRender
from rich.segment import ControlType, Segment
from rich.text import Text

from send_mergereq.errors import TransientForgeError, redact
from send_mergereq.gate import Outcome, status_counts
from send_mergereq.logtext import format_duration
from send_mergereq.models import Job
from send_mergereq.terminal import visible
from send_mergereq.watch.verdict import shown, verdict_lines
from send_mergereq.watch.view import layout

if TYPE_CHECKING:
    from send_mergereq.watch.types import Snapshot, WatchResult

OUTCOME_STYLE = {
    Outcome.OPEN: "bold green",
    Outcome.CLOSED: "bold red",
    Outcome.BLOCKED: "bold magenta",
    Outcome.TIMED_OUT: "bold yellow",
    Outcome.PENDING: "bold yellow",
}


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
    for status, n in status_counts(snapshot.pipeline.latest_jobs()).items():
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
        if not limit:
            note = f"{shown(job)} failed: retried by GitLab (attempt {count})"
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
