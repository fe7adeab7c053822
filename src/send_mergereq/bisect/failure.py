"""The failure ``bisect`` explains: the gating jobs that failed in BRANCH's latest pipeline
(the one ``status`` follows), or those of them ``--jobs`` names; and the commit that
pipeline tested. A pipeline that did not fail is a usage error (exit 2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from send_mergereq.errors import ConfigError
from send_mergereq.gate import Outcome, evaluate
from send_mergereq.models import Job, MergeRequest, Pipeline

if TYPE_CHECKING:
    from send_mergereq.gitlab.forge import Forge


@dataclass(frozen=True)
class Failure:
    """What to explain: the pipeline, its merge request (None in push-only mode), the
    commit of BRANCH it tested, and the failing jobs (by name, and their latest attempt)."""

    pipeline: Pipeline
    mr: MergeRequest | None
    tip: str
    jobs: tuple[str, ...]
    failed: tuple[Job, ...]


def with_jobs(forge: Forge, pipeline: Pipeline) -> Pipeline:
    """``pipeline`` with its jobs and bridges (the latest attempt of each, as GitLab lists
    them); child pipelines are not read (a failed bridge stands for its child)."""
    jobs = (*forge.list_jobs(pipeline.id), *forge.list_bridges(pipeline.id))
    return replace(pipeline, jobs=tuple(jobs))


def failing_jobs(pipeline: Pipeline, globs: Sequence[str]) -> tuple[Job, ...]:
    """The gating jobs that failed in ``pipeline`` (with its jobs), those matching one of
    ``globs`` when given; pure. ConfigError when the pipeline did not fail or no failed
    job matches."""
    verdict = evaluate(pipeline)
    where = f"pipeline #{pipeline.id} of {pipeline.ref} ({pipeline.status})"
    if verdict.outcome is not Outcome.CLOSED or not verdict.failed_gating:
        raise ConfigError(
            f"{where} did not fail: nothing to bisect",
            hint="bisect explains a closed gate: run it once the pipeline failed",
        )
    failed = [j for j in verdict.failed_gating if j.pipeline_id == pipeline.id]
    failed = failed or list(verdict.failed_gating)
    if globs:
        failed = [j for j in failed if any(fnmatchcase(j.name, g) for g in globs)]
        if not failed:
            names = ", ".join(sorted({j.name for j in verdict.failed_gating}))
            raise ConfigError(
                f"no failed gating job of {where} matches --jobs {' '.join(globs)}",
                hint=f"the failed ones: {names}",
            )
    unique: dict[str, Job] = {}
    for job in failed:
        unique.setdefault(job.name, job)
    return tuple(unique.values())


def find_failure(forge: Forge, branch: str, target: str, globs: Sequence[str]) -> Failure:
    """The latest pipeline of ``branch`` as ``status`` finds it, and its failing jobs; the
    commit it tested is the merge request's head (a merged-results pipeline tests a merge
    of it), else the pipeline's own."""
    from send_mergereq.run.discovery import current_pipeline

    mr, pipeline = current_pipeline(forge, branch, branch, target)
    full = with_jobs(forge, pipeline)
    failed = failing_jobs(full, globs)
    tip = mr.sha if mr is not None and mr.sha else pipeline.sha
    return Failure(full, mr, tip, tuple(j.name for j in failed), failed)
