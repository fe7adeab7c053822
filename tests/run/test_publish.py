"""run/publish.py: a real push to a local bare repo, GitLab's side through ``responses``."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

import pytest
import responses
from responses import matchers

import gitlab_api as g
from gitrepo import Repo, run_git
from http_recorder import recording_http
from send_mergereq.config import Flags, load_settings
from send_mergereq.errors import ConfigError, ExitCode, GitError
from send_mergereq.gitlab.credentials import Secret, Token
from send_mergereq.gitlab.location import GitLabLocation
from send_mergereq.gitlab.session import Session
from send_mergereq.models import PipelineKind
from send_mergereq.run.clock import Clock
from send_mergereq.run.document import document
from send_mergereq.run.publish import Published, PublishRequest, publish
from send_mergereq.scan.walk import resolve_range

PROJECT_URL = f"{g.API}/projects/{quote(g.PROJECT_PATH, safe='')}"
MRS = f"{g.P}/merge_requests"
LIST_MR = {"source_branch": "staging", "target_branch": "master", "state": "opened",
           "per_page": "100"}  # fmt: skip
BRANCH_FLOOR = {"ref": "staging", "order_by": "id", "sort": "desc", "per_page": "100"}


@dataclass
class FakeClock:
    t: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


@dataclass
class World:
    repo: Repo
    bare: Path
    rsps: responses.RequestsMock
    clock: FakeClock
    said: list[str]

    @property
    def head(self) -> str:
        return self.repo.git("rev-parse", "staging")

    def request(self, **kw: object) -> PublishRequest:
        rng = resolve_range(self.repo.path, "origin/master", "staging")
        base: dict[str, object] = {
            "repo": self.repo.path,
            "range": rng,
            "branch": "staging",
            "target": "master",
            "remote": "origin",
        }
        return PublishRequest(**{**base, **kw})  # type: ignore[arg-type]

    def session(self, gitlab_url: str = g.URL) -> Session:
        location = GitLabLocation(gitlab_url, g.PROJECT_PATH)
        return Session(self.repo.path, "origin", location, Token(Secret(g.TOKEN), "GITLAB_TOKEN"))

    def run(self, gitlab_url: str = g.URL, **kw: object) -> Published:
        return publish(
            self.request(**kw),
            self.session(gitlab_url),
            notify=self.said.append,
            clock=Clock(self.clock.now, self.clock.sleep),
        )

    def remote_head(self) -> str | None:
        try:
            return run_git(self.bare, "rev-parse", "--verify", "refs/heads/staging")
        except AssertionError:
            return None

    # GitLab answers, in the order submit asks
    def project(self, **overrides: object) -> None:
        g.get(self.rsps, PROJECT_URL, g.project(**overrides))
        g.get(self.rsps, f"{g.P}/protected_branches/staging", g.error("404 Not found"), 404)

    def open_mrs(self, *mrs: dict[str, object]) -> None:
        g.get(self.rsps, MRS, list(mrs), **LIST_MR)

    def branch_pipelines(self, *pipelines: dict[str, object], sha: str | None = None) -> None:
        query = {**BRANCH_FLOOR, **({"sha": sha} if sha else {})}
        g.get(self.rsps, f"{g.P}/pipelines", list(pipelines), **query)

    def mr_pipelines(self, iid: int, *pipelines: dict[str, object]) -> None:
        g.get(self.rsps, f"{MRS}/{iid}/pipelines", list(pipelines), per_page="100")

    def merge_commit(self, sha: str = g.MERGE_SHA, merged: str | None = None) -> None:
        """GitLab's merge commit of a merged results pipeline: master and ``merged`` (the head)."""
        master = self.repo.git("rev-parse", "master")
        parents = [master, merged or self.head]
        web_url = f"{g.URL}/{g.PROJECT_PATH}/-/commit/{sha}"
        body = {"id": sha, "short_id": sha[:8], "title": "Merge branch 'staging'",
                "parent_ids": parents, "web_url": web_url}  # fmt: skip
        g.get(self.rsps, f"{g.P}/repository/commits/{sha}", body)

    def create_mr(self, iid: int = 7) -> None:
        self.rsps.post(MRS, json=g.merge_request(iid, sha=self.head), status=201)


@pytest.fixture
def world(make_repo, tmp_path: Path) -> Iterator[World]:  # type: ignore[no-untyped-def]
    repo: Repo = make_repo()
    bare = tmp_path / "origin.git"
    run_git(tmp_path, "init", "-q", "--bare", str(bare))
    repo.git("remote", "add", "origin", f"file://{bare}")
    repo.git("push", "-q", "origin", "master")
    repo.commit("hw/arm: fix the thing")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield World(repo, bare, rsps, FakeClock(), [])
    for call in rsps.calls:
        assert g.TOKEN not in call.request.url


def test_first_run_opens_mr_and_waits_for_merged_results(world: World) -> None:
    head = world.head
    world.project()
    world.open_mrs()
    world.branch_pipelines()  # the floor: nothing yet
    world.create_mr(7)
    world.mr_pipelines(7)  # poll 1: GitLab has not created it yet
    world.branch_pipelines(sha=head)
    world.mr_pipelines(  # poll 2: the branch pipeline of the same push is a decoy
        7,
        g.pipeline(601, "refs/merge-requests/7/merge", g.MERGE_SHA),
        g.pipeline(600, "staging", head),
    )
    world.merge_commit()
    result = world.run()
    assert world.remote_head() == head
    assert (result.merge_request.iid, result.merge_request.created) == (7, True)
    assert (result.pipeline.id, result.kind) == (601, PipelineKind.MERGED_RESULT)
    assert not result.reused and not result.created_pipeline
    assert world.clock.sleeps == [1.0]
    doc = document(exit_code=ExitCode.OK, published=result)
    assert doc["pipeline"] == {
        "id": 601, "status": "running", "kind": "merged_result", "reused": False,
        "web_url": f"{g.URL}/{g.PROJECT_PATH}/-/pipelines/601",
    }  # fmt: skip
    assert doc["merge_request"]["iid"] == 7
    assert any(
        "merged results pipeline (staging merged into master) #601" in n for n in result.notes
    )
    assert any(line.startswith("pushed ") for line in world.said)
    create = next(c for c in world.rsps.calls if c.request.method == "POST")
    assert b"Merge staging: 1 commit" in create.request.body  # type: ignore[operator]


def test_decoys_are_skipped_and_the_open_mr_is_updated(world: World) -> None:
    head = world.head
    world.project()
    mine = g.merge_request(7, sha=g.OLD_HEAD, title="old", description="old")
    world.open_mrs(mine)
    world.branch_pipelines(g.pipeline(398, "staging", g.OLD_HEAD))
    world.mr_pipelines(7, g.pipeline(400, "refs/merge-requests/7/merge", g.OLD_HEAD))
    world.rsps.put(f"{MRS}/7", json=g.merge_request(7, sha=head))
    decoys = [
        g.pipeline(400, "refs/merge-requests/7/merge", g.OLD_HEAD),  # older MR pipeline
        g.pipeline(410, "staging", head),  # branch pipeline of this very push
        g.pipeline(411, "refs/merge-requests/8/merge", g.MERGE_SHA),  # another MR
        g.pipeline(412, "refs/merge-requests/7/train", g.MERGE_SHA),  # a merge train
        g.pipeline(399, "refs/merge-requests/7/head", head),  # old detached run, same head
    ]
    world.mr_pipelines(7, *decoys)  # the branch pipeline is listed with the MR: no extra call
    world.mr_pipelines(7, *decoys, g.pipeline(413, "refs/merge-requests/7/merge", g.MERGE_SHA))
    world.merge_commit()
    result = world.run()
    assert (result.pipeline.id, result.merge_request.created) == (413, False)
    put = next(c for c in world.rsps.calls if c.request.method == "PUT")
    sent = json.loads(put.request.body or b"{}")
    assert "title" not in sent  # a title is generated only when the MR is opened
    assert sent["description"].startswith("old\n\n<!-- send-mergereq:begin -->\n")
    assert not any(c.request.method == "POST" for c in world.rsps.calls)


def test_merged_results_run_is_not_called_off_when_the_project_hides_the_setting(
    world: World,
) -> None:
    """``merge_pipelines_enabled`` absent from the project, yet GitLab ran a merged results
    pipeline: the notes say what is watched and not that merged results are off."""
    head = world.head
    world.project(merge_pipelines_enabled=None)
    world.open_mrs()
    world.branch_pipelines()
    world.create_mr(7)
    world.mr_pipelines(7, g.pipeline(601, "refs/merge-requests/7/merge", g.MERGE_SHA))
    world.merge_commit(merged=head)
    result = world.run()
    assert result.kind is PipelineKind.MERGED_RESULT
    assert not any(n.startswith("merged results pipelines are off") for n in result.notes)


def test_late_merged_results_run_of_the_previous_push_is_a_decoy(world: World) -> None:
    """A merged results pipeline created after the push, but for the previous head (GitLab
    was slow): its ref is the same, only its merge commit's second parent tells them apart."""
    head = world.head
    stale_merge, fresh_merge = "d" * 40, "e" * 40
    world.project()
    world.open_mrs(g.merge_request(7, sha=g.OLD_HEAD, title="Merge staging: 1 commit"))
    world.branch_pipelines(g.pipeline(500, "staging", g.OLD_HEAD))
    world.mr_pipelines(7, g.pipeline(501, "refs/merge-requests/7/merge", g.MERGE_SHA))
    world.rsps.put(f"{MRS}/7", json=g.merge_request(7, sha=head))
    late = g.pipeline(502, "refs/merge-requests/7/merge", stale_merge)
    world.mr_pipelines(7, late)  # poll 1: only the late run of the old head
    world.merge_commit(stale_merge, merged=g.OLD_HEAD)  # read once: a decoy from then on
    world.branch_pipelines(sha=head)
    world.mr_pipelines(7, g.pipeline(503, "refs/merge-requests/7/merge", fresh_merge), late)
    world.merge_commit(fresh_merge)
    result = world.run()
    assert (result.pipeline.id, result.kind) == (503, PipelineKind.MERGED_RESULT)
    assert world.clock.sleeps == [1.0]


def test_merged_results_off_detached_pipeline_late(world: World) -> None:
    head = world.head
    world.project(merge_pipelines_enabled=False)
    world.open_mrs()
    world.branch_pipelines()
    world.create_mr(7)
    for _ in range(3):  # late: three polls see nothing
        world.mr_pipelines(7)
        world.branch_pipelines(sha=head)
    world.mr_pipelines(7, g.pipeline(620, "refs/merge-requests/7/head", head))
    result = world.run()
    assert (result.pipeline.id, result.kind) == (620, PipelineKind.DETACHED)
    assert world.clock.sleeps == [1.0, 1.5, 2.25]
    off = [n for n in result.notes if n.startswith("merged results pipelines are off")]
    assert len(off) == 1
    assert "Enable merged results pipelines" in off[0]
    assert "waiting for GitLab to create the pipeline …" in world.said


def test_same_head_already_pushed_and_tested_is_reused(world: World) -> None:
    head = world.head
    world.repo.git("push", "-q", "origin", "staging")  # pushed (and tested) by an earlier run
    world.project()
    mine = g.merge_request(7, sha=head, title="Merge staging: 1 commit")
    world.open_mrs(mine)
    tested = g.pipeline(450, "refs/merge-requests/7/merge", g.MERGE_SHA, "success")
    world.branch_pipelines()
    world.mr_pipelines(7, tested)
    world.rsps.put(f"{MRS}/7", json=mine)  # the description is refreshed
    g.get(world.rsps, f"{MRS}/7", g.merge_request(7, sha=head, head_pipeline=tested))
    world.mr_pipelines(7, tested)
    world.merge_commit()
    result = world.run()
    assert result.push.up_to_date
    assert (result.pipeline.id, result.reused, result.created_pipeline) == (450, True, False)
    assert any("already pushed and tested" in n for n in result.notes)
    assert result.notes[0].startswith("reusing the merged results pipeline")
    assert world.clock.sleeps == []


def test_no_pipeline_comes_so_one_is_created(world: World) -> None:
    head = world.head
    world.project()
    world.open_mrs()
    world.branch_pipelines()
    world.create_mr(7)
    world.mr_pipelines(7)
    world.branch_pipelines(sha=head)
    body = g.pipeline(700, "refs/merge-requests/7/merge", g.MERGE_SHA, "created")
    world.rsps.post(f"{MRS}/7/pipelines", status=201, json=body)
    result = world.run(appear_timeout=10.0)
    assert (result.pipeline.id, result.created_pipeline) == (700, True)
    assert sum(world.clock.sleeps) == pytest.approx(10.0)
    assert result.notes[0].startswith("created the merged results pipeline")


def test_branch_pipeline_when_the_project_runs_no_mr_pipelines(world: World) -> None:
    head = world.head
    world.project(merge_pipelines_enabled=False)
    world.open_mrs()
    world.branch_pipelines()
    world.create_mr(7)
    for _ in range(2):  # GitLab lists it with the MR; then, has the project ever run any?
        world.mr_pipelines(7, g.pipeline(630, "staging", head))
    g.get(world.rsps, f"{g.P}/pipelines", [g.pipeline(629, "staging", g.OLD_HEAD)],
          source="merge_request_event", order_by="id", sort="desc", per_page="100")  # fmt: skip
    result = world.run(branch_grace=3.0)
    assert (result.pipeline.id, result.kind) == (630, PipelineKind.BRANCH)
    assert sum(world.clock.sleeps) >= 3.0
    assert any("merge_request_event" in n for n in result.notes)


def test_new_mr_in_a_project_that_runs_mr_pipelines_waits_past_the_branch_pipeline(
    world: World,
) -> None:
    """Merged results off, a new MR: the branch pipeline of the push shows first, the
    detached MR pipeline after the grace; the project ran MR pipelines before."""
    head = world.head
    world.project(merge_pipelines_enabled=False)
    world.open_mrs()
    world.branch_pipelines()
    world.create_mr(7)
    g.get(world.rsps, f"{g.P}/pipelines", [g.pipeline(90, "refs/merge-requests/3/head", "f" * 40)],
          source="merge_request_event", order_by="id", sort="desc", per_page="100")  # fmt: skip
    for _ in range(4):
        world.mr_pipelines(7, g.pipeline(630, "staging", head))
    world.mr_pipelines(7, g.pipeline(631, "refs/merge-requests/7/head", head),
                       g.pipeline(630, "staging", head))  # fmt: skip
    result = world.run(branch_grace=3.0)
    assert (result.pipeline.id, result.kind) == (631, PipelineKind.DETACHED)
    assert sum(world.clock.sleeps) > 3.0
    asked = [c for c in world.rsps.calls if "source=merge_request_event" in c.request.url]
    assert len(asked) == 1


def test_protected_branch_is_refused_before_pushing(world: World) -> None:
    g.get(world.rsps, PROJECT_URL, g.project())
    g.get(world.rsps, f"{g.P}/protected_branches/staging",
          {"id": 1, "name": "staging", "push_access_levels": []})  # fmt: skip
    with pytest.raises(ConfigError, match="protected branch of qemu-project/qemu"):
        world.run()
    assert world.remote_head() is None


def test_target_branch_is_refused_before_pushing(world: World) -> None:
    world.project()
    with pytest.raises(ConfigError, match="target branch"):
        world.run(target="staging")
    assert world.remote_head() is None


def test_rejected_push_stops_before_the_merge_request(world: World) -> None:
    run_git(world.bare, "update-ref", "refs/heads/staging", world.repo.git("rev-parse", "master"))
    world.project()
    world.open_mrs()
    world.branch_pipelines()
    with pytest.raises(GitError, match="stale info"):
        world.run()


def test_token_is_not_sent_to_a_push_host_other_than_gitlab(world: World) -> None:
    world.project()
    world.open_mrs()
    world.branch_pipelines()
    with recording_http() as (elsewhere, seen):
        world.repo.git("remote", "set-url", "origin", f"{elsewhere}/group/proj.git")
        with pytest.raises(GitError, match="403"):
            world.run()
    assert seen, "git never reached the push host"
    assert all("Authorization" not in request for request in seen)


def test_token_goes_along_to_gitlabs_own_git_server(world: World) -> None:
    with recording_http() as (gitlab_host, seen):
        api = f"{gitlab_host}/api/v4/projects"
        g.get(world.rsps, f"{api}/{quote(g.PROJECT_PATH, safe='')}", g.project())
        g.get(world.rsps, f"{api}/{g.PROJECT_ID}/protected_branches/staging", g.error("no"), 404)
        g.get(world.rsps, f"{api}/{g.PROJECT_ID}/merge_requests", [], **LIST_MR)
        g.get(world.rsps, f"{api}/{g.PROJECT_ID}/pipelines", [], **BRANCH_FLOOR)
        world.repo.git("remote", "set-url", "origin", f"{gitlab_host}/group/proj.git")
        with pytest.raises(GitError, match="403"):
            world.run(gitlab_url=gitlab_host)
    assert seen[0]["Authorization"].startswith("Basic ")


def test_edit_changes_title_and_description(world: World) -> None:
    head = world.head
    world.project()
    world.open_mrs()
    world.branch_pipelines()
    world.rsps.post(
        MRS,
        json=g.merge_request(7, sha=head),
        status=201,
        match=[matchers.json_params_matcher({"source_branch": "staging",
               "target_branch": "master", "title": "My title", "description": "Body"})],
    )  # fmt: skip
    world.mr_pipelines(7, g.pipeline(640, "refs/merge-requests/7/merge", g.MERGE_SHA))
    world.merge_commit()
    seen: list[str] = []

    def editor(text: str) -> str:
        seen.append(text)
        return "My title\n\nBody\n"

    result = publish(
        world.request(),
        world.session(),
        edit=editor,
        clock=Clock(world.clock.now, world.clock.sleep),
    )
    assert seen[0].startswith("Merge staging: 1 commit\n\n")
    assert result.pipeline.id == 640


def test_token_from_env_appears_nowhere(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("GITLAB_TOKEN", g.TOKEN)
    head = world.head
    world.project()
    world.open_mrs()
    world.branch_pipelines()
    world.create_mr(7)
    world.mr_pipelines(7, g.pipeline(650, "refs/merge-requests/7/merge", head))
    flags = Flags(target="origin/master", gitlab_url=g.URL, project=g.PROJECT_PATH)
    session = Session.open(load_settings(world.repo.path, "staging", flags, os.environ))
    assert session.token.source == "GITLAB_TOKEN"
    result = publish(world.request(), session, notify=world.said.append,
                     clock=Clock(world.clock.now, world.clock.sleep))  # fmt: skip
    doc = document(exit_code=ExitCode.OK, published=result)
    shown = [*result.notes, *world.said, repr(result), repr(session), caplog.text, str(doc)]
    shown.append((world.repo.path / ".git" / "config").read_text())
    assert all(g.TOKEN not in text for text in shown)
    assert all(c.request.headers["PRIVATE-TOKEN"] == g.TOKEN for c in world.rsps.calls)


def test_edit_shows_the_title_on_gitlab_and_keeps_hand_text(world: World) -> None:
    """Refreshing an MR whose title was set by hand: the buffer shows that title, with
    the help as ``#`` lines, and what comes back is sent without those lines."""
    head = world.head
    world.project()
    mine = g.merge_request(
        7,
        sha=g.OLD_HEAD,
        title="QEMU pull for 9.2",
        description="Hand text.\n\n<!-- send-mergereq:begin -->\nold\n<!-- send-mergereq:end -->",
    )
    world.open_mrs(mine)
    world.branch_pipelines()
    world.mr_pipelines(7)
    world.rsps.put(f"{MRS}/7", json=g.merge_request(7, sha=head))
    world.mr_pipelines(7, g.pipeline(641, "refs/merge-requests/7/merge", g.MERGE_SHA))
    world.merge_commit()
    seen: list[str] = []

    def editor(text: str) -> str:
        seen.append(text)
        return "QEMU pull for 9.2, v2\n" + text.split("\n", 1)[1]

    publish(world.request(), world.session(), edit=editor,
            clock=Clock(world.clock.now, world.clock.sleep))  # fmt: skip
    assert seen[0].startswith("QEMU pull for 9.2\n\nHand text.\n\n<!-- send-mergereq:begin -->\n")
    assert "\n# The first line is the title" in seen[0]
    put = next(c for c in world.rsps.calls if c.request.method == "PUT")
    sent = json.loads(put.request.body or b"{}")
    assert sent["title"] == "QEMU pull for 9.2, v2"
    assert sent["description"].startswith("Hand text.\n\n<!-- send-mergereq:begin -->\n")
    assert "old" not in sent["description"] and "#" not in sent["description"]


def test_title_flag_replaces_a_title_set_by_hand(world: World) -> None:
    head = world.head
    world.project()
    world.open_mrs(g.merge_request(7, sha=g.OLD_HEAD, title="by hand", description=""))
    world.branch_pipelines()
    world.mr_pipelines(7)
    world.rsps.put(f"{MRS}/7", json=g.merge_request(7, sha=head))
    world.mr_pipelines(7, g.pipeline(642, "refs/merge-requests/7/merge", g.MERGE_SHA))
    world.merge_commit()
    publish(replace(world.request(), title="Given"), world.session(),
            clock=Clock(world.clock.now, world.clock.sleep))  # fmt: skip
    put = next(c for c in world.rsps.calls if c.request.method == "PUT")
    assert json.loads(put.request.body or b"{}")["title"] == "Given"


def test_same_head_whose_pipeline_still_runs_is_not_called_tested(world: World) -> None:
    head = world.head
    world.repo.git("push", "-q", "origin", "staging")
    world.project()
    mine = g.merge_request(7, sha=head, title="Merge staging: 1 commit")
    world.open_mrs(mine)
    running = g.pipeline(451, "refs/merge-requests/7/merge", g.MERGE_SHA, "running")
    world.branch_pipelines()
    world.mr_pipelines(7, running)
    world.rsps.put(f"{MRS}/7", json=mine)
    g.get(world.rsps, f"{MRS}/7", g.merge_request(7, sha=head, head_pipeline=running))
    world.mr_pipelines(7, running)
    world.merge_commit()
    result = world.run()
    assert result.reused
    assert not any("already pushed and tested" in n for n in result.notes)
    assert (
        f"{head[:12]} was already pushed: its pipeline #451 is still running, no new pipeline"
        in result.notes
    )
