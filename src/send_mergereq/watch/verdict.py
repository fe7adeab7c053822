"""The watch's words: the pipeline's title, its job counts, and the verdict lines that end
a watch (log tails, retries, links and hints above the verdict line). Plain strings, the
server's text escaped; the plain and the live display both print these."""

from __future__ import annotations

from typing import TYPE_CHECKING

from send_mergereq.gate import Outcome, status_counts
from send_mergereq.logtext import format_duration
from send_mergereq.models import Job, Pipeline
from send_mergereq.terminal import visible

if TYPE_CHECKING:
    from send_mergereq.watch.types import WatchResult


def summary_counts(pipeline: Pipeline) -> str:
    """``12 success · 3 running · 1 failed``."""
    counts = status_counts(pipeline.latest_jobs()).items()
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
    """``Job.label`` fit for a terminal: every control character escaped (``--json`` keeps
    the exact label)."""
    return visible(job.label(bridge))


def looks_flaky(job: Job, result: WatchResult) -> str | None:
    """Why ``job``'s failure looks flaky (it already needed a retry, or GitLab blames the
    runner, the system, a stuck job or a timeout); None when it looks like a real failure."""
    if job.failure_reason in FLAKY_REASONS:
        return visible(job.failure_reason.replace("_", " "))
    earlier = [j for j in _every_attempt(result.pipeline) if j.name == job.name and j.id != job.id]
    if result.verdict.retry_count(job) or job.retried or earlier:
        return "it already needed a retry"
    return None


def _every_attempt(pipeline: Pipeline | None) -> list[Job]:
    return [] if pipeline is None else pipeline.every_attempt()


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
        lines += [_fit(line, width) for line in result.triage]
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


def _fit(line: str, width: int | None) -> str:
    """A triage's detail line (indented) cut to ``width`` columns (the live view), its end
    marked; its headings, the next command and the paths of drafts stay whole."""
    if width is None or len(line) <= width or not line.startswith("  "):
        return line
    return line[: max(1, width - 1)] + "…"


def _retry_lines(result: WatchResult) -> list[str]:
    names = {(j.pipeline_id, j.name): shown(j) for j in _latest(result.pipeline)}
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


# GitLab's failure_reason values of a bridge (app/models/concerns/enums/ci/commit_status.rb)
BRIDGE_FAILURES = {
    "downstream_pipeline_failure": "its downstream pipeline failed",
    "insufficient_bridge_permissions": "the token's user may not run the downstream "
    "project's pipeline",
    "downstream_bridge_project_not_found": "the downstream project was not found",
    "invalid_bridge_trigger": "its trigger is invalid",
    "bridge_pipeline_is_child_pipeline": "a child pipeline may not trigger another project",
    "upstream_bridge_project_not_found": "the upstream project was not found",
    "insufficient_upstream_permissions": "the token's user may not read the upstream project",
    "pipeline_loop_detected": "a pipeline loop was detected",
    "reached_max_descendant_pipelines_depth": "too many nested downstream pipelines",
    "reached_max_pipeline_hierarchy_size": "the pipeline hierarchy is too large",
}


def _downstream(bridge: Job) -> str:
    """Where a failed bridge led: its child pipeline, another project's pipeline (named;
    said when the token cannot read it), and GitLab's failure reason when it gave one
    (always for an unread pipeline, whose jobs are not shown); never "#None"."""
    parts: list[str] = []
    if bridge.downstream_elsewhere:
        unread = ", which the token cannot read" if bridge.downstream_unreadable else ""
        parts.append(f"downstream {visible(bridge.downstream_elsewhere)}{unread}")
    elif bridge.downstream_pipeline_id is not None:
        parts.append(f"child pipeline #{bridge.downstream_pipeline_id}")
    reason = bridge.failure_reason
    if bridge.downstream_unreadable and not reason:
        reason = "downstream_pipeline_failure" if bridge.status == "failed" else None
    if reason and (
        reason != "downstream_pipeline_failure" or not parts or bridge.downstream_unreadable
    ):
        parts.append(BRIDGE_FAILURES.get(reason, visible(reason).replace("_", " ")))
    return f" ({': '.join(parts)})" if parts else ""


def _failure_lines(result: WatchResult) -> list[str]:
    """One line per failed gating job with its link; a hint when the failure looks flaky."""
    lines: list[str] = []
    flaky: list[str] = []
    for job in result.verdict.failed_gating:
        where = _downstream(job) if job.is_bridge else ""
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


def _latest(pipeline: Pipeline | None) -> list[Job]:
    return [] if pipeline is None else pipeline.latest_jobs()
