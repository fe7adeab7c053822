"""The watch's types: what the loop reads (``PipelineSource``), what it is asked
(``WatchOptions``), what it shows (``Snapshot``, through a ``Display``) and what it ends
with (``WatchResult``). No I/O here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from send_mergereq.errors import ExitCode, TransientForgeError
from send_mergereq.gate import Verdict
from send_mergereq.models import Job, Pipeline


class PipelineSource(Protocol):
    """What the loop reads from GitLab; ``forge.py`` implements it over python-gitlab.

    Every method raises ``TransientForgeError`` for a fault worth retrying later and
    ``ForgeError`` for anything else. ``project`` (passed only when not None) is another
    project's id: a multi-project downstream pipeline's, whose 403 or 404 is
    ``UnreadableProject``; what it returns carries that ``project_id``.
    """

    def get_pipeline(self, pipeline_id: int, project: int | None = None) -> Pipeline:
        """The pipeline itself, without jobs (1 request)."""
        ...

    def list_jobs(self, pipeline_id: int, project: int | None = None) -> list[Job]:
        """The latest attempt of each job, bridges excluded (``per_page=100``)."""
        ...

    def list_bridges(self, pipeline_id: int, project: int | None = None) -> list[Job]:
        """The pipeline's bridges (``is_bridge``, ``downstream_pipeline_id``); 1 request."""
        ...

    def job_trace(self, job_id: int, project: int | None = None) -> str:
        """The end of the job's log (at least its last lines), as GitLab stores it (ANSI
        codes and section markers in); never the whole log held in memory."""
        ...

    def retry_job(self, job_id: int) -> Job:
        """Retry a job; return its new attempt."""
        ...


@dataclass(frozen=True)
class WatchOptions:
    interval: float | None = None  # pinned poll interval; None: adaptive
    timeout: float | None = None  # seconds without a verdict before "timed out"
    fail_fast: bool = True
    log_lines: int = 30
    retry_failed: int = 0  # retry a failed gating job up to this many times
    min_interval: float = 3.0
    max_interval: float = 30.0
    backoff: float = 1.5
    give_up_after: float = 300.0  # seconds without a successful poll: exit 6
    max_fault_wait: float = 60.0
    cancel_rest: bool = False  # on a closed gate, cancel the jobs still alive (run/cancel.py)
    retry_grace: float = 5.0  # seconds GitLab gets to retry a failed job by itself (retry:)


@dataclass(frozen=True)
class Snapshot:
    """One successful poll, as the display sees it."""

    pipeline: Pipeline  # jobs include bridges; children are the downstream pipelines
    verdict: Verdict
    elapsed: float  # seconds since the watch started
    taken_at: float  # the loop's clock when the poll ended
    next_poll_in: float  # seconds until the next poll (0 when the watch ends)


@dataclass(frozen=True)
class WatchResult:
    verdict: Verdict
    pipeline: Pipeline | None  # the last snapshot; None if GitLab never answered
    logs: Mapping[int, str]  # job id -> last lines of its log, cleaned
    elapsed: float
    resume_command: str
    interrupted: bool = False
    interrupt_code: ExitCode = ExitCode.INTERRUPTED  # 143 for SIGTERM, 129 for SIGHUP
    # A closed gate's triage (run/triage.py), said after the failing jobs; already escaped
    triage: tuple[str, ...] = ()

    @property
    def exit_code(self) -> ExitCode:
        return self.interrupt_code if self.interrupted else self.verdict.exit_code


class Display(Protocol):
    """What the watch loop tells the user about, in the order it happens."""

    def update(self, snapshot: Snapshot) -> None:
        """A successful poll (the last one carries the final verdict)."""

    def reconnecting(self, error: TransientForgeError, retry_in: float) -> None:
        """A transient fault; the loop polls again in ``retry_in`` seconds."""

    def retried(self, job: Job, count: int, limit: int) -> None:
        """We retried ``job`` (``--retry-failed``), the ``count``-th time of ``limit``;
        ``limit`` 0: GitLab retried it by itself (``retry:``), ``count`` is the attempt."""

    def finish(self, result: WatchResult, stale: str | None = None) -> None:
        """The watch ended with a verdict, a timeout or Ctrl-C: say so, once (``stale``: why
        an open verdict's result is stale, said in the verdict line)."""

    def close(self) -> None:
        """Give the terminal back (the watch ends with an error); safe to call twice."""
