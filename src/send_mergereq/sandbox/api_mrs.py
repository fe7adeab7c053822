"""REST: merge requests, their pipelines, and merging them."""

from __future__ import annotations

from send_mergereq.sandbox.api_projects import listing
from send_mergereq.sandbox.protocol import ApiError, Request, Response, invalid, missing
from send_mergereq.sandbox.router import Ctx, route
from send_mergereq.sandbox.state import MergeRequest
from send_mergereq.sandbox.workflows import (
    accept,
    create_merge_request,
    create_mr_pipeline,
    mr_pipelines,
    open_merge_requests,
    refresh_merge_request,
    schedule_mr_pipeline,
)

MR_STATES = ("opened", "closed", "locked", "merged", "all")
_UPDATABLE = (
    "title",
    "description",
    "target_branch",
    "state_event",
    "labels",
    "remove_source_branch",
    "squash",
    "add_labels",
    "remove_labels",
    "assignee_id",
    "assignee_ids",
    "reviewer_ids",
    "milestone_id",
    "discussion_locked",
    "allow_collaboration",
)


@route("GET", "/projects/:project/merge_requests")
def list_merge_requests(ctx: Ctx, req: Request) -> Response:
    project = ctx.project(req)
    state = req.get("state", "all")
    if state not in MR_STATES:
        raise invalid("state")
    mrs = ctx.world.project_merge_requests(project)
    for key in ("source_branch", "target_branch"):
        if req.get(key):
            mrs = [m for m in mrs if getattr(m, key) == req.get(key)]
    if state != "all":
        mrs = [m for m in mrs if m.state == state]
    iids = req.list_param("iids")
    if iids:
        mrs = [m for m in mrs if str(m.iid) in iids]
    order = req.get("order_by", "created_at")
    if order not in ("created_at", "updated_at", "title", "merged_at"):
        raise invalid("order_by")
    mrs.sort(key=lambda m: (getattr(m, order) or 0, m.id), reverse=req.get("sort", "desc") != "asc")
    return listing(req, mrs, ctx.render.merge_request_basic)


@route("POST", "/projects/:project/merge_requests")
def post_merge_request(ctx: Ctx, req: Request) -> Response:
    project = ctx.project(req)
    absent = [n for n in ("source_branch", "target_branch", "title") if not req.get(n)]
    if absent:
        raise missing(*absent)
    mr = create_merge_request(ctx.world, project, dict(req.params), ctx.now)
    _apply_options(req, mr)
    return Response(201, ctx.render.merge_request(mr))


def _apply_options(req: Request, mr: MergeRequest) -> None:
    if req.flag("remove_source_branch") is not None:
        mr.force_remove_source_branch = bool(req.flag("remove_source_branch"))
    if req.flag("squash") is not None:
        mr.squash = bool(req.flag("squash"))
    if req.get("labels") is not None:
        labels = req.get("labels")
        names = labels if isinstance(labels, list) else str(labels).split(",")
        mr.labels = [str(n).strip() for n in names if str(n).strip()]
    for key in ("assignee_ids", "reviewer_ids"):
        if req.get(key) is not None or req.get(f"{key}[]") is not None:
            setattr(mr, key, [int(i) for i in req.list_param(key) if str(i).isdigit()])


@route("GET", "/projects/:project/merge_requests/(\\d+)")
def get_merge_request(ctx: Ctx, req: Request) -> Response:
    _, mr = ctx.merge_request(req)
    diverged = bool(req.flag("include_diverged_commits_count"))
    rebase = bool(req.flag("include_rebase_in_progress"))
    return Response(200, ctx.render.merge_request(mr, diverged=diverged, rebase=rebase))


@route("PUT", "/projects/:project/merge_requests/(\\d+)")
def put_merge_request(ctx: Ctx, req: Request) -> Response:
    project, mr = ctx.merge_request(req)
    if not any(req.get(key) is not None for key in _UPDATABLE):
        names = ", ".join(_UPDATABLE)
        raise ApiError(
            400, {"error": f"{names} are missing, at least one parameter must be provided"}
        )
    event = req.get("state_event")
    if event == "close" and mr.state == "opened":
        mr.state, mr.closed_at = "closed", ctx.now
    elif event == "reopen" and mr.state == "closed":
        if any(
            m.source_branch == mr.source_branch and m.target_branch == mr.target_branch
            for m in open_merge_requests(ctx.world, project)
        ):
            raise ApiError(
                409,
                {"message": ["Another open merge request already exists for this source branch"]},
            )
        mr.state, mr.closed_at = "opened", None
    for key in ("title", "description", "target_branch"):
        if req.get(key) is not None:
            setattr(mr, key, str(req.get(key)))
    _apply_options(req, mr)
    mr.updated_at = ctx.now
    refresh_merge_request(project, mr)
    return Response(200, ctx.render.merge_request(mr))


@route("PUT", "/projects/:project/merge_requests/(\\d+)/merge")
def put_merge(ctx: Ctx, req: Request) -> Response:
    project, mr = ctx.merge_request(req)
    params = {
        "sha": req.get("sha"),
        "merge_commit_message": req.get("merge_commit_message"),
        "auto_merge": req.flag("auto_merge"),
        "merge_when_pipeline_succeeds": req.flag("merge_when_pipeline_succeeds"),
        "should_remove_source_branch": req.flag("should_remove_source_branch"),
    }
    accept(ctx.world, project, mr, params, ctx.now)
    return Response(200, ctx.render.merge_request(mr))


@route("POST", "/projects/:project/merge_requests/(\\d+)/cancel_merge_when_pipeline_succeeds")
def cancel_auto_merge(ctx: Ctx, req: Request) -> Response:
    _, mr = ctx.merge_request(req)
    if mr.state == "closed":
        raise ApiError(406, {"message": "Can't cancel the automatic merge"})
    mr.merge_when_pipeline_succeeds = False
    return Response(201, ctx.render.merge_request(mr))


@route("GET", "/projects/:project/merge_requests/(\\d+)/pipelines")
def list_mr_pipelines(ctx: Ctx, req: Request) -> Response:
    project, mr = ctx.merge_request(req)
    pipelines = mr_pipelines(ctx.world, project, mr)
    return listing(req, pipelines, ctx.render.pipeline_basic)


@route("POST", "/projects/:project/merge_requests/(\\d+)/pipelines")
def post_mr_pipeline(ctx: Ctx, req: Request) -> Response:
    project, mr = ctx.merge_request(req)
    if mr.sha is None or mr.state != "opened":
        raise ApiError(400, {"message": "400 Bad request - Merge request is not open"})
    # lib/api/merge_requests.rb: 200 with the pipeline, or 202 when asked to be ``async``
    if req.flag("async"):
        schedule_mr_pipeline(ctx.world, project, mr, ctx.now)
        return Response(202, {})
    pipeline = create_mr_pipeline(ctx.world, project, mr, ctx.now, mr.sha)
    return Response(200, ctx.render.pipeline(pipeline))
