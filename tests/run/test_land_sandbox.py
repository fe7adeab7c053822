"""``--land`` end to end at the Python level: the sandbox GitLab on loopback, real git pushes,
the real publish (both modes), the real watch loop on the sandbox's virtual clock, then land.

Every test checks what the issue is judged on: the target branch ends at exactly the
commit whose pipeline passed (or GitLab's merge of exactly that), or is untouched.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from gitrepo import Repo, run_git
from send_mergereq.config import LandMode
from send_mergereq.errors import ExitCode
from send_mergereq.gate import Outcome
from send_mergereq.gitlab.credentials import Secret, Token
from send_mergereq.gitlab.forge import Forge, MrSpec
from send_mergereq.gitlab.location import GitLabLocation
from send_mergereq.gitlab.session import Session
from send_mergereq.models import Pipeline, PipelineKind
from send_mergereq.run.clock import Clock
from send_mergereq.run.document import basis_document, document, landing_document
from send_mergereq.run.land import check_stale, land_fast_forward, land_with_refresh
from send_mergereq.run.land_decision import LandHow, stale_line
from send_mergereq.run.publish import Published, PublishRequest, publish
from send_mergereq.sandbox import ProjectInfo, Sandbox
from send_mergereq.scan.walk import resolve_range
from send_mergereq.watch.display import PlainDisplay
from send_mergereq.watch.loop import watch
from send_mergereq.watch.types import WatchOptions, WatchResult

pytestmark = pytest.mark.e2e
PATH = "qemu/qemu"


@dataclass
class Env:
    sandbox: Sandbox
    project: ProjectInfo
    repo: Repo
    said: list[str]
    _session: Session | None = None

    @property
    def token(self) -> Token:
        return Token(Secret(self.sandbox.token), "test")

    @property
    def session(self) -> Session:
        """The run's GitLab session: one per test, as one per run."""
        if self._session is None:
            location = GitLabLocation(self.sandbox.url, PATH)
            self._session = Session(self.repo.path, "origin", location, self.token)
        return self._session

    def remote(self, ref: str) -> str:
        return run_git(self.project.repo_path, "rev-parse", "--verify", ref)

    def parents(self, sha: str) -> list[str]:
        return run_git(self.project.repo_path, "show", "-s", "--format=%P", sha).split()

    def request(self, **kw: Any) -> PublishRequest:
        self.repo.git("fetch", "-q", "origin", env=_auth(self.sandbox.token))
        rng = resolve_range(self.repo.path, "origin/master", "staging")
        base: dict[str, Any] = {
            "repo": self.repo.path,
            "range": rng,
            "branch": "staging",
            "target": "master",
            "remote": "origin",
            "appear_timeout": 30.0,
            "branch_grace": 0.0,
        }
        return PublishRequest(**{**base, **kw})

    def submit(self) -> Published:
        return publish(
            self.request(),
            self.session,
            notify=self.said.append,
            clock=Clock(self.sandbox.now, self.sandbox.advance),
        )

    def push_only(self) -> Published:
        return publish(
            self.request(mode=LandMode.PUSH),
            self.session,
            notify=self.said.append,
            clock=Clock(self.sandbox.now, self.sandbox.advance),
        )

    def watch(self, forge: Forge, pipeline: Pipeline, during: Any = None) -> WatchResult:
        """The real watch loop; ``during(t)`` runs before each virtual sleep."""

        def sleep(seconds: float) -> None:
            if during is not None:
                during(self.sandbox.now())
            self.sandbox.advance(seconds)

        return watch(
            forge,
            pipeline.id,
            PlainDisplay(io.StringIO()),
            WatchOptions(min_interval=300.0, max_interval=600.0, timeout=4 * 3600),
            resume_command="send-mergereq status",
            clock=self.sandbox.now,
            sleep=sleep,
        )

    def push_staging_elsewhere(self) -> str:
        """Someone (not the tool) pushes one more commit to staging on GitLab."""
        self.repo.commit("late: one more commit nobody tested")
        sha = self.repo.head()
        self.repo.git("push", "-q", "origin", "staging:staging", env=_auth(self.sandbox.token))
        return sha


def _auth(token: str) -> dict[str, str]:
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Bearer {token}",
    }


@pytest.fixture
def env(make_repo: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr("gitlab.utils.time.sleep", lambda _s: None)
    started: list[Sandbox] = []

    def make(scenario: str = "green", **settings: Any) -> Env:
        sandbox = Sandbox(time_scale=0).start()
        started.append(sandbox)
        project = sandbox.create_project(PATH, scenario=scenario, **settings)
        repo: Repo = make_repo()
        repo.git("remote", "add", "origin", project.http_url_to_repo)
        repo.git("push", "-q", "origin", "master", env=_auth(sandbox.token))
        repo.commit("hw/arm: fix the thing")
        repo.commit("target/riscv: and another")
        return Env(sandbox, project, repo, [])

    yield make
    for sandbox in started:
        sandbox.stop()


# -- MR mode ------------------------------------------------------------------------------


def test_open_gate_lands_the_mr_with_the_sha_guard(env: Any) -> None:
    e: Env = env()
    master = e.remote("refs/heads/master")
    submitted = e.submit()
    assert submitted.pipeline.kind is PipelineKind.MERGED_RESULT
    watched = e.watch(e.session.forge, submitted.pipeline)
    assert watched.verdict.outcome is Outcome.OPEN

    basis = check_stale(e.session.forge, submitted, watched)
    assert basis is not None and not basis.stale

    result, _ = land_with_refresh(e.session.forge, submitted, watched, rewatch=_never)

    assert result.landed and result.exit_code is ExitCode.OK
    assert result.how is LandHow.MERGE_REQUEST and not result.stale
    head = e.remote("refs/heads/master")
    assert result.sha == head == result.merge_commit_sha == result.target_head
    # GitLab's merge commit merges exactly the tested inputs: the tested master, our head
    assert e.parents(head) == [master, submitted.push.sha]
    assert result.tested_target == result.current_target == master
    merge_ref = e.remote(f"refs/merge-requests/{submitted.merge_request.iid}/merge")
    assert e.parents(merge_ref) == e.parents(head)
    assert landing_document(result)["landed"]["how"] == "merge_request"


def test_a_push_between_pipeline_and_merge_is_refused_by_the_sha_guard(env: Any) -> None:
    e: Env = env(only_allow_merge_if_pipeline_succeeds=False)
    master = e.remote("refs/heads/master")
    submitted = e.submit()
    watched = e.watch(e.session.forge, submitted.pipeline)
    assert watched.verdict.outcome is Outcome.OPEN
    late = e.push_staging_elsewhere()
    assert e.remote("refs/heads/staging") == late

    result, _ = land_with_refresh(e.session.forge, submitted, watched, rewatch=_never)

    assert not result.landed and result.exit_code is ExitCode.NOT_LANDED
    assert "409" in (result.reason or "") and "sha guard" in (result.reason or "")
    assert e.remote("refs/heads/master") == master  # untouched
    assert landing_document(result)["landed"] is None


def test_a_push_while_pipelines_must_succeed_is_refused_by_gitlab_405(env: Any) -> None:
    e: Env = env()
    master = e.remote("refs/heads/master")
    submitted = e.submit()
    watched = e.watch(e.session.forge, submitted.pipeline)
    e.push_staging_elsewhere()  # a new MR pipeline starts for the late head

    result, _ = land_with_refresh(e.session.forge, submitted, watched, rewatch=_never)

    assert not result.landed and result.exit_code is ExitCode.NOT_LANDED
    assert "(405)" in (result.reason or "") and "still running" in (result.reason or "")
    assert e.remote("refs/heads/master") == master


def test_a_merge_gitlab_refuses_is_one_line_with_gitlabs_reason(env: Any) -> None:
    e: Env = env()
    master = e.remote("refs/heads/master")
    submitted = e.submit()
    forge = e.session.forge
    assert forge is not None
    watched = e.watch(forge, submitted.pipeline)
    iid = submitted.merge_request.iid
    forge.open_or_update_mr("staging", "master", MrSpec("Draft: not yet", "wait for me"))

    result, _ = land_with_refresh(forge, submitted, watched, rewatch=_never, refresh=True)

    assert not result.landed and result.exit_code is ExitCode.NOT_LANDED and not result.stale
    assert result.reason == f"GitLab refused to merge !{iid} (405): it is a draft"
    assert e.remote("refs/heads/master") == master


def test_fast_forward_merge_method_lands_the_tested_head_itself(env: Any) -> None:
    e: Env = env(merge_method="ff")
    submitted = e.submit()
    watched = e.watch(e.session.forge, submitted.pipeline)

    result, _ = land_with_refresh(e.session.forge, submitted, watched, rewatch=_never)

    assert result.landed and result.how is LandHow.MERGE_REQUEST
    assert e.remote("refs/heads/master") == submitted.push.sha == result.target_head


def test_target_moves_during_the_wait_stale_then_refresh_lands(env: Any) -> None:
    e: Env = env("moving-target")
    master = e.remote("refs/heads/master")
    submitted = e.submit()
    forge = e.session.forge
    assert forge is not None
    watched = e.watch(forge, submitted.pipeline)
    assert watched.verdict.outcome is Outcome.OPEN
    moved = e.remote("refs/heads/master")
    assert moved != master  # the scenario's event landed something else meanwhile

    stale, _ = land_with_refresh(forge, submitted, watched, rewatch=_never)
    assert not stale.landed and stale.stale and stale.exit_code is ExitCode.NOT_LANDED
    assert (stale.tested_target, stale.current_target) == (master, moved)
    assert e.remote("refs/heads/master") == moved  # nothing of ours landed
    document = landing_document(stale)
    assert document["stale"] is True and document["tested_target_sha"] == master
    assert document["current_target_sha"] == moved
    basis = check_stale(forge, submitted, watched)  # what a plain --wait shows
    assert basis is not None and basis.stale
    assert basis_document(basis) == {
        "stale": True,
        "tested_target_sha": master,
        "current_target_sha": moved,
    }
    assert stale_line(basis, "master") == (
        f"stale: pipeline #{submitted.pipeline.id} tested master at {master[:12]}, "
        f"master has moved to {moved[:12]} since"
    )

    rewatched: list[Pipeline] = []

    def rewatch(pipeline: Pipeline) -> WatchResult:
        rewatched.append(pipeline)
        return e.watch(forge, pipeline)

    result, last = land_with_refresh(
        forge, submitted, watched, rewatch=rewatch, refresh=True, refresh_limit=2
    )
    assert result.landed and result.refreshes == 1 and len(rewatched) == 1
    assert rewatched[0].id > submitted.pipeline.id
    assert last.pipeline is not None and last.pipeline.id == rewatched[0].id
    head = e.remote("refs/heads/master")
    assert e.parents(head) == [moved, submitted.push.sha]  # merged onto the re-tested master
    assert result.tested_target == moved


def test_refresh_stops_when_the_moved_target_conflicts(env: Any) -> None:
    e: Env = env()
    submitted = e.submit()
    watched = e.watch(e.session.forge, submitted.pipeline)
    name = e.repo.git("diff", "--name-only", "origin/master", "staging").splitlines()[0]
    e.repo.git("checkout", "-q", "origin/master")
    (e.repo.path / name).write_text("someone else's version\n")
    e.repo.git("add", name)
    e.repo.git("commit", "-q", "-m", "conflicting change lands on master")
    e.repo.git("push", "-q", "origin", "HEAD:master", env=_auth(e.sandbox.token))
    moved = e.remote("refs/heads/master")

    result, _ = land_with_refresh(
        e.session.forge, submitted, watched, rewatch=_never, refresh=True, refresh_limit=3
    )

    assert not result.landed and result.stale and result.refreshes == 1
    assert result.exit_code is ExitCode.NOT_LANDED
    assert "GitLab cannot merge" in (result.reason or "")
    assert e.remote("refs/heads/master") == moved


def test_refresh_limit_zero_never_starts_a_pipeline(env: Any) -> None:
    e: Env = env("moving-target")
    submitted = e.submit()
    watched = e.watch(e.session.forge, submitted.pipeline)
    moved = e.remote("refs/heads/master")
    before = len(e.session.forge.mr_pipelines(submitted.merge_request.iid))

    result, _ = land_with_refresh(
        e.session.forge, submitted, watched, rewatch=_never, refresh=True, refresh_limit=0
    )

    assert not result.landed and result.stale and result.refreshes == 0
    assert len(e.session.forge.mr_pipelines(submitted.merge_request.iid)) == before
    assert e.remote("refs/heads/master") == moved


def test_nothing_lands_on_a_red_pipeline(env: Any) -> None:
    e: Env = env("red")
    master = e.remote("refs/heads/master")
    submitted = e.submit()
    watched = e.watch(e.session.forge, submitted.pipeline)
    assert watched.verdict.outcome is Outcome.CLOSED

    result, _ = land_with_refresh(e.session.forge, submitted, watched, rewatch=_never, refresh=True)

    assert not result.landed and result.exit_code is ExitCode.GATE_CLOSED
    assert e.remote("refs/heads/master") == master


# -- push-only mode ------------------------------------------------------------------------


def test_push_only_lands_by_fast_forward_to_exactly_the_tested_commit(env: Any) -> None:
    e: Env = env(branch_pipelines=True)
    pushed = e.push_only()
    pipeline = pushed.pipeline
    assert (pipeline.kind, pipeline.ref, pipeline.sha) == (
        PipelineKind.BRANCH,
        "staging",
        pushed.push.sha,
    )
    assert document(exit_code=ExitCode.OK, published=pushed)["merge_request"] is None
    watched = e.watch(e.session.forge, pipeline)
    assert watched.verdict.outcome is Outcome.OPEN

    result = land_fast_forward(e.session, pushed, pipeline, watched.verdict)

    assert result.landed and result.how is LandHow.FAST_FORWARD
    assert e.remote("refs/heads/master") == pushed.push.sha == result.sha
    assert landing_document(result)["landed"] == {
        "sha": pushed.push.sha,
        "how": "fast_forward",
        "target_head": pushed.push.sha,
        "merge_commit_sha": None,
    }
    assert not e.sandbox.world.merge_requests  # no merge request anywhere


def test_push_only_refuses_a_non_fast_forward(env: Any) -> None:
    e: Env = env(branch_pipelines=True)
    pushed = e.push_only()
    moved: list[str] = []

    def someone_lands(_t: float) -> None:
        if not moved:
            moved.append(e.sandbox.move_target(PATH))

    watched = e.watch(e.session.forge, pushed.pipeline, during=someone_lands)
    assert watched.verdict.outcome is Outcome.OPEN

    result = land_fast_forward(e.session, pushed, pushed.pipeline, watched.verdict)

    assert not result.landed and result.exit_code is ExitCode.NOT_LANDED
    assert "not a fast-forward" in (result.reason or "")
    assert e.remote("refs/heads/master") == moved[0]


def test_push_only_lease_holds_when_the_target_moves_after_the_last_look(
    env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    e: Env = env(branch_pipelines=True)
    master = e.remote("refs/heads/master")
    pushed = e.push_only()
    watched = e.watch(e.session.forge, pushed.pipeline)
    moved = e.sandbox.move_target(PATH)  # lands after our last look at master:
    monkeypatch.setattr(Forge, "branch_head", lambda _f, _b: master)

    result = land_fast_forward(e.session, pushed, pushed.pipeline, watched.verdict)

    assert not result.landed and result.exit_code is ExitCode.NOT_LANDED
    assert "stale info" in (result.reason or "")  # git's --force-with-lease refusal
    assert e.remote("refs/heads/master") == moved


def test_push_only_target_moved_by_the_scenario_event_is_not_a_fast_forward(env: Any) -> None:
    e: Env = env("moving-target", branch_pipelines=True)
    master = e.remote("refs/heads/master")
    pushed = e.push_only()
    assert pushed.target_before == master
    watched = e.watch(e.session.forge, pushed.pipeline)
    moved = e.remote("refs/heads/master")
    assert watched.verdict.outcome is Outcome.OPEN and moved != master

    result = land_fast_forward(e.session, pushed, pushed.pipeline, watched.verdict)

    assert not result.landed and result.exit_code is ExitCode.NOT_LANDED
    assert landing_document(result)["tested_target_sha"] == master
    assert landing_document(result)["current_target_sha"] == moved
    assert e.remote("refs/heads/master") == moved


def test_push_only_nothing_lands_on_a_red_pipeline(env: Any) -> None:
    e: Env = env("red", branch_pipelines=True)
    master = e.remote("refs/heads/master")
    pushed = e.push_only()
    watched = e.watch(e.session.forge, pushed.pipeline)

    result = land_fast_forward(e.session, pushed, pushed.pipeline, watched.verdict)

    assert not result.landed and result.exit_code is ExitCode.GATE_CLOSED
    assert e.remote("refs/heads/master") == master


def test_push_only_watches_the_pipeline_of_this_push_not_an_older_one(env: Any) -> None:
    e: Env = env(branch_pipelines=True)
    first = e.push_only()
    e.repo.commit("block: a second version of staging")
    second = e.push_only()
    assert second.pipeline.id > first.pipeline.id
    assert second.pipeline.sha == second.push.sha != first.push.sha


def _never(pipeline: Pipeline) -> WatchResult:
    raise AssertionError(f"no refresh expected, got pipeline #{pipeline.id}")
