"""Past pipelines made finished at once, in the past (before the sandbox's virtual now):
the history ``send-mergereq jobs`` reads. Each job's story code becomes the attempts
GitLab would hold: a retry is a second job of the same name whose first attempt is
marked ``retried`` (as ``engine.retry_job`` does), every time real and in order."""

from __future__ import annotations

from send_mergereq.sandbox.past import HistorySpec, PastJob
from send_mergereq.sandbox.scenarios import JobSpec, PipelineSpec
from send_mergereq.sandbox.state import Job, Pipeline, Project, World
from send_mergereq.sandbox.status import composite

QUEUE = 5.0  # seconds a past job waited for a runner
# code -> the statuses of its attempts, oldest first
ATTEMPTS = {
    "s": ("success",),
    "f": ("failed",),
    "r": ("failed", "success"),
    "R": ("failed", "failed", "success"),
    "F": ("failed", "failed"),
    "c": ("canceled",),
    "k": ("skipped",),
    "m": ("manual",),
}


def seed(world: World, project: Project, spec: HistorySpec, sha: str, now: float) -> list[int]:
    """Create ``spec``'s pipelines on ``project``, the newest ending before ``now``; their ids."""
    ref = spec.ref or project.default_branch
    every = spec.every_hours * 3600
    longest = max((job.duration for job in spec.jobs), default=0.0) * 3 + 3 * QUEUE
    stages = tuple(dict.fromkeys(job.stage for job in spec.jobs))
    specs = {job.name: _spec(job) for job in spec.jobs}
    pipeline_spec = PipelineSpec(stages=stages, jobs=tuple(specs.values()))
    made = []
    for index in range(spec.pipelines):
        start = now - longest - (spec.pipelines - 1 - index) * every
        present = [(job, job.story[index]) for job in spec.jobs if job.story[index] != "-"]
        pipeline = _pipeline(
            world, project, pipeline_spec, ref=ref, sha=sha, source=spec.source, at=start
        )
        for job, code in present:
            _attempts(world, pipeline, specs[job.name], code, start)
        _finish(pipeline, start)
        made.append(pipeline.id)
    return made


def _spec(job: PastJob) -> JobSpec:
    return JobSpec(
        name=job.name, stage=job.stage, duration=job.duration, allow_failure=job.allow_failure
    )


def _pipeline(
    world: World, project: Project, spec: PipelineSpec, *, ref: str, sha: str, source: str,
    at: float,
) -> Pipeline:  # fmt: skip
    pipeline = Pipeline(
        id=world.next_id("pipeline"),
        iid=next(project.pipeline_iids),
        project_id=project.id,
        sha=sha,
        ref=ref,
        source=source,
        kind="branch",
        spec=spec,
        queue_delay=QUEUE,
        created_at=at,
        updated_at=at,
    )
    world.pipelines[pipeline.id] = pipeline
    return pipeline


def _attempts(world: World, pipeline: Pipeline, spec: JobSpec, code: str, at: float) -> None:
    statuses = ATTEMPTS[code]
    t = at
    for number, status in enumerate(statuses, 1):
        job = Job(
            id=world.next_id("job"),
            pipeline_id=pipeline.id,
            spec=spec,
            created_at=t,
            attempt=number,
            status=status,
            retried=number < len(statuses),
        )
        if status in ("success", "failed") or (status == "canceled" and number > 1):
            job.queued_at, job.started_at = t, t + QUEUE
            job.finished_at = t = t + QUEUE + spec.duration
        pipeline.jobs.append(job)
        world.jobs[job.id] = job


def _finish(pipeline: Pipeline, at: float) -> None:
    latest = pipeline.latest_jobs()
    pipeline.status = composite((j.status, j.allow_failure) for j in latest) or "skipped"
    started = [j.started_at for j in latest if j.started_at is not None]
    finished = [j.finished_at for j in pipeline.jobs if j.finished_at is not None]
    pipeline.started_at = min(started) if started else None
    pipeline.finished_at = max(finished, default=at)
    pipeline.updated_at = pipeline.finished_at
