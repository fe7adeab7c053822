"""Git smart HTTP: real pushes with the token, GitLab's 401, protected branches, MR refs."""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Callable
from typing import Any

import gitlab
import pytest
import requests
from sandbox_helpers import Pusher, token_env

from send_mergereq.sandbox import Sandbox


def _push(
    repo: Any, url: str, *refspecs: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo.path), "push", url, *refspecs],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )


def test_unauthenticated_push_is_401_basic_realm_gitlab(
    sandbox: Sandbox, make_repo: Callable[..., Any]
) -> None:
    project = sandbox.create_project("group/proj")
    repo = make_repo()
    result = _push(repo, project.http_url_to_repo, "master", env={})
    assert result.returncode != 0
    (first, *_) = sandbox.request_log
    assert (first.status, first.kind, first.authenticated) == (401, "git", False)
    assert project.repo_path.joinpath("refs/heads/master").exists() is False
    answer = requests.get(
        f"{project.http_url_to_repo}/info/refs?service=git-receive-pack", timeout=5
    )
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="GitLab"'


@pytest.mark.parametrize(
    "header",
    ["Authorization: Bearer {}", "PRIVATE-TOKEN: {}", "basic"],
)
def test_push_with_token_any_way_gitlab_takes_it(
    sandbox: Sandbox, make_repo: Callable[..., Any], header: str
) -> None:
    project = sandbox.create_project("group/proj")
    repo = make_repo()
    if header == "basic":  # any user name, the token as the password
        pair = base64.b64encode(f"anything:{sandbox.token}".encode()).decode()
        header = f"Authorization: Basic {pair}"
        env = token_env(sandbox.token, header.replace("{}", ""))
        env["GIT_CONFIG_VALUE_0"] = header
    else:
        env = token_env(sandbox.token, header)
    result = _push(repo, project.http_url_to_repo, "master", "staging", env=env)
    assert result.returncode == 0, result.stderr
    heads = {r: repo.git("rev-parse", r) for r in ("master", "staging")}
    listing = ["for-each-ref", "--format=%(refname) %(objectname)"]
    remote = subprocess.run(
        ["git", "--git-dir", str(project.repo_path), *listing],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"refs/heads/master {heads['master']}" in remote
    assert f"refs/heads/staging {heads['staging']}" in remote
    assert all(r.authenticated for r in sandbox.request_log)
    assert sandbox.token not in repr(sandbox.request_log)


def test_private_project_fetch_needs_the_token_too(
    pushed: Callable[..., Pusher], sandbox: Sandbox, make_repo: Callable[..., Any]
) -> None:
    pusher = pushed()
    other = make_repo()
    anonymous = subprocess.run(
        ["git", "-C", str(other.path), "fetch", pusher.project.http_url_to_repo, "staging"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert anonymous.returncode != 0
    other.git("fetch", "-q", pusher.project.http_url_to_repo, "staging", env=pusher.env)
    assert other.git("rev-parse", "FETCH_HEAD") == pusher.repo.git("rev-parse", "staging")


def test_force_push_to_protected_master_is_refused(pushed: Callable[..., Pusher]) -> None:
    pusher = pushed()
    pusher.repo.git("checkout", "-q", "-b", "rewrite", "master")
    pusher.repo.git("commit", "-q", "--amend", "-m", "rewritten history")
    result = _push(pusher.repo, pusher.project.http_url_to_repo, "+rewrite:master", env=pusher.env)
    assert result.returncode != 0
    assert "not allowed to force push code to a protected branch" in result.stderr
    # a force push to an unprotected branch is fine (the tool's --force-with-lease)
    result = _push(pusher.repo, pusher.project.http_url_to_repo, "+rewrite:staging", env=pusher.env)
    assert result.returncode == 0, result.stderr


def test_merged_results_pipeline_tests_a_real_merge_commit(
    pushed: Callable[..., Pusher], gl: gitlab.Gitlab
) -> None:
    pusher = pushed()
    project = gl.projects.get("group/proj", lazy=True)
    mr = project.mergerequests.create(
        {"source_branch": "staging", "target_branch": "master", "title": "Pull"}
    )
    (listed,) = mr.pipelines.list(get_all=True)
    pipeline = project.pipelines.get(listed.id)
    assert pipeline.ref == "refs/merge-requests/1/merge"
    assert pipeline.source == "merge_request_event"
    target = pusher.repo.git("rev-parse", "master")
    source = pusher.repo.git("rev-parse", "staging")
    assert pusher.remote_git("rev-parse", "refs/merge-requests/1/merge") == pipeline.sha
    assert pusher.remote_git("rev-parse", "refs/merge-requests/1/head") == source
    parents = pusher.remote_git("log", "-1", "--format=%P", pipeline.sha).split()
    assert parents == [target, source]
    assert pusher.remote_git("rev-parse", f"{pipeline.sha}^{{tree}}") == pusher.remote_git(
        "merge-tree", "--write-tree", target, source
    )
    assert mr.sha == source and pipeline.sha != source


def test_detached_pipeline_without_merged_results(
    pushed: Callable[..., Pusher], gl: gitlab.Gitlab
) -> None:
    pusher = pushed(merge_pipelines_enabled=False)
    project = gl.projects.get("group/proj", lazy=True)
    assert project.manager.get("group/proj").merge_pipelines_enabled is False
    mr = project.mergerequests.create(
        {"source_branch": "staging", "target_branch": "master", "title": "Pull"}
    )
    (pipeline,) = mr.pipelines.list(get_all=True)
    assert pipeline.ref == "refs/merge-requests/1/head"
    assert pipeline.sha == pusher.repo.git("rev-parse", "staging")


def test_push_to_an_open_mr_makes_a_new_mr_pipeline(
    pushed: Callable[..., Pusher], gl: gitlab.Gitlab
) -> None:
    pusher = pushed()
    project = gl.projects.get("group/proj", lazy=True)
    mr = project.mergerequests.create(
        {"source_branch": "staging", "target_branch": "master", "title": "Pull"}
    )
    pusher.repo.commit("block: second pull request", filename="block.c")
    pusher.push("staging")
    pipelines = mr.pipelines.list(get_all=True)
    assert len(pipelines) == 2
    newest = project.pipelines.get(pipelines[0].id)
    head = pusher.repo.git("rev-parse", "staging")
    assert pusher.remote_git("log", "-1", "--format=%P", newest.sha).split()[1] == head
    assert project.mergerequests.get(mr.iid).sha == head


def test_branch_pipelines_on_push_when_enabled(
    pushed: Callable[..., Pusher], gl: gitlab.Gitlab
) -> None:
    pusher = pushed(branch_pipelines=True)
    project = gl.projects.get("group/proj", lazy=True)
    staging = project.pipelines.list(ref="staging", get_all=True)
    assert len(staging) == 1
    assert staging[0].source == "push"
    assert staging[0].sha == pusher.repo.git("rev-parse", "staging")
    assert [p.ref for p in project.pipelines.list(ref="master", get_all=True)] == ["master"]


def test_gzip_request_bodies_from_git_are_inflated(
    pushed: Callable[..., Pusher], make_repo: Callable[..., Any]
) -> None:
    """A fetch negotiating many local commits sends ``Content-Encoding: gzip`` (over 1 KiB)."""
    pusher = pushed()
    other = make_repo()
    stream = "".join(
        f"commit refs/heads/work\ncommitter A <a@x> {1700000000 + n} +0000\ndata 3\nc{n:02d}\n"
        + ("" if n else "from refs/heads/master\n")
        + "\n"
        for n in range(80)
    )
    other.git("fast-import", "--quiet", input=stream.encode())
    trace = {**pusher.env, "GIT_TRACE_CURL": "1", "GIT_TRACE_CURL_NO_DATA": "1"}
    result = subprocess.run(
        ["git", "-C", str(other.path), "fetch", pusher.project.http_url_to_repo, "staging"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **trace},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Content-Encoding: gzip" in result.stderr
    assert other.git("rev-parse", "FETCH_HEAD") == pusher.repo.git("rev-parse", "staging")
