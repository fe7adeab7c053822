"""The ``--json`` document of a watched run: the watch's sections over what came before."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from send_mergereq.display import job_label, jobs_of
from send_mergereq.gate import Verdict
from send_mergereq.models import Job, MergeRequest, Pipeline

if TYPE_CHECKING:
    from send_mergereq.watch import WatchResult


def job_document(job: Job, verdict: Verdict) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": job.name,
        "stage": job.stage,
        "status": job.status,
        "allow_failure": job.allow_failure,
        "web_url": job.web_url,
        "duration": job.duration,
        "pipeline_id": job.pipeline_id,
        "id": job.id,
    }
    if job.is_bridge:
        doc["downstream_pipeline_id"] = job.downstream_pipeline_id
    if verdict.retry_count(job):
        doc["retried_by_us"] = verdict.retry_count(job)
    return doc


def build_document(
    result: WatchResult,
    merge_request: MergeRequest | None = None,
    earlier: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``--json`` document: ``earlier`` sections (range, findings…) plus the watch's."""
    doc: dict[str, Any] = dict(earlier or {})
    verdict, pipeline = result.verdict, result.pipeline
    doc.update(
        verdict=verdict.outcome.value,
        reason=verdict.reason,
        exit_code=int(result.exit_code),
        passed_with_warnings=verdict.with_warnings,
        interrupted=result.interrupted,
        elapsed=round(result.elapsed, 1),
        resume_command=result.resume_command,
        pipeline=_pipeline_document(pipeline),
        jobs=[job_document(j, verdict) for j in jobs_of(pipeline)],
        failed_jobs=[_failure_document(j, result.logs) for j in verdict.failed_gating],
        optional_failed_jobs=[job_label(j) for j in verdict.failed_optional],
    )
    if merge_request is not None:
        doc["merge_request"] = {"iid": merge_request.iid, "web_url": merge_request.web_url}
    return doc


def _pipeline_document(pipeline: Pipeline | None) -> dict[str, Any] | None:
    if pipeline is None:
        return None
    fields = ("id", "status", "web_url", "ref", "sha")
    return {"kind": pipeline.kind.value, **{f: getattr(pipeline, f) for f in fields}}


def _failure_document(job: Job, logs: Mapping[int, str]) -> dict[str, Any]:
    return {
        "name": job.name,
        "stage": job.stage,
        "web_url": job.web_url,
        "log_tail": logs.get(job.id),
    }
