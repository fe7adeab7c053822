"""The ``--json`` document of a run past the checks, assembled in one place.

``send`` and ``status`` hand in what each phase produced (the check report's
sections, the publish result, the watch, the staleness basis, the landing) and the
exit code the process is about to return; the document says exactly that: ``gate``
is the pipeline's verdict, ``verdict`` what the run ended with (``stale`` or
``not_landed`` when ``--land`` saw the gate open and landed nothing, exit 7). Every
watched run's document carries the same keys, null or false where they do not
apply (``stale``, ``tested_target_sha``, ``current_target_sha``, ``landed``,
``landed_reason``). Server strings are kept exact here: escaping is for terminals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from send_mergereq.errors import ExitCode
from send_mergereq.gate import Verdict
from send_mergereq.models import Job, MergeRequest, Pipeline

if TYPE_CHECKING:
    from send_mergereq.run.land_decision import Basis, LandResult
    from send_mergereq.run.publish import Published
    from send_mergereq.run.target import Contained
    from send_mergereq.run.triage import ClosedGate
    from send_mergereq.watch.types import WatchResult


def document(
    *,
    exit_code: ExitCode,
    checks: Mapping[str, Any] | None = None,
    published: Published | None = None,
    watched: WatchResult | None = None,
    merge_request: MergeRequest | None = None,
    basis: Basis | None = None,
    landed: LandResult | None = None,
    contained: Contained | None = None,
    closed: ClosedGate | None = None,
    histories: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The whole document: ``checks`` (``report.to_json``) first, then each phase's part.
    ``contained``: the target already has the branch, nothing was sent (``up_to_date``).
    ``closed``: a closed gate's triage (``triage``, and on each ``failed_jobs[]`` entry its
    ``suspects``, ``basis`` and ``owners``); ``triage`` is null on any other verdict.
    ``histories``: a closed gate's failing jobs on the target (``failed_jobs[].history``)."""
    doc: dict[str, Any] = dict(checks or {})
    if contained is not None:
        doc.update(verdict="up_to_date", up_to_date=contained.document())
        doc.update(merge_request=None, pipeline=None, exit_code=int(exit_code))
        return doc
    if published is not None:
        doc.update(_published(published))
    if watched is None:
        doc.update(verdict="pending", exit_code=int(exit_code))
        return doc
    doc.update(_watched(watched, histories or {}))
    doc["triage"] = None
    if closed is not None:
        doc["triage"] = closed.document()
        for entry in doc["failed_jobs"]:
            entry.update(closed.job(entry["name"]))
    mr = merge_request or (published.merge_request if published else None)
    if mr is not None:
        doc["merge_request"] = {"iid": mr.iid, "web_url": mr.web_url}
    doc.update(stale=False, tested_target_sha=None, current_target_sha=None)
    doc.update(landed=None, landed_reason=None)
    if basis is not None:
        doc.update(basis_document(basis))
    if landed is not None:
        doc.update(landing_document(landed))
        if not landed.landed and exit_code is ExitCode.NOT_LANDED:  # the gate opened, no more
            doc.update(verdict="stale" if landed.stale else "not_landed", reason=landed.reason)
    doc["exit_code"] = int(exit_code)
    return doc


def pipeline_document(pipeline: Pipeline, *, reused: bool) -> dict[str, Any]:
    """The ``pipeline`` section of a submission that did not wait."""
    return {
        "id": pipeline.id,
        "status": pipeline.status,
        "kind": str(pipeline.kind),
        "web_url": pipeline.web_url,
        "reused": reused,
    }


def _published(published: Published) -> dict[str, Any]:
    mr = published.merge_request
    return {
        "merge_request": None
        if mr is None
        else {"iid": mr.iid, "web_url": mr.web_url, "created": mr.created},
        "pipeline": pipeline_document(published.pipeline, reused=published.reused),
    }


def _watched(result: WatchResult, histories: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    verdict, pipeline = result.verdict, result.pipeline
    return {
        "verdict": verdict.outcome.value,  # what the run ended with (stale, not_landed too)
        "gate": verdict.outcome.value,  # what the pipeline said
        "reason": verdict.reason,
        "passed_with_warnings": verdict.with_warnings,
        "interrupted": result.interrupted,
        "elapsed": round(result.elapsed, 1),
        "resume_command": result.resume_command,
        "pipeline": _pipeline(pipeline),
        "jobs": [job_document(j, verdict) for j in (pipeline.latest_jobs() if pipeline else [])],
        "failed_jobs": [
            _failure(j, result.logs, histories.get(j.name)) for j in verdict.failed_gating
        ],
        "optional_failed_jobs": [j.label() for j in verdict.failed_optional],
    }


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
    if job.downstream_project_id is not None:  # a multi-project bridge: that pipeline's project
        doc["downstream_project_id"] = job.downstream_project_id
        doc["downstream_readable"] = not job.downstream_unreadable
    if job.project_id is not None:  # a job of that other project's pipeline
        doc["project_id"] = job.project_id
    if verdict.retry_count(job):
        doc["retried_by_us"] = verdict.retry_count(job)
    return doc


def _pipeline(pipeline: Pipeline | None) -> dict[str, Any] | None:
    if pipeline is None:
        return None
    fields = ("id", "status", "web_url", "ref", "sha")
    return {"kind": pipeline.kind.value, **{f: getattr(pipeline, f) for f in fields}}


def _failure(
    job: Job, logs: Mapping[int, str], history: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "name": job.name,
        "stage": job.stage,
        "web_url": job.web_url,
        "log_tail": logs.get(job.id),
        "history": dict(history) if history is not None else None,
    }


def basis_document(basis: Basis) -> dict[str, Any]:
    """The staleness fields (also without ``--land``)."""
    return {
        "stale": basis.stale,
        "tested_target_sha": basis.tested_target,
        "current_target_sha": basis.current_target,
    }


def landing_document(result: LandResult) -> dict[str, Any]:
    landed: dict[str, Any] | None = None
    if result.landed:
        landed = {
            "sha": result.sha,
            "how": str(result.how) if result.how else None,
            "target_head": result.target_head,
            "merge_commit_sha": result.merge_commit_sha,
        }
    return {
        "landed": landed,
        "landed_reason": None if result.landed else result.reason,
        "stale": result.stale,
        "tested_target_sha": result.tested_target,
        "current_target_sha": result.current_target,
        "refreshes": result.refreshes,
    }
