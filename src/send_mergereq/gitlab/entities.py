"""GitLab's answers as the rest of send-mergereq sees them: plain data, no I/O.

python-gitlab hands back attribute dicts; these functions turn them into
``models`` values (merge requests, pipelines, jobs), and ``MrSpec`` says what a
merge request should hold when we write one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from send_mergereq.models import Job, MergeRequest, Pipeline, pipeline_kind


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    path: str  # path_with_namespace
    web_url: str
    default_branch: str | None
    merge_pipelines_enabled: bool  # merged results pipelines (GitLab Premium)


@dataclass(frozen=True)
class MrSpec:
    """What the merge request should say; None leaves a field as it is on an update."""

    title: str
    description: str
    labels: tuple[str, ...] | None = None
    assignee_ids: tuple[int, ...] | None = None
    remove_source_branch: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        data: dict[str, Any] = {"title": self.title, "description": self.description}
        if self.labels is not None:
            data["labels"] = ",".join(self.labels)
        if self.assignee_ids is not None:
            data["assignee_ids"] = list(self.assignee_ids)
        if self.remove_source_branch is not None:
            data["remove_source_branch"] = self.remove_source_branch
        return data | dict(self.extra)


def same_value(current: Any, wanted: Any) -> bool:
    if isinstance(wanted, str) and isinstance(current, list):  # labels come back as a list
        return ",".join(str(c) for c in current) == wanted
    if isinstance(wanted, list) and isinstance(current, list):
        return sorted(map(str, current)) == sorted(map(str, wanted))
    if wanted == [] and current is None:
        return True
    return bool(current == wanted or (current is None and wanted == ""))


def merge_request(attrs: Mapping[str, Any], *, created: bool = False) -> MergeRequest:
    return MergeRequest(
        iid=int(attrs["iid"]),
        web_url=str(attrs.get("web_url") or ""),
        source_branch=str(attrs.get("source_branch") or ""),
        target_branch=str(attrs.get("target_branch") or ""),
        sha=str(attrs.get("sha") or ""),
        title=str(attrs.get("title") or ""),
        state=str(attrs.get("state") or "opened"),
        created=created,
    )


def pipeline_id_of(attrs: Mapping[str, Any]) -> int:
    pipeline = attrs.get("pipeline") or {}
    return int(pipeline.get("id") or 0) if isinstance(pipeline, Mapping) else 0


def job(attrs: Mapping[str, Any], pipeline_id: int, *, bridge: int | None = None) -> Job:
    """A job; ``bridge`` is the project id for a bridge, whose downstream pipeline is
    followed only in that project (a multi-project pipeline's id means nothing here)."""
    downstream = attrs.get("downstream_pipeline") if bridge is not None else None
    if isinstance(downstream, Mapping) and downstream.get("project_id", bridge) != bridge:
        downstream = None
    status = str(attrs.get("status") or "")
    return Job(
        id=int(attrs["id"]),
        name=str(attrs.get("name") or ""),
        stage=str(attrs.get("stage") or ""),
        status=status,
        allow_failure=bool(attrs.get("allow_failure", False)),
        web_url=str(attrs.get("web_url") or ""),
        when=str(attrs.get("when") or ("manual" if status == "manual" else "on_success")),
        created_at=attrs.get("created_at"),
        started_at=attrs.get("started_at"),
        finished_at=attrs.get("finished_at"),
        duration=attrs.get("duration"),
        pipeline_id=pipeline_id_of(attrs) or pipeline_id,
        retried=bool(attrs.get("retried", False)),
        is_bridge=bridge is not None,
        downstream_pipeline_id=int(downstream["id"]) if isinstance(downstream, Mapping) else None,
        failure_reason=attrs.get("failure_reason"),
    )


def pipeline(attrs: Mapping[str, Any], project_web_url: str) -> Pipeline:
    pid = int(attrs["id"])
    ref = str(attrs.get("ref") or "")
    return Pipeline(
        id=pid,
        status=str(attrs.get("status") or ""),
        ref=ref,
        sha=str(attrs.get("sha") or ""),
        web_url=str(attrs.get("web_url") or f"{project_web_url}/-/pipelines/{pid}"),
        kind=pipeline_kind(ref),
        source=str(attrs.get("source") or ""),
        created_at=attrs.get("created_at"),
        updated_at=attrs.get("updated_at"),
    )


@dataclass(frozen=True)
class MergeAttempt:
    """``PUT …/merge``'s outcome: a merge GitLab refuses is an outcome (exit 7), not a failure."""

    merged: bool
    merge_commit_sha: str | None = None
    squash_commit_sha: str | None = None
    reason: str | None = None  # one line when not merged
