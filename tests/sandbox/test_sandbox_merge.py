"""The merge endpoint (sha guard, 405, auto-merge, ff) and scenario events (late, moving target)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gitlab
import pytest
from sandbox_helpers import Pusher

from send_mergereq.sandbox import Sandbox


def open_mr(gl: gitlab.Gitlab) -> tuple[Any, Any]:
    project = gl.projects.get("group/proj", lazy=True)
    mr = project.mergerequests.create(
        {"source_branch": "staging", "target_branch": "master", "title": "Pull"}
    )
    return project, mr


def test_sha_guard_and_merge_commit(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pusher = pushed()
    project, mr = open_mr(gl)
    sandbox.advance(4 * 3600)
    old_master = pusher.remote_git("rev-parse", "master")
    stale = pusher.repo.git("rev-parse", "master")
    with pytest.raises(gitlab.GitlabMRClosedError) as caught:
        mr.merge(sha=stale)
    assert caught.value.response_code == 409
    assert caught.value.error_message == f"SHA does not match HEAD of source branch: {mr.sha}"
    mr.merge(sha=mr.sha)
    merged = project.mergerequests.get(mr.iid)
    assert merged.state == "merged"
    new_master = pusher.remote_git("rev-parse", "master")
    assert merged.merge_commit_sha == new_master
    assert pusher.remote_git("log", "-1", "--format=%P", new_master).split() == [old_master, mr.sha]
    with pytest.raises(gitlab.GitlabMRClosedError) as caught:
        mr.merge()
    assert caught.value.response_code == 405
    assert caught.value.error_message == "405 Method Not Allowed"


def test_merge_while_the_pipeline_runs_is_405_unless_auto_merge(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pusher = pushed()
    project, mr = open_mr(gl)
    assert project.mergerequests.get(mr.iid).detailed_merge_status == "ci_still_running"
    with pytest.raises(gitlab.GitlabMRClosedError) as caught:
        mr.merge(sha=mr.sha)
    assert caught.value.response_code == 405
    mr.merge(sha=mr.sha, merge_when_pipeline_succeeds=True)
    waiting = project.mergerequests.get(mr.iid)
    assert (waiting.state, waiting.merge_when_pipeline_succeeds) == ("opened", True)
    sandbox.advance(4 * 3600)
    merged = project.mergerequests.get(mr.iid)
    assert merged.state == "merged"
    assert pusher.remote_git("rev-parse", "master") == merged.merge_commit_sha


def test_failed_pipeline_blocks_the_merge(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pushed(scenario="red")
    project, mr = open_mr(gl)
    sandbox.advance(4 * 3600)
    assert project.mergerequests.get(mr.iid).detailed_merge_status == "ci_must_pass"
    with pytest.raises(gitlab.GitlabMRClosedError) as caught:
        mr.merge(sha=mr.sha)
    assert caught.value.response_code == 405  # not a git-state check: 405 in 17.x too


def test_fast_forward_merge_moves_master_to_the_tested_head(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pusher = pushed(merge_method="ff")
    project, mr = open_mr(gl)
    sandbox.advance(4 * 3600)
    mr.merge(sha=mr.sha)
    merged = project.mergerequests.get(mr.iid)
    assert merged.state == "merged" and merged.merge_commit_sha is None
    assert pusher.remote_git("rev-parse", "master") == mr.sha


def test_fast_forward_impossible_once_master_moved(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pushed(merge_method="ff")
    project, mr = open_mr(gl)
    sandbox.advance(4 * 3600)
    sandbox.move_target("group/proj")
    assert project.mergerequests.get(mr.iid).detailed_merge_status == "need_rebase"
    with pytest.raises(gitlab.GitlabMRClosedError) as caught:
        mr.merge(sha=mr.sha)
    assert caught.value.response_code == 422  # 17.x: a git-state check failed


def test_conflicts_fall_back_to_a_detached_pipeline(
    pushed: Callable[..., Pusher], gl: gitlab.Gitlab
) -> None:
    pusher = pushed()
    repo = pusher.repo
    repo.git("checkout", "-q", "master")
    repo.commit("master edits the README", filename="README")
    pusher.push("master")
    repo.git("checkout", "-q", "staging")
    (repo.path / "README").write_text("staging's README\n")
    repo.git("commit", "-qam", "staging edits the README")
    pusher.push("staging")
    project, mr = open_mr(gl)
    (pipeline,) = mr.pipelines.list(get_all=True)
    assert pipeline.ref == "refs/merge-requests/1/head"
    fresh = project.mergerequests.get(mr.iid)
    assert fresh.has_conflicts is True
    assert fresh.detailed_merge_status == "conflict"


def test_late_pipeline_appears_after_its_decoys(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pusher = pushed(scenario="late")
    head = pusher.repo.git("rev-parse", "staging")
    project, mr = open_mr(gl)
    early = project.pipelines.list(get_all=True)
    assert {(p.source, p.ref, p.sha) for p in early} == {
        ("push", "staging", head),  # a branch pipeline for the same sha
        (
            "merge_request_event",
            "refs/merge-requests/1/head",
            pusher.repo.git("rev-parse", "staging^"),
        ),
    }
    head_pipeline = project.mergerequests.get(mr.iid).head_pipeline
    assert (head_pipeline["ref"], head_pipeline["source"]) == ("staging", "push")
    sandbox.advance(119)
    assert len(project.pipelines.list(get_all=True)) == 2
    sandbox.advance(2)
    (real,) = project.pipelines.list(ref="refs/merge-requests/1/merge", get_all=True)
    assert real.id > max(p.id for p in early)
    assert pusher.remote_git("log", "-1", "--format=%P", real.sha).split()[1] == head
    assert project.mergerequests.get(mr.iid).head_pipeline["id"] == real.id


def test_late_pipeline_after_a_push_to_an_open_mr(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pusher = pushed(scenario="late")
    project, _mr = open_mr(gl)
    sandbox.advance(3600)
    pusher.repo.commit("another pull request", filename="more.c")
    pusher.push("staging")
    head = pusher.repo.git("rev-parse", "staging")
    before = {p.id for p in project.pipelines.list(get_all=True)}
    sandbox.advance(121)
    new = [p for p in project.pipelines.list(get_all=True) if p.id not in before]
    assert [(p.ref, p.source) for p in new] == [
        ("refs/merge-requests/1/merge", "merge_request_event")
    ]
    assert pusher.remote_git("log", "-1", "--format=%P", new[0].sha).split()[1] == head


def test_moving_target_event_makes_merged_results_stale(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pusher = pushed(scenario="moving-target")
    project, mr = open_mr(gl)
    (pipeline,) = mr.pipelines.list(get_all=True)
    tested = project.pipelines.get(pipeline.id)
    base = pusher.remote_git("rev-parse", "master")
    sandbox.advance(599)
    assert pusher.remote_git("rev-parse", "master") == base
    sandbox.advance(2)
    moved = pusher.remote_git("rev-parse", "master")
    assert moved != base
    assert pusher.remote_git("log", "-1", "--format=%P", moved).split() == [base]
    assert pusher.remote_git("log", "-1", "--format=%P", tested.sha).split()[0] == base
    assert project.pipelines.get(pipeline.id).status == "running"
    fresh = mr.pipelines.create()
    assert pusher.remote_git("log", "-1", "--format=%P", fresh.sha).split() == [moved, mr.sha]


def test_set_branch_acts_like_a_push_and_source_branch_removal(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pusher = pushed()
    project, mr = open_mr(gl)
    tree = pusher.remote_git("rev-parse", "staging^{tree}")
    newer = pusher.remote_git("commit-tree", tree, "-p", "staging", "-m", "server-side commit")
    sandbox.set_branch("group/proj", "staging", newer)
    assert project.mergerequests.get(mr.iid).sha == newer
    assert len(mr.pipelines.list(get_all=True)) == 2
    sandbox.advance(4 * 3600)
    mr = project.mergerequests.get(mr.iid)
    mr.merge(sha=newer, should_remove_source_branch=True)
    assert project.mergerequests.get(mr.iid).state == "merged"
    assert pusher.remote_git("for-each-ref", "refs/heads/staging") == ""
