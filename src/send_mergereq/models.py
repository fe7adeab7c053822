"""Plain data shared along the flow: merge requests, pipelines and jobs as we see them.

``forge.py`` builds these from GitLab's answers; ``gate.py``, ``watch.py`` and
``display.py`` consume them. No I/O here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class PipelineKind(StrEnum):
    """Which pipeline tests the push; DESIGN.md's order of preference."""

    MERGED_RESULT = "merged_result"  # ref refs/merge-requests/IID/merge, sha = the merge commit
    DETACHED = "detached"  # ref refs/merge-requests/IID/head
    BRANCH = "branch"  # ref = the source branch


_MR_REF = re.compile(r"^refs/merge-requests/(\d+)/(merge|head|train)$")


def pipeline_kind(ref: str) -> PipelineKind:
    """The kind of pipeline a ref stands for (merge trains test merged results too)."""
    match = _MR_REF.match(ref)
    if not match:
        return PipelineKind.BRANCH
    return PipelineKind.DETACHED if match[2] == "head" else PipelineKind.MERGED_RESULT


@dataclass(frozen=True)
class MergeRequest:
    iid: int
    web_url: str
    source_branch: str
    target_branch: str
    sha: str  # the source branch head GitLab knows
    title: str = ""
    state: str = "opened"
    created: bool = False  # opened by this run (else reused)
    description: str = ""
    merged_at: str | None = None  # GitLab's ISO 8601 time, when merged
    closed_at: str | None = None
    merge_commit_sha: str | None = None


@dataclass(frozen=True)
class Job:
    """One job or bridge, latest attempt or not; GitLab's field names and status values."""

    id: int
    name: str
    stage: str
    status: str  # created pending running success failed canceled skipped manual scheduled ...
    allow_failure: bool = False
    web_url: str = ""
    when: str = "on_success"  # "manual" for manual jobs
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration: float | None = None
    pipeline_id: int = 0
    retried: bool = False  # GitLab's flag with include_retried=true: a newer attempt exists
    is_bridge: bool = False
    downstream_pipeline_id: int | None = None  # bridges only
    failure_reason: str | None = None


@dataclass(frozen=True)
class Pipeline:
    id: int
    status: str
    ref: str
    sha: str
    web_url: str
    kind: PipelineKind
    source: str = ""
    created_at: str | None = None
    updated_at: str | None = None
    jobs: tuple[Job, ...] = field(default=(), repr=False)
    children: tuple[Pipeline, ...] = field(default=(), repr=False)  # downstream, by bridge
