"""The :class:`Sandbox`: a GitLab-compatible server on loopback, for demos and tests."""

from __future__ import annotations

import secrets
import string
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType

from send_mergereq.sandbox.clock import VirtualClock
from send_mergereq.sandbox.engine import advance
from send_mergereq.sandbox.errors import ScenarioError
from send_mergereq.sandbox.faults import FaultInjector
from send_mergereq.sandbox.gitrepo import ZERO_SHA, BareRepo
from send_mergereq.sandbox.history import seed
from send_mergereq.sandbox.past import HistorySpec
from send_mergereq.sandbox.render import Renderer
from send_mergereq.sandbox.reqlog import RequestLog, RequestRecord
from send_mergereq.sandbox.scenarios import FAULT_ACTIONS, FaultSpec, Scenario, load_scenario
from send_mergereq.sandbox.server import SandboxServer
from send_mergereq.sandbox.state import Project, World
from send_mergereq.sandbox.trains import train_listener
from send_mergereq.sandbox.workflows import auto_merge_listener, move_target, on_push

MERGE_METHODS = ("merge", "rebase_merge", "ff")


@dataclass(frozen=True)
class ProjectInfo:
    """A sandbox project as a test sees it."""

    id: int
    path_with_namespace: str
    web_url: str
    http_url_to_repo: str
    default_branch: str
    repo_path: Path  # the bare repository on disk


def new_token() -> str:
    """A token shaped like a GitLab personal access token."""
    alphabet = string.ascii_letters + string.digits + "-_"
    return "glpat-" + "".join(secrets.choice(alphabet) for _ in range(20))


class Sandbox:
    """A GitLab-compatible server on ``127.0.0.1``, in a background thread.

    ``time_scale`` is virtual seconds per real second (0 freezes time: use :meth:`advance`).
    """

    def __init__(
        self,
        *,
        time_scale: float = 60.0,
        token: str | None = None,
        root: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token or new_token()
        self.clock = VirtualClock(time_scale)
        self.world = World(self.clock)
        auto_merge_listener(self.world)
        train_listener(self.world)
        self.faults = FaultInjector()
        self.log = RequestLog()
        self.errors: list[str] = []  # sandbox bugs met while answering (each answered 500)
        self._root = root
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._address = (host, port)
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Sandbox:
        if self._root is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="send-mergereq-sandbox-")
            self._root = Path(self._tmp.name)
        self.repo_root.mkdir(parents=True, exist_ok=True)
        self._server = SandboxServer(self._address, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="send-mergereq-sandbox",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()
        self._server = self._thread = self._tmp = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Run in the foreground until interrupted (for ``python -m send_mergereq.sandbox``)."""
        if self._thread is not None:
            self._thread.join()

    # -- addresses -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v4"

    @property
    def repo_root(self) -> Path:
        if self._root is None:
            raise RuntimeError("the sandbox is not started")
        return self._root / "repos"

    def renderer(self, base_url: str | None = None) -> Renderer:
        return Renderer(self.world, base_url or self.url)

    # -- projects --------------------------------------------------------------------------

    def create_project(
        self,
        path: str,
        *,
        scenario: str | Path | Scenario = "green",
        merge_pipelines_enabled: bool = True,
        merge_method: str = "merge",
        only_allow_merge_if_pipeline_succeeds: bool = True,
        branch_pipelines: bool = False,
        default_branch: str = "master",
        initialize_with_readme: bool = False,
        visibility: str = "private",
        mr_pipeline_delay: float | None = None,
    ) -> ProjectInfo:
        """A new project with a bare repository (empty unless ``initialize_with_readme``).
        ``mr_pipeline_delay`` (virtual seconds) overrides the scenario's: how long after a
        merge request is opened or pushed to its pipeline appears."""
        path = path.strip("/")
        if path.count("/") < 1 or path.endswith(".git"):
            raise ScenarioError(f"sandbox project path {path!r} must look like group/project")
        if merge_method not in MERGE_METHODS:
            raise ScenarioError(
                f"unknown merge method {merge_method!r}", hint=", ".join(MERGE_METHODS)
            )
        loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        if mr_pipeline_delay is not None:
            if mr_pipeline_delay < 0:
                raise ScenarioError(f"mr_pipeline_delay {mr_pipeline_delay} must not be negative")
            loaded = replace(loaded, mr_pipeline_delay=float(mr_pipeline_delay))
        with self.world.lock:
            if self.world.project_by_ref(path) is not None:
                raise ScenarioError(f"sandbox project {path!r} already exists")
            repo = BareRepo.create(self.repo_root / f"{path}.git", default_branch, [default_branch])
            project = Project(
                id=self.world.next_id("project"),
                path=path,
                repo=repo,
                scenario=loaded,
                created_at=self.world.now,
                default_branch=default_branch,
                merge_pipelines_enabled=merge_pipelines_enabled,
                merge_method=merge_method,
                only_allow_merge_if_pipeline_succeeds=only_allow_merge_if_pipeline_succeeds,
                branch_pipelines=branch_pipelines,
                visibility=visibility,
                protected=[default_branch],
            )
            self.world.projects[project.id] = project
            if initialize_with_readme:
                sha = repo.initial_commit(
                    "README.md",
                    f"# {project.name}\n",
                    "Initial commit\n",
                    self.clock.wall(self.world.now),
                )
                repo.update_ref(f"refs/heads/{default_branch}", sha)
        self._arm_faults(loaded)
        return self.project_info(path)

    def project_info(self, path: str) -> ProjectInfo:
        project = self._project(path)
        data = self.renderer().project(project)
        return ProjectInfo(
            project.id,
            project.path,
            data["web_url"],
            data["http_url_to_repo"],
            project.default_branch,
            project.repo.path,
        )

    def _project(self, path: str) -> Project:
        with self.world.lock:
            project = self.world.project_by_ref(str(path).strip("/"))
        if project is None:
            raise ScenarioError(f"no sandbox project {path!r}")
        return project

    def set_scenario(self, path: str, scenario: str | Path | Scenario) -> None:
        """Change what the project's next pipelines do (running ones keep their jobs)."""
        loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        project = self._project(path)
        with self.world.lock:
            project.scenario = loaded
            project.events_armed = False
        self._arm_faults(loaded)

    def set_project(self, path: str, **settings: object) -> None:
        """Change project settings (``merge_pipelines_enabled``, ``merge_method`` …)."""
        project = self._project(path)
        with self.world.lock:
            for key, value in settings.items():
                if not hasattr(project, key) or key in ("id", "path", "repo", "scenario"):
                    raise ScenarioError(f"unknown sandbox project setting {key!r}")
                setattr(project, key, value)

    def _arm_faults(self, scenario: Scenario) -> None:
        for spec in scenario.faults:
            self.faults.arm(spec)

    # -- steering --------------------------------------------------------------------------

    def inject_fault(
        self, action: str, *, match: str = "", count: int = 1, skip: int = 0, retry_after: int = 1
    ) -> None:
        """Make the next ``count`` API requests whose path contains ``match`` (after ``skip``
        of them) fail with ``action``: ``"429"``, ``"500"``, ``"502"``, ``"503"``, ``"504"``,
        ``"404"`` (an HTML page: a proxy or an instance that does not serve the endpoint)
        ``"drop"`` (the connection closes without an answer), ``"lost"`` (the request is
        served, its change made, then the connection closes without an answer) or
        ``"lost-502"`` (served, then a proxy's 502 page instead of GitLab's answer)."""
        if action not in FAULT_ACTIONS:
            raise ScenarioError(f"unknown fault {action!r}", hint=", ".join(FAULT_ACTIONS))
        self.faults.arm(FaultSpec(action, match, skip + 1, skip + count, retry_after))

    def has_history(self, path: str) -> bool:
        """Whether the project's scenario has a ``[history]`` to seed."""
        return self._project(path).scenario.history is not None

    def seed_history(self, path: str, history: HistorySpec | None = None) -> list[int]:
        """Past finished pipelines on the project (its scenario's ``[history]`` unless
        ``history`` is given), at real past dates ending now, all testing the head of
        their branch (pushed first); the new pipelines' ids, oldest first."""
        project = self._project(path)
        spec = history or project.scenario.history
        if spec is None:
            raise ScenarioError(f"scenario {project.scenario.name!r} has no [history]")
        branch = spec.ref or project.default_branch
        with self.world.lock:
            advance(self.world, self.clock.now())
            sha = project.repo.rev_parse(f"refs/heads/{branch}")
            if sha is None:
                raise ScenarioError(f"sandbox project {path!r} has no branch {branch!r} yet")
            return seed(self.world, project, spec, sha, self.world.now)

    def advance(self, seconds: float) -> None:
        """Move virtual time forward by ``seconds`` and apply everything that became due."""
        self.clock.advance(seconds)
        self.sync()

    def sync(self) -> None:
        """Apply everything due at the current virtual time."""
        with self.world.lock:
            advance(self.world, self.clock.now())

    def now(self) -> float:
        """Virtual seconds since the sandbox started."""
        return self.clock.now()

    def set_time_scale(self, time_scale: float) -> None:
        self.clock.set_time_scale(time_scale)

    def move_target(self, path: str, message: str = "Unrelated change lands on master") -> str:
        """A new commit on the project's default branch, as if someone else merged; its sha."""
        project = self._project(path)
        with self.world.lock:
            advance(self.world, self.clock.now())
            sha = move_target(self.world, project, self.world.now, message)
        if sha is None:
            raise ScenarioError(f"sandbox project {path!r} has no {project.default_branch} yet")
        return sha

    def set_branch(self, path: str, branch: str, sha: str) -> None:
        """Point ``branch`` at ``sha`` (already in the bare repository) as if it was pushed:
        MR pipelines, branch pipelines and merge refs follow, as after a real push."""
        project = self._project(path)
        ref = f"refs/heads/{branch}"
        with self.world.lock:
            advance(self.world, self.clock.now())
            old = project.repo.rev_parse(ref) or ZERO_SHA
            project.repo.update_ref(ref, sha)
            on_push(self.world, project, {ref: (old, sha)}, self.world.now)

    # -- observation -----------------------------------------------------------------------

    @property
    def request_log(self) -> list[RequestRecord]:
        return self.log.records()

    def clear_request_log(self) -> None:
        self.log.clear()
