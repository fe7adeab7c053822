"""The pipeline engine: jobs advance on the virtual clock, lazily, on each request.

No thread runs pipelines. Before answering, the server calls :func:`advance`, which
replays every job transition and scheduled action due up to the current virtual
time, in order, processing stages the way GitLab does: a stage's jobs start once
the earlier stages are complete and passed; after a failure they are skipped.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from send_mergereq.sandbox.scenarios import JobSpec, PipelineSpec
from send_mergereq.sandbox.state import Job, Pipeline, Project, World
from send_mergereq.sandbox.status import CANCELABLE, COMPLETED, composite

RETRYABLE = frozenset({"failed", "canceled", "success"})


class NotAllowed(Exception):
    """The job cannot do that now (retry a running job, play a job that is not manual)."""


def create_pipeline(
    world: World,
    project: Project,
    spec: PipelineSpec,
    *,
    sha: str,
    ref: str,
    source: str,
    kind: str,
    at: float,
    queue_delay: float,
    merge_request_iid: int | None = None,
    parent_job: Job | None = None,
    before_sha: str = "0" * 40,
) -> Pipeline:
    """A new pipeline with every job of ``spec`` created, its first stage already queued."""
    pipeline = Pipeline(
        id=world.next_id("pipeline"),
        iid=next(project.pipeline_iids),
        project_id=project.id,
        sha=sha,
        ref=ref,
        source=source,
        kind=kind,
        spec=spec,
        queue_delay=queue_delay,
        created_at=at,
        updated_at=at,
        before_sha=before_sha,
        merge_request_iid=merge_request_iid,
        parent_job_id=parent_job.id if parent_job else None,
    )
    world.pipelines[pipeline.id] = pipeline
    for job_spec in spec.jobs:
        _new_job(world, pipeline, job_spec, at)
    process(world, pipeline, at)
    return pipeline


def _new_job(world: World, pipeline: Pipeline, spec: JobSpec, at: float, attempt: int = 1) -> Job:
    job = Job(
        id=world.next_id("job"), pipeline_id=pipeline.id, spec=spec, created_at=at, attempt=attempt
    )
    job.tree_path = _matching_path(world, pipeline, spec)
    job.ref_fails = spec.fails_if_ref is not None and fnmatchcase(pipeline.ref, spec.fails_if_ref)
    pipeline.jobs.append(job)
    world.jobs[job.id] = job
    return job


def _matching_path(world: World, pipeline: Pipeline, spec: JobSpec) -> str | None:
    """The first path of the tested tree matching the job's ``fails_if_path``, if any.
    The tree is read once per commit (the repository caches it)."""
    if spec.fails_if_path is None:
        return None
    paths = world.projects[pipeline.project_id].repo.paths(pipeline.sha)
    return next((p for p in paths if fnmatchcase(p, spec.fails_if_path)), None)


def process(world: World, pipeline: Pipeline, t: float) -> None:
    """Move created jobs on where earlier stages allow it, then refresh the pipeline status."""
    _sync_bridges(world, pipeline, t)
    prior: list[tuple[str, bool]] = []
    latest = pipeline.latest_jobs()
    for stage in pipeline.spec.stages:
        stage_jobs = [job for job in latest if job.stage == stage]
        gate = composite(prior) or "success"
        for job in stage_jobs:
            if job.status != "created":
                continue
            if gate in ("success", "skipped"):
                _enqueue(world, pipeline, job, t)
            elif gate in ("failed", "canceled"):
                job.status = "skipped"
        prior.extend((job.effective_status, job.allow_failure) for job in stage_jobs)
    _refresh(world, pipeline, t)


def _enqueue(world: World, pipeline: Pipeline, job: Job, t: float) -> None:
    if job.spec.when == "manual":
        job.status = "manual"
    elif job.is_bridge:
        _trigger(world, pipeline, job, t)
    else:
        job.status, job.queued_at = "pending", t
        world.active.add(job.id)


def _trigger(world: World, pipeline: Pipeline, bridge: Job, t: float) -> None:
    if bridge.spec.trigger_project is not None:
        _trigger_project(world, bridge, bridge.spec.trigger_project, t)
        return
    project = world.projects[pipeline.project_id]
    child_spec = project.scenario.children.get(bridge.spec.trigger or "")
    bridge.queued_at = bridge.started_at = t
    bridge.status = "running"  # before the child exists: creating it re-processes this pipeline
    if child_spec is None:  # the scenario changed under a running pipeline
        bridge.status, bridge.finished_at = "failed", t
        return
    child = create_pipeline(
        world,
        project,
        child_spec,
        sha=pipeline.sha,
        ref=pipeline.ref,
        source="parent_pipeline",
        kind="child",
        at=t,
        queue_delay=pipeline.queue_delay,
        parent_job=bridge,
    )
    bridge.downstream_id = child.id
    if bridge.spec.strategy != "depend":
        bridge.status, bridge.finished_at = "success", t
    elif child.status in _INHERITED:  # a child finished at birth (every job skipped)
        bridge.status, bridge.finished_at = _INHERITED[child.status], t


# Ci::Bridge#inherit_status_from_downstream! (app/models/ci/bridge.rb): a depend bridge
# takes only its child's end: success, canceled, and failed for a failed or a *skipped*
# child; while the child runs or waits (a manual job) the bridge stays running.
_INHERITED = {"success": "success", "canceled": "canceled", "failed": "failed", "skipped": "failed"}


def _trigger_project(world: World, bridge: Job, path: str, t: float) -> None:
    """A multi-project bridge (Ci::CreateDownstreamPipelineService): a pipeline of
    ``path``'s default branch, or the bridge fails with GitLab's reason."""
    bridge.queued_at = bridge.started_at = t
    bridge.status = "running"
    other = world.project_by_ref(path)
    head = other.repo.rev_parse(f"refs/heads/{other.default_branch}") if other else None
    if other is None or head is None:
        bridge.status, bridge.finished_at = "failed", t
        bridge.bridge_failure = "downstream_bridge_project_not_found"
        return
    child = create_pipeline(
        world, other, other.scenario.pipeline, sha=head, ref=other.default_branch,
        source="pipeline", kind="branch", at=t, queue_delay=other.scenario.queue_delay,
        parent_job=bridge,
    )  # fmt: skip
    bridge.downstream_id = child.id
    if bridge.spec.strategy != "depend":
        bridge.status, bridge.finished_at = "success", t
    elif child.status in _INHERITED:
        bridge.status, bridge.finished_at = _INHERITED[child.status], t


def _sync_bridges(world: World, pipeline: Pipeline, t: float) -> None:
    for bridge in pipeline.latest_jobs():
        if bridge.downstream_id is None or bridge.spec.strategy != "depend":
            continue
        child = world.pipelines[bridge.downstream_id]
        status = _INHERITED.get(child.status, "running")
        if status != bridge.status:
            bridge.status = status
            bridge.finished_at = t if status in COMPLETED else None


def _refresh(world: World, pipeline: Pipeline, t: float) -> None:
    latest = pipeline.latest_jobs()
    status = composite((job.effective_status, job.allow_failure) for job in latest) or "skipped"
    started = [job.started_at for job in latest if job.started_at is not None]
    pipeline.started_at = min(started) if started else None
    if status == pipeline.status:
        return
    pipeline.status, pipeline.updated_at = status, t
    finished = [job.finished_at for job in latest if job.finished_at is not None]
    pipeline.finished_at = max(finished, default=t) if status in COMPLETED else None
    if pipeline.parent_job_id is not None:
        parent = world.pipelines[world.jobs[pipeline.parent_job_id].pipeline_id]
        process(world, parent, t)
    if status in COMPLETED:
        for listener in list(world.listeners):
            listener(pipeline, t)


def _next_transition(world: World, job: Job) -> float | None:
    if job.status == "pending" and job.queued_at is not None:
        return job.queued_at + world.pipelines[job.pipeline_id].queue_delay
    if job.status == "running" and job.started_at is not None:
        return job.started_at + job.spec.duration
    return None


def _transition(world: World, job: Job, t: float) -> None:
    if job.status == "pending":
        job.status, job.started_at = "running", t
        return
    job.status = "failed" if job.will_fail else "success"
    job.finished_at = t
    world.active.discard(job.id)
    if job.status == "failed" and job.attempt <= job.spec.retry:
        _schedule_auto_retry(world, job, t)


def _schedule_auto_retry(world: World, job: Job, t: float) -> None:
    """GitLab's ``retry: N`` (Ci::Build, ``after_transition any => [:failed]``: the
    after-commit hook runs Ci::RetryJobService when ``auto_retry_allowed?``): the failed
    attempt stays listed as failed for a moment, then the next attempt appears and the
    old one is marked retried. Until then the pipeline keeps running."""
    job.retry_due = True
    delay = world.projects[world.pipelines[job.pipeline_id].project_id].scenario.auto_retry_delay

    def auto_retry(at: float) -> None:
        job.retry_due = False
        if not job.retried and job.status == "failed":
            retry_job(world, job, at)
        else:
            process(world, world.pipelines[job.pipeline_id], at)

    world.schedule(t + delay, auto_retry)


def advance(world: World, now: float) -> None:
    """Apply, in time order, everything due up to virtual time ``now``."""
    while True:
        due = {job_id: _next_transition(world, world.jobs[job_id]) for job_id in world.active}
        times = [t for t in due.values() if t is not None]
        next_job = min(times, default=None)
        next_action = world.scheduled[0].at if world.scheduled else None
        candidates = [t for t in (next_job, next_action) if t is not None and t <= now]
        if not candidates:
            break
        t = min(candidates)
        if next_action is not None and next_action == t:
            world.scheduled.pop(0).action(t)
            continue
        touched = {world.jobs[i].pipeline_id for i, when in due.items() if when == t}
        for job_id in [i for i, when in due.items() if when == t]:
            _transition(world, world.jobs[job_id], t)
        for pipeline_id in sorted(touched, reverse=True):
            process(world, world.pipelines[pipeline_id], t)
    world.now = max(world.now, now)


def _reset_skipped_after(pipeline: Pipeline, stage: str) -> None:
    later = pipeline.spec.stages[pipeline.spec.stages.index(stage) + 1 :]
    for job in pipeline.latest_jobs():
        if job.stage in later and job.status == "skipped":
            job.status = "created"


def _retry(world: World, job: Job, t: float) -> Job:
    if job.retried or job.status not in RETRYABLE:
        raise NotAllowed("Job is not retryable")
    pipeline = world.pipelines[job.pipeline_id]
    job.retried = True
    fresh = _new_job(world, pipeline, job.spec, t, attempt=job.attempt + 1)
    _reset_skipped_after(pipeline, job.stage)
    return fresh


def retry_job(world: World, job: Job, t: float) -> Job:
    """GitLab's job retry: a new job; the old one keeps its status and is marked retried."""
    fresh = _retry(world, job, t)
    process(world, world.pipelines[job.pipeline_id], t)
    return fresh


def retry_pipeline(world: World, pipeline: Pipeline, t: float) -> None:
    """Retry every failed or canceled job of the pipeline."""
    for job in pipeline.latest_jobs():
        if job.status in ("failed", "canceled"):
            _retry(world, job, t)
    process(world, pipeline, t)


def play_job(world: World, job: Job, t: float) -> None:
    """Start a manual job."""
    if job.status != "manual":
        raise NotAllowed("Unplayable Job")
    job.status, job.queued_at = "pending", t
    world.active.add(job.id)
    process(world, world.pipelines[job.pipeline_id], t)


def _cancel_jobs(world: World, pipeline: Pipeline, t: float) -> None:
    for job in pipeline.latest_jobs():
        if job.status in CANCELABLE or (job.is_bridge and job.status not in COMPLETED):
            job.status = "canceled"
            job.finished_at = t if job.started_at is not None else None
            world.active.discard(job.id)
            if job.downstream_id is not None:
                _cancel_jobs(world, world.pipelines[job.downstream_id], t)
                _refresh(world, world.pipelines[job.downstream_id], t)


def cancel_pipeline(world: World, pipeline: Pipeline, t: float) -> None:
    _cancel_jobs(world, pipeline, t)
    process(world, pipeline, t)


def cancel_job(world: World, job: Job, t: float) -> None:
    if job.status in CANCELABLE:
        job.status = "canceled"
        job.finished_at = t if job.started_at is not None else None
        world.active.discard(job.id)
        process(world, world.pipelines[job.pipeline_id], t)
