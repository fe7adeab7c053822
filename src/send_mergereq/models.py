"""Plain data shared along the flow: merge requests, pipelines and jobs as we see them.

``gitlab/forge.py`` builds these from GitLab's answers; ``gate.py`` and ``watch/``
consume them. The pipeline tree (children via bridges, latest attempts, every attempt)
is walked here, once. No I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

# Statuses after which a job or a pipeline no longer changes by itself (the one list: the
# gate, the view, the watch loop and the reuse of a pipeline all read it from here).
FINISHED = frozenset({"success", "failed", "canceled", "skipped"})


class PipelineKind(StrEnum):
    """Which pipeline tests the push; docs/PRODUCT.md's order of preference ("Pipeline kinds")."""

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
    downstream_elsewhere: str | None = None  # a bridge to another project: its pipeline's URL
    downstream_project_id: int | None = None  # that other project's id (multi-project bridge)
    project_id: int | None = None  # another project's job (a multi-project child): its id
    downstream_unreadable: bool = False  # the token cannot read that project (403/404)

    @property
    def qualified_name(self) -> str:
        """``stage/name``."""
        return f"{self.stage}/{self.name}"

    def label(self, bridge: Job | None = None) -> str:
        """``stage/name``, and ``bridge > stage/name`` for a job of a child pipeline."""
        own = self.qualified_name
        return f"{bridge.name} > {own}" if bridge is not None else own


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
    project_id: int | None = None  # another project's pipeline (multi-project): its id

    def walk(self, bridge: Job | None = None) -> Iterator[tuple[Job, Job | None, int]]:
        """Every latest job in display order: by stage (earliest first), a child's jobs
        right after its bridge; with the bridge that leads to it and the nesting depth."""
        children = {child.id: child for child in self.children}
        depth = 0 if bridge is None else 1
        for job in _in_stage_order(latest_attempts(self.jobs)):
            yield job, bridge, depth
            child = children.get(job.downstream_pipeline_id or -1)
            if job.is_bridge and child is not None:
                for inner, via, level in child.walk(job):
                    yield inner, via, level + depth

    def latest_jobs(self) -> list[Job]:
        """The latest attempt of every job, the children's included, in display order."""
        return [job for job, _, _ in self.walk()]

    def every_attempt(self) -> list[Job]:
        """Every attempt of every job of this pipeline and its children."""
        return [job for pipeline in self.tree() for job in pipeline.jobs]

    def tree(self) -> Iterator[Pipeline]:
        """This pipeline, then its children's trees (each child once, by its bridge)."""
        yield self
        for child in self.children:
            yield from child.tree()


def latest_attempts(jobs: Iterable[Job]) -> list[Job]:
    """The newest attempt of each job (by name), in the order the jobs first appear."""
    newest: dict[str, Job] = {}
    for job in jobs:
        seen = newest.get(job.name)
        if seen is None or (not seen.retried, seen.id) < (not job.retried, job.id):
            newest[job.name] = job
    return list(newest.values())


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """``shard-2`` < ``shard-10``: digits compare as numbers."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.lower())
        for part in re.split(r"(\d+)", name)
        if part
    )


def _in_stage_order(jobs: list[Job]) -> list[Job]:
    first_id: dict[str, int] = {}
    for job in jobs:
        first_id[job.stage] = min(first_id.get(job.stage, job.id), job.id)
    return sorted(jobs, key=lambda j: (first_id[j.stage], j.stage, natural_key(j.name)))
