"""Injected faults (429 with Retry-After, 502s, a dropped connection) as python-gitlab sees them."""

from __future__ import annotations

import time
from collections.abc import Callable

import gitlab
import pytest
import requests
from sandbox_helpers import Pusher, client

from send_mergereq.sandbox import Sandbox


def test_429_carries_retry_after_and_python_gitlab_waits(sandbox: Sandbox) -> None:
    sandbox.create_project("group/proj")
    sandbox.inject_fault("429", match="/projects/group%2Fproj", retry_after=1)
    started = time.monotonic()
    project = client(sandbox).projects.get("group/proj")
    assert time.monotonic() - started >= 1.0
    assert project.path_with_namespace == "group/proj"
    assert [(r.status, r.fault) for r in sandbox.request_log] == [(429, "429"), (200, None)]


def test_429_headers(sandbox: Sandbox) -> None:
    sandbox.inject_fault("429", match="/version", retry_after=7)
    answer = requests.get(
        f"{sandbox.api_url}/version", headers={"PRIVATE-TOKEN": sandbox.token}, timeout=5
    )
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "7"
    assert answer.headers["RateLimit-Remaining"] == "0"
    assert {"RateLimit-Limit", "RateLimit-Reset", "RateLimit-ResetTime"} <= set(answer.headers)


def test_502s_are_retried_by_python_gitlab(pushed: Callable[..., Pusher], sandbox: Sandbox) -> None:
    pushed()
    gl = client(sandbox)
    project = gl.projects.get("group/proj", lazy=True)
    project.mergerequests.create(
        {"source_branch": "staging", "target_branch": "master", "title": "t"}
    )
    (pipeline,) = project.pipelines.list(get_all=True)
    sandbox.inject_fault("502", match="/jobs", count=3)
    assert len(pipeline.jobs.list(get_all=True)) == 9  # green: 8 jobs and the conformance check
    faults = [r.status for r in sandbox.request_log if r.path.endswith("/jobs")]
    assert faults == [502, 502, 502, 200]
    sandbox.inject_fault("502", match="/jobs")
    strict = client(sandbox, retry_transient_errors=False)
    with pytest.raises(gitlab.GitlabListError) as caught:
        strict.projects.get("group/proj", lazy=True).pipelines.get(
            pipeline.id, lazy=True
        ).jobs.list()
    assert caught.value.response_code == 502


def test_dropped_connection_is_retried(sandbox: Sandbox) -> None:
    sandbox.create_project("group/proj")
    sandbox.inject_fault("drop", match="/projects/group%2Fproj")
    assert client(sandbox).projects.get("group/proj").id > 0
    assert [(r.status, r.fault) for r in sandbox.request_log] == [(0, "drop"), (200, None)]
    sandbox.inject_fault("drop", match="/projects/group%2Fproj")
    with pytest.raises(requests.ConnectionError):
        client(sandbox, retry_transient_errors=False).projects.get("group/proj")


def test_faults_scenario_during_a_watch(pushed: Callable[..., Pusher], sandbox: Sandbox) -> None:
    """A watch-like loop (pipeline, then its jobs, each poll) rides out every fault."""
    pushed(scenario="faults")
    project = client(sandbox).projects.get("group/proj", lazy=True)
    project.mergerequests.create(
        {"source_branch": "staging", "target_branch": "master", "title": "t"}
    )
    (listed,) = project.pipelines.list(get_all=True)
    for _ in range(40):
        pipeline = project.pipelines.get(listed.id)
        jobs = pipeline.jobs.list(get_all=True, per_page=100)
        if pipeline.status == "success":
            break
        sandbox.advance(120)
    assert pipeline.status == "success" and len(jobs) == 3
    faults = [r.fault for r in sandbox.request_log if r.fault]
    assert faults == ["429", "502", "502", "502", "drop"]
    assert sandbox.faults.pending() == 0
