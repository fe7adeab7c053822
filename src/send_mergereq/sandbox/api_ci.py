"""REST: pipelines, jobs, bridges, logs, retry, play, cancel."""

from __future__ import annotations

from datetime import datetime

from send_mergereq.sandbox.api_projects import listing
from send_mergereq.sandbox.engine import (
    NotAllowed,
    cancel_job,
    cancel_pipeline,
    create_pipeline,
    play_job,
    retry_job,
    retry_pipeline,
)
from send_mergereq.sandbox.protocol import (
    ApiError,
    Request,
    Response,
    bad_request,
    forbidden,
    invalid,
    missing,
    not_found,
)
from send_mergereq.sandbox.router import Ctx, route
from send_mergereq.sandbox.state import Job, Pipeline, Project
from send_mergereq.sandbox.trace import render_trace

JOB_STATUSES = (
    "created",
    "waiting_for_resource",
    "preparing",
    "pending",
    "running",
    "success",
    "failed",
    "canceling",
    "canceled",
    "skipped",
    "manual",
    "scheduled",
)
PIPELINE_SCOPES = ("running", "pending", "finished", "branches", "tags")
PIPELINE_ORDER = ("id", "status", "ref", "updated_at", "user_id")


def _pipeline(ctx: Ctx, project: Project, pipeline_id: str) -> Pipeline:
    pipeline = ctx.world.pipelines.get(int(pipeline_id))
    if pipeline is None or pipeline.project_id != project.id:
        raise not_found()
    return pipeline


def _job(ctx: Ctx, req: Request, *, builds_only: bool) -> Job:
    project = ctx.project(req)
    job = ctx.world.jobs.get(int(req.groups[1]))
    if job is None or ctx.world.pipelines[job.pipeline_id].project_id != project.id:
        raise not_found()
    if builds_only and job.is_bridge:
        raise not_found()
    return job


def _time_param(req: Request, name: str) -> float | None:
    value = req.get(name)
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise invalid(name) from None


# GitLab's Enums::Ci::Pipeline.sources: lib/api/ci/pipelines.rb takes ``source`` only among
# them (``values: ::Ci::Pipeline.sources.keys``); another is Grape's 400
PIPELINE_SOURCES = frozenset({
    "unknown", "push", "web", "trigger", "schedule", "api", "external", "pipeline", "chat",
    "webide", "merge_request_event", "external_pull_request_event", "parent_pipeline",
    "ondemand_dast_scan", "ondemand_dast_validation", "security_orchestration_policy",
    "container_registry_push", "duo_workflow", "pipeline_execution_policy_schedule",
})  # fmt: skip


def _filter_pipelines(ctx: Ctx, req: Request, pipelines: list[Pipeline]) -> list[Pipeline]:
    source = req.get("source")
    if source is not None and source not in PIPELINE_SOURCES:
        raise invalid("source")
    if source != "parent_pipeline":
        pipelines = [p for p in pipelines if p.source != "parent_pipeline"]
    for key in ("ref", "sha", "source", "status"):
        if req.get(key):
            pipelines = [p for p in pipelines if getattr(p, key) == req.get(key)]
    wall = ctx.world.clock.wall
    for key, attr, after in (
        ("updated_after", "updated_at", True),
        ("updated_before", "updated_at", False),
        ("created_after", "created_at", True),
        ("created_before", "created_at", False),
    ):
        bound = _time_param(req, key)
        if bound is not None:
            pipelines = [p for p in pipelines if (wall(getattr(p, attr)) > bound) == after]
    return _scope(req, pipelines)


def _scope(req: Request, pipelines: list[Pipeline]) -> list[Pipeline]:
    scope = req.get("scope")
    if scope is None:
        return pipelines
    if scope not in PIPELINE_SCOPES:
        raise invalid("scope")
    if scope in ("running", "pending"):
        return [p for p in pipelines if p.status == scope]
    if scope == "finished":
        return [p for p in pipelines if p.status in ("success", "failed", "canceled", "skipped")]
    if scope == "tags":
        return []
    latest: dict[str, Pipeline] = {}
    for pipeline in sorted(pipelines, key=lambda p: p.id):
        if not pipeline.ref.startswith("refs/"):
            latest[pipeline.ref] = pipeline
    return list(latest.values())


@route("GET", "/projects/:project/pipelines")
def list_pipelines(ctx: Ctx, req: Request) -> Response:
    project = ctx.project(req)
    order = req.get("order_by", "id")
    if order not in PIPELINE_ORDER:
        raise invalid("order_by")
    sort = req.get("sort", "desc")
    if sort not in ("asc", "desc"):
        raise invalid("sort")
    pipelines = _filter_pipelines(ctx, req, ctx.world.project_pipelines(project))
    key = "id" if order == "user_id" else order
    pipelines.sort(key=lambda p: (getattr(p, key), p.id), reverse=sort == "desc")
    return listing(req, pipelines, ctx.render.pipeline_basic)


@route("GET", "/projects/:project/pipelines/(\\d+)")
def get_pipeline(ctx: Ctx, req: Request) -> Response:
    return Response(200, ctx.render.pipeline(_pipeline(ctx, ctx.project(req), req.groups[1])))


@route("POST", "/projects/:project/pipelines/(\\d+)/retry")
def post_pipeline_retry(ctx: Ctx, req: Request) -> Response:
    pipeline = _pipeline(ctx, ctx.project(req), req.groups[1])
    retry_pipeline(ctx.world, pipeline, ctx.now)
    return Response(201, ctx.render.pipeline(pipeline))


@route("POST", "/projects/:project/pipelines/(\\d+)/cancel")
def post_pipeline_cancel(ctx: Ctx, req: Request) -> Response:
    pipeline = _pipeline(ctx, ctx.project(req), req.groups[1])
    cancel_pipeline(ctx.world, pipeline, ctx.now)
    return Response(200, ctx.render.pipeline(pipeline))


def _scoped(req: Request, jobs: list[Job]) -> list[Job]:
    scope = req.list_param("scope")
    if any(s not in JOB_STATUSES for s in scope):
        raise invalid("scope")
    return [j for j in jobs if j.status in scope] if scope else jobs


def _pipeline_jobs(ctx: Ctx, req: Request, *, bridges: bool) -> Response:
    pipeline = _pipeline(ctx, ctx.project(req), req.groups[1])
    jobs = pipeline.jobs if req.flag("include_retried") else pipeline.latest_jobs()
    jobs = _scoped(req, [j for j in jobs if j.is_bridge == bridges])
    jobs.sort(key=lambda j: -j.id)
    return listing(req, jobs, ctx.render.job)


@route("GET", "/projects/:project/pipelines/(\\d+)/jobs")
def list_pipeline_jobs(ctx: Ctx, req: Request) -> Response:
    return _pipeline_jobs(ctx, req, bridges=False)


@route("GET", "/projects/:project/pipelines/(\\d+)/bridges")
def list_pipeline_bridges(ctx: Ctx, req: Request) -> Response:
    return _pipeline_jobs(ctx, req, bridges=True)


@route("GET", "/projects/:project/jobs")
def list_project_jobs(ctx: Ctx, req: Request) -> Response:
    project = ctx.project(req)
    jobs = [j for p in ctx.world.project_pipelines(project) for j in p.jobs if not j.is_bridge]
    jobs = _scoped(req, jobs)
    jobs.sort(key=lambda j: -j.id)
    return listing(req, jobs, ctx.render.job, count=False)


@route("GET", "/projects/:project/jobs/(\\d+)")
def get_job(ctx: Ctx, req: Request) -> Response:
    return Response(200, ctx.render.job(_job(ctx, req, builds_only=True)))


@route("GET", "/projects/:project/jobs/(\\d+)/trace")
def get_trace(ctx: Ctx, req: Request) -> Response:
    job = _job(ctx, req, builds_only=True)
    text = render_trace(job, ctx.now, ctx.world.clock.epoch)
    headers = {"Content-Disposition": f'infile; filename="{job.id}.log"'}
    return Response(200, text, headers, content_type="text/plain")


@route("POST", "/projects/:project/jobs/(\\d+)/retry")
def post_job_retry(ctx: Ctx, req: Request) -> Response:
    job = _job(ctx, req, builds_only=False)
    try:
        fresh = retry_job(ctx.world, job, ctx.now)
    except NotAllowed as exc:
        raise forbidden(str(exc)) from None
    return Response(201, ctx.render.job(fresh))


@route("POST", "/projects/:project/jobs/(\\d+)/play")
def post_job_play(ctx: Ctx, req: Request) -> Response:
    job = _job(ctx, req, builds_only=False)
    try:
        play_job(ctx.world, job, ctx.now)
    except NotAllowed as exc:
        raise bad_request(str(exc)) from None
    return Response(200, ctx.render.job(job))


@route("POST", "/projects/:project/jobs/(\\d+)/cancel")
def post_job_cancel(ctx: Ctx, req: Request) -> Response:
    job = _job(ctx, req, builds_only=True)
    cancel_job(ctx.world, job, ctx.now)
    return Response(201, ctx.render.job(job))


@route("POST", "/projects/:project/pipeline")
def post_pipeline(ctx: Ctx, req: Request) -> Response:
    """Run a pipeline for a branch (``source`` is ``api``, as GitLab records it)."""
    project = ctx.project(req)
    ref = req.get("ref")
    if not ref:
        raise missing("ref")
    sha = project.repo.rev_parse(f"refs/heads/{ref}")
    if sha is None:
        raise ApiError(400, {"message": {"base": ["Reference not found"]}})
    pipeline = create_pipeline(
        ctx.world,
        project,
        project.scenario.pipeline,
        sha=sha,
        ref=str(ref),
        source="api",
        kind="branch",
        at=ctx.now,
        queue_delay=project.scenario.queue_delay,
    )
    return Response(201, ctx.render.pipeline(pipeline))
