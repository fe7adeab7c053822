"""Which pipeline tests this push: pure selection over the pipelines GitLab lists.

A merge request pipeline is known by its ref: ``refs/merge-requests/IID/merge``
(merged results; its sha is the merge commit GitLab built, never our head) or
``refs/merge-requests/IID/head`` (detached; its sha is our head). A branch
pipeline's ref is the source branch and its sha our head. "Created after the
push" is "its id is above every pipeline id we saw before pushing" (GitLab's ids
only grow), which needs no clock shared with the server. Decoys — an older MR
pipeline, a pipeline for another head, another MR's ref, a merge train — never
match. When the push changed nothing, older pipelines for the same head may be
reused instead of running the same tests again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from send_mergereq.models import Pipeline, PipelineKind

_MR_REF = re.compile(r"^refs/merge-requests/(\d+)/(merge|head|train)$")
CHILD_SOURCE = "parent_pipeline"
_PREFERENCE = {PipelineKind.MERGED_RESULT: 0, PipelineKind.DETACHED: 1, PipelineKind.BRANCH: 2}


def pipeline_kind(ref: str) -> PipelineKind:
    """The kind of pipeline a ref stands for (merge trains test merged results too)."""
    match = _MR_REF.match(ref)
    if not match:
        return PipelineKind.BRANCH
    return PipelineKind.DETACHED if match[2] == "head" else PipelineKind.MERGED_RESULT


@dataclass(frozen=True)
class Target:
    """What the pipeline must test."""

    iid: int  # the merge request
    branch: str  # its source branch
    head: str  # the pushed commit
    floor: int  # highest pipeline id seen before the push; newer ones have higher ids
    reuse: bool = False  # the push changed nothing: older pipelines for ``head`` count too
    head_pipeline_id: int | None = None  # GitLab's own pick for the MR's current head


def matches_push(pipeline: Pipeline, target: Target) -> bool:
    """Whether ``pipeline`` tests exactly the pushed head of this merge request. A child
    pipeline (``source`` ``parent_pipeline``: same ref and sha as its parent, a higher id)
    is never the gate, should a list include it."""
    if pipeline.source == CHILD_SOURCE:
        return False
    new = pipeline.id > target.floor
    if pipeline.ref == f"refs/merge-requests/{target.iid}/merge":
        return new or (target.reuse and pipeline.id == target.head_pipeline_id)
    if pipeline.ref in (f"refs/merge-requests/{target.iid}/head", target.branch):
        return pipeline.sha == target.head and (new or target.reuse)
    return False


def best(pipelines: Iterable[Pipeline], target: Target) -> Pipeline | None:
    """The pipeline to watch among ``pipelines``: merged results, else detached, else
    branch; the newest of its kind. None when none tests the push."""
    matching = [p for p in pipelines if matches_push(p, target)]
    if not matching:
        return None
    return min(matching, key=lambda p: (_PREFERENCE[p.kind], -p.id))


def floor_of(pipelines: Iterable[Pipeline]) -> int:
    """The highest id among ``pipelines`` (0 for none): the line later pipelines cross."""
    return max((p.id for p in pipelines), default=0)
