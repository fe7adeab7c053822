"""What the watch shows on a pipe or in a CI log: ``PlainDisplay``, one timestamped line
per change of state; and ``HeldVerdict``, any display whose verdict waits for the run.

``watch.loop.watch`` feeds one ``Display`` (``watch.types``); the caller picks the
implementation: ``watch.live.LiveDisplay`` (rich, a terminal) or ``PlainDisplay``. The
``--json`` document is ``run/document.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING

from send_mergereq.errors import TransientForgeError, redact
from send_mergereq.logtext import format_duration
from send_mergereq.models import Job, Pipeline
from send_mergereq.terminal import visible
from send_mergereq.watch.verdict import pipeline_title, shown, verdict_lines

if TYPE_CHECKING:
    from send_mergereq.watch.types import Display, Snapshot, WatchResult


def _utc_now() -> datetime:
    return datetime.now(UTC)


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
        for job, bridge, _ in top.walk():
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
            kind = "child" if pipeline.project_id is None else "downstream"
            child = f" ({kind}, {visible(via.name)})" if via is not None else ""
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
        if not limit:
            self._line(f"{shown(job)}  failed, retried by GitLab (attempt {count})")
            return
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

    def add(self, lines: tuple[str, ...]) -> None:
        """Lines said after the held verdict's failing jobs (a closed gate's triage)."""
        if self.result is not None:
            self.result = replace(self.result, triage=self.result.triage + lines)

    def release(self, stale: str | None = None) -> None:
        """Show the verdict held back (once), ``stale`` saying why the result is stale."""
        if self.result is not None:
            result, self.result = self.result, None
            self.display.finish(result, stale or self.stale)

    def close(self) -> None:
        self.release()
        self.display.close()
