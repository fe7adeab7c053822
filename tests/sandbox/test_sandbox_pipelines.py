"""Pipelines from scenarios: states advance on the virtual clock with GitLab's status rules."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gitlab
import pytest
from sandbox_helpers import Pusher, client

from send_mergereq.sandbox import Sandbox


def open_mr(gl: gitlab.Gitlab) -> tuple[Any, Any]:
    """Open the staging -> master MR; its project and its (first) pipeline."""
    project = gl.projects.get("group/proj", lazy=True)
    mr = project.mergerequests.create(
        {"source_branch": "staging", "target_branch": "master", "title": "Pull"}
    )
    listed = mr.pipelines.list(get_all=True)  # with branch pipelines of its commits
    (listed,) = [p for p in listed if p.source == "merge_request_event"]
    return project, project.pipelines.get(listed.id)


def statuses(pipeline: Any, **options: Any) -> dict[str, str]:
    return {job.name: job.status for job in pipeline.jobs.list(get_all=True, **options)}


def test_jobs_advance_with_virtual_time(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pushed()
    project, pipeline = open_mr(gl)
    assert pipeline.status == "pending"
    assert set(statuses(pipeline).values()) == {"pending", "created"}
    sandbox.advance(10)
    jobs = statuses(pipeline)
    assert jobs["build-system-gcc"] == "running" and jobs["check-unit"] == "created"
    sandbox.advance(600)
    assert project.pipelines.get(pipeline.id).status == "running"
    assert statuses(pipeline)["check-unit"] in ("pending", "running")
    sandbox.advance(40 * 60)
    done = project.pipelines.get(pipeline.id)
    assert done.status == "success"
    assert set(statuses(pipeline).values()) == {"success"}
    assert done.finished_at is not None and done.duration > 35 * 60


def test_time_scale_runs_the_clock(pushed: Callable[..., Pusher], sandbox: Sandbox) -> None:
    pushed()
    sandbox.set_time_scale(20_000)  # 40 virtual minutes in about 0.15 s
    project, pipeline = open_mr(client(sandbox))
    deadline = time.monotonic() + 10
    while project.pipelines.get(pipeline.id).status != "success":
        assert time.monotonic() < deadline, "the pipeline never finished"
        time.sleep(0.05)


def test_red_gating_job_fails_and_later_stages_are_skipped(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pushed(scenario="red")
    project, pipeline = open_mr(gl)
    sandbox.advance(615 + 425)
    jobs = statuses(pipeline)
    assert jobs["check-qtest"] == "failed"
    assert jobs["check-block"] == "running"  # fail fast is possible: siblings still run
    assert project.pipelines.get(pipeline.id).status == "running"
    sandbox.advance(3600)
    jobs = statuses(pipeline)
    assert project.pipelines.get(pipeline.id).status == "failed"
    assert jobs["checkpatch"] == jobs["docs-html"] == "skipped"
    (failed,) = pipeline.jobs.list(scope="failed", get_all=True)
    job = project.jobs.get(failed.id)
    assert job.failure_reason == "script_failure"
    assert job.web_url.endswith(f"/group/proj/-/jobs/{job.id}")
    trace = job.trace().decode()
    assert "section_start:" in trace and "section_end:" in trace and "\x1b[" in trace
    assert "Assertion `!mis->postcopy_tmp_pages' failed." in trace
    assert trace.rstrip().endswith("ERROR: Job failed: exit code 1\n\x1b[0;m".rstrip())


def test_allow_failure_only_passes_with_warnings(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pushed(scenario="allow-failure")
    project, pipeline = open_mr(gl)
    sandbox.advance(4 * 3600)
    done = project.pipelines.get(pipeline.id)
    assert done.status == "success"
    assert done.detailed_status["label"] == "passed with warnings"
    failed = {j.name: j.allow_failure for j in pipeline.jobs.list(scope="failed", get_all=True)}
    assert failed == {"build-oss-fuzz": True, "check-cross-i686": True}


def test_manual_job_that_may_not_fail_blocks_until_played(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pushed(scenario="manual")
    project, pipeline = open_mr(gl)
    sandbox.advance(4 * 3600)
    jobs = statuses(pipeline)
    assert project.pipelines.get(pipeline.id).status == "manual"
    assert jobs["benchmark"] == "manual"  # may fail: does not block
    assert jobs["publish-docs"] == "manual"
    assert jobs["announce"] == "created"
    (blocker,) = [j for j in pipeline.jobs.list(get_all=True) if j.name == "publish-docs"]
    with pytest.raises(gitlab.GitlabJobPlayError) as caught:
        project.jobs.get(pipeline.jobs.list(scope="success", get_all=True)[0].id).play()
    assert caught.value.error_message == "400 Bad request - Unplayable Job"
    project.jobs.get(blocker.id).play()
    assert statuses(pipeline)["publish-docs"] == "pending"
    sandbox.advance(3600)
    assert project.pipelines.get(pipeline.id).status == "success"
    assert statuses(pipeline)["benchmark"] == "manual"


def test_flaky_job_passes_on_retry_and_the_old_one_is_kept(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pushed(scenario="flaky")
    project, pipeline = open_mr(gl)
    sandbox.advance(4 * 3600)
    assert project.pipelines.get(pipeline.id).status == "failed"
    (failed,) = pipeline.jobs.list(scope="failed", get_all=True)
    assert failed.name == "check-unit"
    assert failed.failure_reason == "job_execution_timeout"  # the scenario's failure_reason
    assert "test-aio-multithread" in project.jobs.get(failed.id).trace().decode()
    with pytest.raises(gitlab.GitlabJobRetryError) as caught:
        project.jobs.get(failed.id).retry()
        project.jobs.get(failed.id).retry()
    assert caught.value.error_message == "403 Forbidden - Job is not retryable"
    latest = statuses(pipeline)
    assert latest["check-unit"] == "pending" and latest["checkpatch"] == "created"
    sandbox.advance(3600)
    assert project.pipelines.get(pipeline.id).status == "success"
    attempts = [(j.name, j.status) for j in pipeline.jobs.list(include_retried=True, get_all=True)]
    assert attempts.count(("check-unit", "failed")) == 1
    assert attempts.count(("check-unit", "success")) == 1
    assert len(pipeline.jobs.list(get_all=True)) == 4


def test_child_pipeline_through_a_bridge(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pushed(scenario="child")
    project, pipeline = open_mr(gl)
    assert "cross-builds" not in statuses(pipeline)  # /jobs leaves bridges out
    sandbox.advance(700)
    (bridge,) = pipeline.bridges.list(get_all=True)
    assert bridge.name == "cross-builds" and bridge.status == "running"
    child_id = bridge.downstream_pipeline["id"]
    child = project.pipelines.get(child_id)
    assert child.source == "parent_pipeline"
    assert [p.id for p in project.pipelines.list(get_all=True)] == [pipeline.id]
    assert [p.id for p in project.pipelines.list(source="parent_pipeline", get_all=True)] == [
        child_id
    ]
    sandbox.advance(3600)
    assert statuses(child) == {"cross-arm64-system": "success", "cross-mips64el-system": "failed"}
    (bridge,) = pipeline.bridges.list(get_all=True)
    assert bridge.status == "failed"
    assert bridge.downstream_pipeline["status"] == "failed"
    assert project.pipelines.get(pipeline.id).status == "failed"
    assert statuses(pipeline)["checkpatch"] == "skipped"


def test_cancel_and_retry_a_pipeline(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pushed()
    project, pipeline = open_mr(gl)
    sandbox.advance(100)
    pipeline.cancel()
    assert project.pipelines.get(pipeline.id).status == "canceled"
    assert set(statuses(pipeline).values()) == {"canceled"}
    pipeline.retry()
    sandbox.advance(4 * 3600)
    assert project.pipelines.get(pipeline.id).status == "success"


def test_pipeline_list_filters_and_order(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pusher = pushed(branch_pipelines=True)
    project, mr_pipeline = open_mr(gl)
    head = pusher.repo.git("rev-parse", "staging")
    by_sha = project.pipelines.list(sha=head, get_all=True)
    assert [p.ref for p in by_sha] == ["staging"]
    by_source = project.pipelines.list(source="merge_request_event", get_all=True)
    assert [p.id for p in by_source] == [mr_pipeline.id]
    ascending = [p.id for p in project.pipelines.list(order_by="id", sort="asc", get_all=True)]
    assert ascending == sorted(ascending) and len(ascending) == 3
    assert project.pipelines.list(status="success", get_all=True) == []
    with pytest.raises(gitlab.GitlabListError) as caught:
        project.pipelines.list(order_by="colour", get_all=True)
    assert caught.value.response_code == 400
    sandbox.advance(4 * 3600)
    assert len(project.pipelines.list(status="success", get_all=True)) == 3


def test_pipeline_for_a_branch_through_the_api(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pusher = pushed()
    project = gl.projects.get("group/proj", lazy=True)
    created = project.pipelines.create({"ref": "staging"})
    assert (created.ref, created.source, created.status) == ("staging", "api", "pending")
    assert created.sha == pusher.repo.git("rev-parse", "staging")
    with pytest.raises(gitlab.GitlabCreateError) as caught:
        project.pipelines.create({"ref": "nope"})
    assert caught.value.response_code == 400
    sandbox.advance(4 * 3600)
    assert project.pipelines.get(created.id).status == "success"


def test_retrying_a_bridge_triggers_a_new_child(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pushed(scenario="child")
    project, pipeline = open_mr(gl)
    sandbox.advance(3 * 3600)
    (bridge,) = pipeline.bridges.list(get_all=True)
    assert bridge.status == "failed"
    with pytest.raises(gitlab.GitlabGetError):
        project.jobs.get(bridge.id)  # /jobs/:id is for builds only
    first_child = bridge.downstream_pipeline["id"]
    retried = project.jobs.get(bridge.id, lazy=True).retry()
    assert retried["id"] != bridge.id
    (fresh,) = pipeline.bridges.list(get_all=True)
    assert fresh.id == retried["id"] and fresh.downstream_pipeline["id"] != first_child
    assert [b.id for b in pipeline.bridges.list(include_retried=True, get_all=True)] == [
        fresh.id,
        bridge.id,
    ]
    assert project.pipelines.get(pipeline.id).status == "running"


def test_cancel_leaves_manual_jobs_and_answers_200_when_nothing_is_left(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    """As GitLab's Ci::CancelPipelineService: the jobs in CANCELABLE_STATUSES end canceled,
    a manual job is not one of them; on a pipeline with nothing left the endpoint still
    answers 200 with the pipeline, unchanged."""
    pushed(scenario="manual")
    project, pipeline = open_mr(gl)
    sandbox.advance(700)  # build done, check-unit running, benchmark waiting by hand
    before = statuses(pipeline)
    assert before["check-unit"] == "running" and before["benchmark"] == "manual"
    answer = gl.http_post(f"/projects/{project.id}/pipelines/{pipeline.id}/cancel")
    assert isinstance(answer, dict) and answer["id"] == pipeline.id
    after = statuses(pipeline)
    assert after["check-unit"] == "canceled" and after["benchmark"] == "manual"
    assert after["build-system-gcc"] == "success"
    assert after["publish-docs"] == after["announce"] == "canceled"  # created: cancelable
    again = gl.http_post(f"/projects/{project.id}/pipelines/{pipeline.id}/cancel")
    assert isinstance(again, dict) and again["status"] == answer["status"]
    assert statuses(pipeline) == after
