"""REST: merge trains (ee/lib/api/merge_trains.rb; GitLab Premium)."""

from __future__ import annotations

from typing import Any

from send_mergereq.sandbox.protocol import Request, Response, forbidden, not_found
from send_mergereq.sandbox.router import Ctx, route
from send_mergereq.sandbox.state import Car, Project
from send_mergereq.sandbox.trains import ACTIVE_CARS, add, car_of, cars


def _car(ctx: Ctx, project: Project, car: Car) -> dict[str, Any]:
    """ee/lib/api/entities/merge_train.rb: the car, its MR, its pipeline (basic)."""
    mr = ctx.world.merge_request(project, car.mr_iid)
    assert mr is not None
    pipeline = ctx.world.pipelines.get(car.pipeline_id or -1)
    full = ctx.render.merge_request_basic(mr)
    keys = ("id", "iid", "project_id", "title", "description", "state", "created_at",
            "updated_at", "web_url")  # fmt: skip
    end = car.merged_at if car.status in ("merged", "skip_merged") else None
    return {
        "id": car.id,
        "merge_request": {k: full.get(k) for k in keys},
        "user": ctx.render.user(),
        "pipeline": ctx.render.pipeline_basic(pipeline) if pipeline else None,
        "created_at": ctx.render.iso(car.created_at),
        "updated_at": ctx.render.iso(car.updated_at),
        "target_branch": car.target_branch,
        "status": car.status,
        "merged_at": ctx.render.iso(end),
        "duration": round(end - car.created_at) if end is not None else None,
    }


def _trains_project(ctx: Ctx, req: Request) -> Project:
    project = ctx.project(req)
    if not project.merge_trains_enabled:
        raise forbidden("Merge trains are not enabled")
    return project


@route("GET", "/projects/:project/merge_trains")
def list_cars(ctx: Ctx, req: Request) -> Response:
    project = _trains_project(ctx, req)
    scope = req.get("scope")
    found = [
        c for c in cars(ctx.world, project)
        if scope is None or (scope == "active") == (c.status in ACTIVE_CARS)
    ]  # fmt: skip
    return Response(200, [_car(ctx, project, c) for c in found])


@route("GET", "/projects/:project/merge_trains/merge_requests/(\\d+)")
def get_car(ctx: Ctx, req: Request) -> Response:
    project, mr = ctx.merge_request(req)
    _trains_project(ctx, req)
    car = car_of(ctx.world, project, mr)
    if car is None:
        raise not_found("Merge Train")
    return Response(200, _car(ctx, project, car))


@route("POST", "/projects/:project/merge_trains/merge_requests/(\\d+)")
def post_car(ctx: Ctx, req: Request) -> Response:
    project, mr = ctx.merge_request(req)
    sha = req.get("sha")
    add(ctx.world, project, mr, str(sha) if sha else None, ctx.now)
    train = [c for c in cars(ctx.world, project, mr.target_branch) if c.status in ACTIVE_CARS]
    return Response(201, [_car(ctx, project, c) for c in train])
