"""What GitLab does around pipelines: pushes, merge requests, merged results, merging.

Every function runs with ``world.lock`` held and at virtual time ``t``.
"""

from __future__ import annotations

from collections.abc import Callable

from send_mergereq.sandbox.engine import create_pipeline
from send_mergereq.sandbox.gitrepo import ZERO_SHA
from send_mergereq.sandbox.protocol import ApiError
from send_mergereq.sandbox.scenarios import EventSpec, JobSpec, PipelineSpec
from send_mergereq.sandbox.state import USER_ID, MergeRequest, Pipeline, Project, World
from send_mergereq.sandbox.status import ACTIVE

DECOY_SPEC = PipelineSpec(
    stages=("test",), jobs=(JobSpec(name="quick-check", stage="test", duration=30),)
)


def merge_message(project: Project, mr: MergeRequest) -> str:
    """GitLab's default merge commit message."""
    return (
        f"Merge branch '{mr.source_branch}' into '{mr.target_branch}'\n\n{mr.title}\n\n"
        f"See merge request {project.path}!{mr.iid}\n"
    )


def open_merge_requests(world: World, project: Project) -> list[MergeRequest]:
    return [m for m in world.project_merge_requests(project) if m.state == "opened"]


def refresh_merge_request(project: Project, mr: MergeRequest) -> None:
    """Recompute what depends on both branches: diff refs, conflicts."""
    repo = project.repo
    target = repo.rev_parse(f"refs/heads/{mr.target_branch}")
    mr.start_sha = target
    if mr.sha is None or target is None:
        mr.base_sha, mr.has_conflicts = None, False
        return
    mr.base_sha = repo.merge_base(target, mr.sha)
    mr.has_conflicts = mr.base_sha is None or repo.merge_tree(target, mr.sha) is None


def on_push(world: World, project: Project, changes: dict[str, tuple[str, str]], t: float) -> None:
    """React to ref updates (``ref -> (old, new)``, zeros for none) as GitLab does."""
    for ref, (old, new) in sorted(changes.items()):
        if not ref.startswith("refs/heads/") or new == ZERO_SHA:
            continue
        branch = ref.removeprefix("refs/heads/")
        _branch_pipelines(world, project, branch, (old, new), t)
        for mr in open_merge_requests(world, project):
            if mr.source_branch == branch:
                mr.sha, mr.updated_at = new, t
                project.repo.update_ref(f"refs/merge-requests/{mr.iid}/head", new)
                refresh_merge_request(project, mr)
                schedule_mr_pipeline(world, project, mr, t)
            elif mr.target_branch == branch:
                refresh_merge_request(project, mr)


def _branch_pipelines(
    world: World, project: Project, branch: str, shas: tuple[str, str], t: float
) -> None:
    old, new = shas
    wanted = project.wants_branch_pipelines()
    decoy = not wanted and "branch" in project.scenario.decoys
    if wanted or (decoy and branch != project.default_branch):
        spec = DECOY_SPEC if decoy else project.scenario.pipeline
        pipeline = create_pipeline(
            world,
            project,
            spec,
            sha=new,
            ref=branch,
            source="push",
            kind="branch",
            at=t,
            queue_delay=project.scenario.queue_delay,
            before_sha=old,
        )
        pipeline.decoy = decoy
        if not decoy:  # a project gating on branch pipelines sees the scenario's events too
            _arm_events(world, project, t)


def schedule_mr_pipeline(world: World, project: Project, mr: MergeRequest, t: float) -> None:
    """The MR pipeline for the current head, after the scenario's delay and never within
    the request that caused it: GitLab creates it in a worker
    (app/services/merge_requests/create_pipeline_service.rb, ``execute_async``)."""
    if "stale_mr" in project.scenario.decoys and mr.sha is not None:
        _stale_decoy(world, project, mr, t)
    delay = max(0.0, project.scenario.mr_pipeline_delay)
    sha = mr.sha
    if sha is None:
        return
    world.schedule(t + delay, lambda at: _late_pipeline(world, project, mr, at, sha))


def _prepare(world: World, project: Project, mr: MergeRequest, t: float) -> None:
    """GitLab's ``MergeRequests::AfterCreateService`` (a worker): the MR is prepared, and
    its pipeline is asked for."""
    mr.prepared_at = t
    if mr.state == "opened":
        schedule_mr_pipeline(world, project, mr, t)


def _late_pipeline(world: World, project: Project, mr: MergeRequest, t: float, sha: str) -> None:
    if mr.state == "opened" and mr.sha == sha:
        create_mr_pipeline(world, project, mr, t, sha)


def _stale_decoy(world: World, project: Project, mr: MergeRequest, t: float) -> None:
    parent = project.repo.rev_parse(f"{mr.sha}^")
    if parent is None:
        return
    pipeline = create_pipeline(
        world,
        project,
        DECOY_SPEC,
        sha=parent,
        ref=f"refs/merge-requests/{mr.iid}/head",
        source="merge_request_event",
        kind="detached",
        at=t,
        queue_delay=project.scenario.queue_delay,
        merge_request_iid=mr.iid,
    )
    pipeline.source_sha, pipeline.decoy = parent, True


def create_mr_pipeline(
    world: World, project: Project, mr: MergeRequest, t: float, source_sha: str
) -> Pipeline:
    """A merged results pipeline (a real merge commit at ``refs/merge-requests/IID/merge``)
    where the project has them and the branches merge cleanly, else a detached one."""
    merge_sha = _build_merge_ref(world, project, mr, t, source_sha)
    kind = "merged_result" if merge_sha else "detached"
    pipeline = create_pipeline(
        world,
        project,
        project.scenario.pipeline,
        sha=merge_sha or source_sha,
        ref=f"refs/merge-requests/{mr.iid}/{'merge' if merge_sha else 'head'}",
        source="merge_request_event",
        kind=kind,
        at=t,
        queue_delay=project.scenario.queue_delay,
        merge_request_iid=mr.iid,
    )
    pipeline.source_sha = source_sha
    _arm_events(world, project, t)
    return pipeline


def _build_merge_ref(
    world: World, project: Project, mr: MergeRequest, t: float, source_sha: str
) -> str | None:
    if not project.merge_pipelines_enabled:
        return None
    repo = project.repo
    target = repo.rev_parse(f"refs/heads/{mr.target_branch}")
    if target is None:
        return None
    merge = repo.merge_commit(target, source_sha, merge_message(project, mr), world.clock.wall(t))
    if merge is None:
        mr.has_conflicts = True
        return None
    repo.update_ref(f"refs/merge-requests/{mr.iid}/merge", merge)
    return merge


def _arm_events(world: World, project: Project, t: float) -> None:
    if project.events_armed:
        return
    project.events_armed = True
    for event in project.scenario.events:
        world.schedule(t + event.at, _firing(world, project, event))


def _firing(world: World, project: Project, event: EventSpec) -> Callable[[float], None]:
    def fire(t: float) -> None:
        if event.action == "move_target":
            move_target(world, project, t, event.message)

    return fire


def move_target(world: World, project: Project, t: float, message: str) -> str | None:
    """A new commit lands on the default branch (someone else merged something)."""
    ref = f"refs/heads/{project.default_branch}"
    head = project.repo.rev_parse(ref)
    if head is None:
        return None
    count = sum(1 for p in world.project_pipelines(project)) + int(t)
    new = project.repo.commit_file(
        head,
        "UPSTREAM",
        f"upstream change at virtual second {count}\n",
        message + "\n",
        world.clock.wall(t),
    )
    project.repo.update_ref(ref, new)
    on_push(world, project, {ref: (head, new)}, t)
    return new


def head_pipeline(world: World, project: Project, mr: MergeRequest) -> Pipeline | None:
    """GitLab's head pipeline: the newest pipeline for the MR's source head, a branch
    pipeline for the same sha included (so a branch decoy is the head until the MR
    pipeline comes, as on GitLab)."""
    candidates = [
        p
        for p in world.project_pipelines(project)
        if (p.merge_request_iid == mr.iid and p.source_sha == mr.sha)
        or (p.kind == "branch" and p.ref == mr.source_branch and p.sha == mr.sha)
    ]
    return max(candidates, key=lambda p: p.id, default=None)


def detailed_merge_status(world: World, project: Project, mr: MergeRequest) -> str:
    if mr.state != "opened":
        return "not_open"
    if (
        mr.prepared_at is None
    ):  # app/services/merge_requests/mergeability/detailed_merge_status_service.rb
        return "preparing"
    if mr.draft:
        return "draft_status"
    if mr.has_conflicts:
        return "conflict"
    if _needs_rebase(project, mr):
        return "need_rebase"
    return _ci_status(world, project, mr)


def merge_status(mr: MergeRequest) -> str:
    """The MR's ``merge_status``: git conflicts only (``MergeRequest#public_merge_status``,
    a preparing MR says ``checking``); CI lives in ``detailed_merge_status``."""
    if mr.state == "opened" and mr.prepared_at is None:
        return "checking"
    return "cannot_be_merged" if mr.has_conflicts else "can_be_merged"


def metrics_pipeline(world: World, project: Project, mr: MergeRequest) -> Pipeline | None:
    """``merge_request.metrics.pipeline`` (lib/api/entities/merge_request_basic.rb): null
    until one of the MR's pipelines runs. app/workers/pipeline_metrics_worker.rb writes it
    on a pipeline's own transitions (to running, to success) for the MRs it is the head
    pipeline of then: a branch pipeline that started before the MR existed counts only
    once it finishes."""
    head = head_pipeline(world, project, mr)

    def seen_by_mr(p: Pipeline) -> bool:
        moved = [t for t in (p.started_at, p.finished_at) if t is not None]
        return any(t >= mr.created_at for t in moved)

    started = [
        p
        for p in world.project_pipelines(project)
        if p.started_at is not None and (p.merge_request_iid == mr.iid or p is head)
        if seen_by_mr(p)
    ]
    return max(started, key=lambda p: p.id, default=None)


def mr_pipelines(world: World, project: Project, mr: MergeRequest) -> list[Pipeline]:
    """``Ci::PipelinesForMergeRequestFinder#all``: the MR's pipelines and the branch
    pipelines of its commits (those of ``POST /pipeline`` included), newest first."""
    shas: set[str] = set()
    target = project.repo.rev_parse(f"refs/heads/{mr.target_branch}")
    if mr.sha is not None:
        shown = project.repo.git(
            "rev-list", "--max-count=100", mr.sha, *([f"^{target}"] if target else []), ok=(0, 128)
        )
        shas = set(shown.split())
    found = [
        p
        for p in world.project_pipelines(project)
        if p.merge_request_iid == mr.iid
        or (p.kind == "branch" and p.ref == mr.source_branch and p.sha in shas)
    ]
    return sorted(found, key=lambda p: -p.id)


def _ci_status(world: World, project: Project, mr: MergeRequest) -> str:
    if not project.only_allow_merge_if_pipeline_succeeds:
        return "mergeable"
    head = head_pipeline(world, project, mr)
    if head is not None and head.status in ACTIVE - {"manual"}:
        return "ci_still_running"
    if head is None or head.status != "success":
        return "ci_must_pass"
    return "mergeable"


def _needs_rebase(project: Project, mr: MergeRequest) -> bool:
    if project.merge_method not in ("ff", "rebase_merge") or mr.sha is None:
        return False
    target = project.repo.rev_parse(f"refs/heads/{mr.target_branch}")
    return target is not None and not project.repo.is_ancestor(target, mr.sha)


def accept(
    world: World, project: Project, mr: MergeRequest, params: dict[str, object], t: float
) -> None:
    """``PUT …/merge`` with GitLab's checks, in GitLab's order (405, 422, 409)."""
    if mr.state != "opened":
        raise ApiError(405, {"message": "405 Method Not Allowed"})
    auto = bool(params.get("auto_merge") or params.get("merge_when_pipeline_succeeds"))
    status = detailed_merge_status(world, project, mr)
    immediately = status == "mergeable"
    automatically = auto and status in ("ci_still_running", "mergeable")
    if status in ("conflict", "need_rebase"):  # 17.x lib/api/merge_requests.rb: git state
        raise ApiError(422, {"message": "Branch cannot be merged"})
    if not immediately and not automatically:
        raise ApiError(405, {"message": "405 Method Not Allowed"})
    sha = params.get("sha")
    if sha and sha != mr.sha:
        raise ApiError(409, {"message": f"SHA does not match HEAD of source branch: {mr.sha}"})
    if params.get("should_remove_source_branch") is not None:
        mr.should_remove_source_branch = bool(params["should_remove_source_branch"])
    if automatically and not immediately:
        mr.merge_when_pipeline_succeeds, mr.updated_at = True, t
        return
    merge(world, project, mr, t, str(params.get("merge_commit_message") or ""))


def merge(world: World, project: Project, mr: MergeRequest, t: float, message: str = "") -> None:
    """Land the MR: a merge commit, or a fast-forward for ``merge_method = "ff"``."""
    repo = project.repo
    ref = f"refs/heads/{mr.target_branch}"
    target = repo.rev_parse(ref)
    if mr.sha is None or target is None:
        raise ApiError(422, {"message": "Branch cannot be merged"})
    if project.merge_method == "ff":
        new, mr.merge_commit_sha = mr.sha, None
    else:
        merged = repo.merge_commit(
            target, mr.sha, message or merge_message(project, mr), world.clock.wall(t)
        )
        if merged is None:
            raise ApiError(422, {"message": "Branch cannot be merged"})
        new = mr.merge_commit_sha = merged
    repo.update_ref(ref, new)
    mr.state, mr.merged_at, mr.updated_at = "merged", t, t
    mr.merge_when_pipeline_succeeds = False
    on_push(world, project, {ref: (target, new)}, t)
    if mr.should_remove_source_branch or mr.force_remove_source_branch:
        repo.delete_ref(f"refs/heads/{mr.source_branch}")


def auto_merge_listener(world: World) -> None:
    """Merge MRs set to merge when their head pipeline succeeds; drop the wish on failure."""

    def listener(pipeline: Pipeline, t: float) -> None:
        project = world.projects[pipeline.project_id]
        if pipeline.merge_request_iid is None:
            return
        mr = world.merge_request(project, pipeline.merge_request_iid)
        if mr is None or not mr.merge_when_pipeline_succeeds or mr.state != "opened":
            return
        if head_pipeline(world, project, mr) is not pipeline:
            return
        mergeable = detailed_merge_status(world, project, mr) == "mergeable"
        if pipeline.status == "success" and mergeable:
            merge(world, project, mr, t)
        else:
            mr.merge_when_pipeline_succeeds = False

    world.listeners.append(listener)


def create_merge_request(
    world: World, project: Project, params: dict[str, object], t: float
) -> MergeRequest:
    source, target = str(params["source_branch"]), str(params["target_branch"])
    if source == target:
        same = "You can't use same project/branch for source and target"
        raise ApiError(409, {"message": [same]})
    for other in open_merge_requests(world, project):
        if other.source_branch == source and other.target_branch == target:
            message = "Another open merge request already exists for this source branch"
            raise ApiError(409, {"message": [f"{message}: !{other.iid}"]})
    head = project.repo.rev_parse(f"refs/heads/{source}")
    if head is None:
        raise ApiError(422, {"message": [f'Source branch "{source}" does not exist']})
    if project.repo.rev_parse(f"refs/heads/{target}") is None:
        raise ApiError(422, {"message": [f'Target branch "{target}" does not exist']})
    mr = MergeRequest(
        id=world.next_id("merge_request"),
        iid=next(project.mr_iids),
        project_id=project.id,
        title=str(params["title"]),
        description=str(params.get("description") or ""),
        source_branch=source,
        target_branch=target,
        author_id=USER_ID,
        created_at=t,
        updated_at=t,
        sha=head,
    )
    world.merge_requests[mr.id] = mr
    project.repo.update_ref(f"refs/merge-requests/{mr.iid}/head", head)
    refresh_merge_request(project, mr)
    world.schedule(t, lambda at: _prepare(world, project, mr, at))
    return mr
