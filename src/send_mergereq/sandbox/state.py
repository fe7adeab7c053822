"""The sandbox's state: projects, merge requests, pipelines and jobs, behind one lock."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from send_mergereq.sandbox.clock import VirtualClock
from send_mergereq.sandbox.gitrepo import BareRepo
from send_mergereq.sandbox.scenarios import JobSpec, PipelineSpec, Scenario

USER_ID = 1
USER: dict[str, object] = {
    "id": USER_ID,
    "username": "maintainer",
    "name": "Sandbox Maintainer",
    "state": "active",
    "locked": False,
    "avatar_url": None,
}
# The project's other members, so that ``--assignee``/``--reviewer`` have someone to name.
MEMBERS: tuple[dict[str, object], ...] = tuple(
    {"id": uid, "username": username, "name": name, "state": "active", "locked": False,
     "avatar_url": None}
    for uid, username, name in (
        (2, "alice", "Alice Submaintainer"),
        (3, "bob.reviewer", "Bob Reviewer"),
        (4, "carol", "Carol Tagger"),
    )
)  # fmt: skip
USERS: tuple[dict[str, object], ...] = (USER, *MEMBERS)


# Distinct ranges make a client that mixes up ids (job for pipeline, id for iid) fail.
_ID_STARTS = {"project": 1, "merge_request": 501, "pipeline": 1001, "job": 7001}


@dataclass
class Project:
    id: int
    path: str
    repo: BareRepo
    scenario: Scenario
    created_at: float
    default_branch: str = "master"
    merge_pipelines_enabled: bool = True
    merge_trains_enabled: bool = False  # GitLab Premium: merge trains (needs merged results)
    merge_trains_skip_train_allowed: bool = False
    merge_method: str = "merge"
    only_allow_merge_if_pipeline_succeeds: bool = True
    branch_pipelines: bool = False
    visibility: str = "private"
    # the token's user is no member (lib/api/helpers.rb find_project!: 404 Project Not Found)
    token_can_read: bool = True
    protected: list[str] = field(default_factory=list)
    mr_iids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    pipeline_iids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    events_armed: bool = False

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def namespace(self) -> str:
        return self.path.rsplit("/", 1)[0] if "/" in self.path else ""

    def wants_branch_pipelines(self) -> bool:
        override = self.scenario.branch_pipelines
        return self.branch_pipelines if override is None else override


@dataclass
class MergeRequest:
    id: int
    iid: int
    project_id: int
    title: str
    description: str
    source_branch: str
    target_branch: str
    author_id: int
    created_at: float
    updated_at: float
    sha: str | None
    base_sha: str | None = None
    start_sha: str | None = None
    state: str = "opened"
    merge_commit_sha: str | None = None
    merged_at: float | None = None
    closed_at: float | None = None
    merge_when_pipeline_succeeds: bool = False
    should_remove_source_branch: bool | None = None  # asked for when merging
    force_remove_source_branch: bool = False  # asked for when opening
    squash: bool = False
    has_conflicts: bool = False
    labels: list[str] = field(default_factory=list)
    assignee_ids: list[int] = field(default_factory=list)
    reviewer_ids: list[int] = field(default_factory=list)
    merge_error: str | None = None
    prepared_at: float | None = None  # set by the asynchronous after-create step

    @property
    def draft(self) -> bool:
        return self.title.lower().startswith(("draft:", "[draft]", "(draft)", "wip:"))


@dataclass
class Job:
    id: int
    pipeline_id: int
    spec: JobSpec
    created_at: float
    attempt: int = 1
    status: str = "created"
    retried: bool = False
    queued_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    downstream_id: int | None = None
    tree_path: str | None = None  # the tested tree's path that matched spec.fails_if_path
    retry_due: bool = False  # failed, and GitLab retries it by itself (retry:) in a moment
    ref_fails: bool = False  # its pipeline's ref matches spec.fails_if_ref
    bridge_failure: str | None = None  # a bridge that failed without a downstream pipeline

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def stage(self) -> str:
        return self.spec.stage

    @property
    def allow_failure(self) -> bool:
        return self.spec.allow_failure

    @property
    def is_bridge(self) -> bool:
        return self.spec.trigger is not None or self.spec.trigger_project is not None

    @property
    def will_fail(self) -> bool:
        if self.spec.outcome == "failed" or self.tree_path is not None or self.ref_fails:
            return True
        if self.attempt <= self.spec.fails_first:
            return True
        return self.spec.flaky and self.attempt == 1

    @property
    def effective_status(self) -> str:
        """The status the pipeline's processing sees: a failed attempt GitLab is about to
        retry keeps its stage and pipeline running (the retry comes before processing)."""
        return "running" if self.retry_due and not self.retried else self.status


@dataclass
class Pipeline:
    id: int
    iid: int
    project_id: int
    sha: str
    ref: str
    source: str
    kind: str  # merged_result, detached, branch, child
    spec: PipelineSpec
    queue_delay: float
    created_at: float
    updated_at: float
    before_sha: str = "0" * 40
    merge_request_iid: int | None = None
    source_sha: str | None = None  # the source branch head an MR pipeline tests
    parent_job_id: int | None = None
    jobs: list[Job] = field(default_factory=list)
    status: str = "created"
    started_at: float | None = None
    finished_at: float | None = None
    decoy: bool = False

    def latest_jobs(self) -> list[Job]:
        return [job for job in self.jobs if not job.retried]


@dataclass
class Car:
    """A merge request on a merge train (ee/app/models/merge_trains/car.rb): its train
    pipeline tests it merged onto the target and every car ahead of it."""

    id: int
    project_id: int
    mr_iid: int
    target_branch: str
    created_at: float
    updated_at: float
    status: str = "idle"  # idle fresh stale merging merged skip_merged; dropped: gone (404)
    pipeline_id: int | None = None
    merged_at: float | None = None


@dataclass(order=True)
class Scheduled:
    """Something that happens at virtual time ``at`` (a late pipeline, the target moving)."""

    at: float
    seq: int
    action: Callable[[float], None] = field(compare=False)


class World:
    """Everything the sandbox knows; callers hold ``lock`` while reading or changing it."""

    def __init__(self, clock: VirtualClock) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.projects: dict[int, Project] = {}
        self.merge_requests: dict[int, MergeRequest] = {}
        self.pipelines: dict[int, Pipeline] = {}
        self.jobs: dict[int, Job] = {}
        self.scheduled: list[Scheduled] = []
        self.active: set[int] = set()  # ids of pending or running (non-bridge) jobs
        self.listeners: list[Callable[[Pipeline, float], None]] = []
        self.cars: dict[int, Car] = {}
        self._ids: dict[str, itertools.count[int]] = {}
        self.now = 0.0

    def next_id(self, kind: str) -> int:
        """A fresh id; each kind has its own range so that ids of different kinds differ."""
        start = _ID_STARTS.get(kind, 1)
        return next(self._ids.setdefault(kind, itertools.count(start)))

    def project_by_ref(self, ref: str) -> Project | None:
        """A project by numeric id or full path (already URL-decoded)."""
        if ref.isdigit():
            return self.projects.get(int(ref))
        return next((p for p in self.projects.values() if p.path == ref.strip("/")), None)

    def merge_request(self, project: Project, iid: int) -> MergeRequest | None:
        return next(
            (
                m
                for m in self.merge_requests.values()
                if m.project_id == project.id and m.iid == iid
            ),
            None,
        )

    def project_merge_requests(self, project: Project) -> list[MergeRequest]:
        return [m for m in self.merge_requests.values() if m.project_id == project.id]

    def project_pipelines(self, project: Project) -> list[Pipeline]:
        return [p for p in self.pipelines.values() if p.project_id == project.id]

    def schedule(self, at: float, action: Callable[[float], None]) -> None:
        self.scheduled.append(Scheduled(at, self.next_id("scheduled"), action))
        self.scheduled.sort()
