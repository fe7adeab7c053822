"""GitLab's answers as the rest of send-mergereq sees them: plain data, no I/O.

python-gitlab hands back attribute dicts; these functions turn them into
``models`` values (merge requests, pipelines, jobs), and ``MrSpec`` says what a
merge request should hold when we write one. Every field is checked for its type
on the way in: an answer with ``"id": "x"`` or ``"duration": "ten"`` is a garbled
answer (``GarbledAnswer``, a transient fault: exit 6, or ridden out mid-watch), never
a crash further on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from math import isfinite
from typing import Any

from send_mergereq.errors import TransientForgeError
from send_mergereq.models import Job, MergeRequest, Pipeline, pipeline_kind
from send_mergereq.terminal import visible


class GarbledAnswer(TransientForgeError):
    """GitLab answered, but a field is not of the type the API documents."""


def _garbled(what: str, key: str, value: Any) -> GarbledAnswer:
    shown = visible(repr(value))
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return GarbledAnswer(
        f"GitLab's answer is garbled: {what} {key} is {shown}",
        hint="GitLab or a proxy in front of it answered something that is not its API; "
        "try again later",
    )


def number(attrs: Mapping[str, Any], key: str, what: str) -> int:
    """The integer field ``key`` (an id); a GarbledAnswer when missing or not an integer."""
    value = attrs.get(key) if isinstance(attrs, Mapping) else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _garbled(what, key, value)
    return value


def _opt_number(attrs: Mapping[str, Any], key: str, what: str) -> int | None:
    return None if attrs.get(key) is None else number(attrs, key, what)


def _seconds(attrs: Mapping[str, Any], key: str, what: str) -> float | None:
    value = attrs.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not isfinite(value):
        raise _garbled(what, key, value)
    return float(value)


def _text(attrs: Mapping[str, Any], key: str, what: str, default: str = "") -> str:
    value = attrs.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _garbled(what, key, value)
    return str(value)


def _opt_text(attrs: Mapping[str, Any], key: str, what: str) -> str | None:
    return _text(attrs, key, what) or None


def _flag(attrs: Mapping[str, Any], key: str, what: str) -> bool:
    value = attrs.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _garbled(what, key, value)
    return value


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    path: str  # path_with_namespace
    web_url: str
    default_branch: str | None
    merge_pipelines_enabled: bool  # merged results pipelines (GitLab Premium)
    merge_trains_enabled: bool = False  # merge trains (GitLab Premium): --land joins the train
    merge_trains_skip_train_allowed: bool = False


@dataclass(frozen=True)
class MrSpec:
    """What the merge request should say; None leaves a field as it is on an update."""

    title: str | None
    description: str | None
    labels: tuple[str, ...] | None = None
    assignee_ids: tuple[int, ...] | None = None
    reviewer_ids: tuple[int, ...] | None = None
    remove_source_branch: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.title is not None:
            data["title"] = self.title
        if self.description is not None:
            data["description"] = self.description
        if self.labels is not None:
            data["labels"] = ",".join(self.labels)
        if self.assignee_ids is not None:
            data["assignee_ids"] = list(self.assignee_ids)
        if self.reviewer_ids is not None:
            data["reviewer_ids"] = list(self.reviewer_ids)
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
    what = "merge request"
    return MergeRequest(
        iid=number(attrs, "iid", what),
        web_url=_text(attrs, "web_url", what),
        source_branch=_text(attrs, "source_branch", what),
        target_branch=_text(attrs, "target_branch", what),
        sha=_text(attrs, "sha", what),
        title=_text(attrs, "title", what),
        state=_text(attrs, "state", what, "opened"),
        created=created,
        description=str(attrs.get("description") or ""),
        merged_at=_opt_text(attrs, "merged_at", what),
        closed_at=_opt_text(attrs, "closed_at", what),
        merge_commit_sha=_opt_text(attrs, "merge_commit_sha", what),
    )


def pipeline_id_of(attrs: Mapping[str, Any]) -> int:
    pipeline = attrs.get("pipeline") or {}
    if not isinstance(pipeline, Mapping):
        return 0
    return _opt_number(pipeline, "id", "job's pipeline") or 0


def job(attrs: Mapping[str, Any], pipeline_id: int, *, bridge: int | None = None) -> Job:
    """A job; ``bridge`` is the project id for a bridge, whose downstream pipeline may be
    another project's (a multi-project pipeline: ``downstream_project_id`` says which,
    ``downstream_elsewhere`` names it for when the token cannot read it)."""
    if not isinstance(attrs, Mapping):
        raise _garbled("job", "answer", attrs)
    what = "bridge" if bridge is not None else "job"
    downstream = attrs.get("downstream_pipeline") if bridge is not None else None
    elsewhere = other = None
    if isinstance(downstream, Mapping) and downstream.get("project_id", bridge) != bridge:
        other = _opt_number(downstream, "project_id", "downstream pipeline")
        elsewhere = _opt_text(downstream, "web_url", "downstream pipeline") or (
            f"pipeline #{_opt_number(downstream, 'id', 'downstream pipeline') or '?'} of "
            f"project {other or '?'}"
        )
        if other is None:
            downstream = None
    status = _text(attrs, "status", what)
    return Job(
        id=number(attrs, "id", what),
        name=_text(attrs, "name", what),
        stage=_text(attrs, "stage", what),
        status=status,
        allow_failure=_flag(attrs, "allow_failure", what),
        web_url=_text(attrs, "web_url", what),
        when=_text(attrs, "when", what) or ("manual" if status == "manual" else "on_success"),
        created_at=_opt_text(attrs, "created_at", what),
        started_at=_opt_text(attrs, "started_at", what),
        finished_at=_opt_text(attrs, "finished_at", what),
        duration=_seconds(attrs, "duration", what),
        pipeline_id=pipeline_id_of(attrs) or pipeline_id,
        retried=_flag(attrs, "retried", what),
        is_bridge=bridge is not None,
        downstream_pipeline_id=(
            number(downstream, "id", "downstream pipeline")
            if isinstance(downstream, Mapping)
            else None
        ),
        failure_reason=_opt_text(attrs, "failure_reason", what),
        downstream_elsewhere=elsewhere,
        downstream_project_id=other,
    )


def pipeline(attrs: Mapping[str, Any], project_web_url: str) -> Pipeline:
    if not isinstance(attrs, Mapping):
        raise _garbled("pipeline", "answer", attrs)
    what = "pipeline"
    pid = number(attrs, "id", what)
    ref = _text(attrs, "ref", what)
    return Pipeline(
        id=pid,
        status=_text(attrs, "status", what),
        ref=ref,
        sha=_text(attrs, "sha", what),
        web_url=_text(attrs, "web_url", what) or f"{project_web_url}/-/pipelines/{pid}",
        kind=pipeline_kind(ref),
        source=_text(attrs, "source", what),
        created_at=_opt_text(attrs, "created_at", what),
        updated_at=_opt_text(attrs, "updated_at", what),
    )


@dataclass(frozen=True)
class MergeAttempt:
    """``PUT …/merge``'s outcome: a merge GitLab refuses is an outcome (exit 7), not a failure."""

    merged: bool
    merge_commit_sha: str | None = None
    squash_commit_sha: str | None = None
    reason: str | None = None  # one line when not merged
    answer_lost: bool = False  # GitLab's answer was lost; the MR read back says it is merged


def version_pair(version: str) -> tuple[int, int]:
    """``17.11.2-ee`` → (17, 11); (0, 0) for anything that is not a version."""
    parts = version.split("-", 1)[0].split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return 0, 0


@dataclass(frozen=True)
class TrainCar:
    """A merge request on a merge train (ee/lib/api/entities/merge_train.rb): ``status``
    idle, fresh, stale, merging, merged or skip_merged; its train pipeline once it has one."""

    id: int
    status: str
    pipeline: Mapping[str, Any] | None


def train_car(attrs: Mapping[str, Any]) -> TrainCar:
    if not isinstance(attrs, Mapping):
        raise _garbled("merge train car", "answer", attrs)
    pipeline = attrs.get("pipeline")
    return TrainCar(
        id=number(attrs, "id", "merge train car"),
        status=_text(attrs, "status", "merge train car"),
        pipeline=pipeline if isinstance(pipeline, Mapping) else None,
    )
