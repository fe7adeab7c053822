"""Merge trains, as GitLab Premium runs them (ee/app/models/merge_trains/car.rb,
ee/app/services/merge_trains/*, ee/lib/api/merge_trains.rb).

A merge request added to the train becomes a *car*; its train pipeline
(``refs/merge-requests/IID/train``) tests it merged onto the target and every car ahead
of it. The first car whose pipeline succeeds is merged (the target moves to the train
commit); a car whose pipeline fails or is canceled is dropped (the MR stays open, the
cars behind it are restarted on the new base). Every function runs with ``world.lock``
held and at virtual time ``t``.
"""

from __future__ import annotations

from send_mergereq.sandbox.engine import create_pipeline
from send_mergereq.sandbox.protocol import ApiError, bad_request, forbidden
from send_mergereq.sandbox.state import Car, MergeRequest, Pipeline, Project, World
from send_mergereq.sandbox.workflows import detailed_merge_status, merge_message, on_push

ACTIVE_CARS = frozenset({"idle", "fresh", "stale", "merging"})


def cars(world: World, project: Project, target: str | None = None) -> list[Car]:
    """The project's cars still on a train or merged by one (dropped ones are gone)."""
    return sorted(
        (c for c in world.cars.values() if c.project_id == project.id and c.status != "dropped"
         and (target is None or c.target_branch == target)),
        key=lambda c: c.id,
    )  # fmt: skip


def car_of(world: World, project: Project, mr: MergeRequest) -> Car | None:
    mine = [c for c in cars(world, project) if c.mr_iid == mr.iid]
    return mine[-1] if mine else None


def add(world: World, project: Project, mr: MergeRequest, sha: str | None, t: float) -> Car:
    """``POST /projects/:id/merge_trains/merge_requests/:iid``: 403 where the project has no
    merge trains, 409 when ``sha`` is not the source head, 400 when it cannot merge."""
    if not project.merge_trains_enabled:
        raise forbidden("Merge trains are not enabled")
    if mr.state != "opened":
        raise ApiError(405, {"message": "405 Method Not Allowed"})
    if sha and sha != mr.sha:
        raise ApiError(409, {"message": f"SHA does not match HEAD of source branch: {mr.sha}"})
    on_train = car_of(world, project, mr)
    if on_train is not None and on_train.status in ACTIVE_CARS:
        raise bad_request("The merge request is already on a merge train")
    if detailed_merge_status(world, project, mr) != "mergeable":
        raise bad_request("Failed to merge")
    car = Car(world.next_id("car"), project.id, mr.iid, mr.target_branch, t, t)
    world.cars[car.id] = car
    _start(world, project, car, t)
    return car


def _ahead(world: World, project: Project, car: Car) -> list[Car]:
    return [
        c for c in cars(world, project, car.target_branch)
        if c.id < car.id and c.status in ACTIVE_CARS
    ]  # fmt: skip


def _start(world: World, project: Project, car: Car, t: float) -> None:
    """A new train pipeline for ``car``: its MR merged onto the last car ahead's train
    commit, or onto the target when it is first."""
    mr = world.merge_request(project, car.mr_iid)
    assert mr is not None and mr.sha is not None
    repo = project.repo
    ahead = _ahead(world, project, car)
    base = repo.rev_parse(f"refs/merge-requests/{ahead[-1].mr_iid}/train") if ahead else None
    base = base or repo.rev_parse(f"refs/heads/{car.target_branch}")
    merged = repo.merge_commit(base or mr.sha, mr.sha, merge_message(project, mr),
                               world.clock.wall(t)) if base else None  # fmt: skip
    if merged is None:
        car.status, car.updated_at = "dropped", t  # a conflict: GitLab drops the car at once
        return
    repo.update_ref(f"refs/merge-requests/{mr.iid}/train", merged)
    pipeline = create_pipeline(
        world, project, project.scenario.pipeline, sha=merged,
        ref=f"refs/merge-requests/{mr.iid}/train", source="merge_request_event",
        kind="merged_result", at=t, queue_delay=project.scenario.queue_delay,
        merge_request_iid=mr.iid,
    )  # fmt: skip
    pipeline.source_sha = mr.sha
    car.pipeline_id, car.status, car.updated_at = pipeline.id, "fresh", t


def train_listener(world: World) -> None:
    """Merge the first car whose train pipeline succeeded; drop a car whose pipeline failed
    and restart the cars behind it."""

    def listener(pipeline: Pipeline, t: float) -> None:
        car = next((c for c in world.cars.values() if c.pipeline_id == pipeline.id), None)
        if car is None or car.status not in ACTIVE_CARS:
            return
        project = world.projects[car.project_id]
        if pipeline.status != "success":
            behind = [c for c in cars(world, project, car.target_branch)
                      if c.id > car.id and c.status in ACTIVE_CARS]  # fmt: skip
            car.status, car.updated_at = "dropped", t
            for other in behind:
                _start(world, project, other, t)
            return
        _merge_ready(world, project, car.target_branch, t)

    world.listeners.append(listener)


def _merge_ready(world: World, project: Project, target: str, t: float) -> None:
    """Merge cars from the front of the train while their pipelines have succeeded."""
    for car in [c for c in cars(world, project, target) if c.status in ACTIVE_CARS]:
        pipeline = world.pipelines.get(car.pipeline_id or -1)
        if pipeline is None or pipeline.status != "success":
            return
        mr = world.merge_request(project, car.mr_iid)
        assert mr is not None
        repo, ref = project.repo, f"refs/heads/{target}"
        old = repo.rev_parse(ref)
        repo.update_ref(ref, pipeline.sha)  # the target becomes the tested train commit
        mr.state, mr.merged_at, mr.updated_at = "merged", t, t
        mr.merge_commit_sha = pipeline.sha
        car.status, car.merged_at, car.updated_at = "merged", t, t
        if old is not None:
            on_push(world, project, {ref: (old, pipeline.sha)}, t)
