"""REST fidelity through python-gitlab: auth, projects, protected branches, MRs, pagination."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gitlab
import pytest
import requests
from sandbox_helpers import Pusher, client

from send_mergereq.sandbox import Sandbox
from send_mergereq.sandbox.pagination import paginate


def test_bad_token_is_401_with_gitlabs_body(sandbox: Sandbox) -> None:
    sandbox.create_project("group/proj")
    bad = gitlab.Gitlab(sandbox.url, private_token="glpat-wrongwrongwrongwron")
    with pytest.raises(gitlab.GitlabAuthenticationError) as caught:
        bad.projects.get("group/proj")
    assert caught.value.response_code == 401
    assert caught.value.error_message == "401 Unauthorized"
    anonymous = requests.get(f"{sandbox.api_url}/version", timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.json() == {"message": "401 Unauthorized"}
    assert [r.authenticated for r in sandbox.request_log] == [False, False]


@pytest.mark.parametrize("style", ["PRIVATE-TOKEN", "Bearer"])
def test_token_headers(sandbox: Sandbox, style: str) -> None:
    headers = (
        {"PRIVATE-TOKEN": sandbox.token}
        if style == "PRIVATE-TOKEN"
        else {"Authorization": f"Bearer {sandbox.token}"}
    )
    answer = requests.get(f"{sandbox.api_url}/user", headers=headers, timeout=5)
    assert answer.status_code == 200
    assert answer.json()["username"] == "maintainer"


def test_token_in_url_is_flagged_and_never_logged(sandbox: Sandbox) -> None:
    answer = requests.get(f"{sandbox.api_url}/version?private_token={sandbox.token}", timeout=5)
    assert answer.status_code == 200
    (record,) = sandbox.request_log
    assert record.token_in_url
    assert sandbox.token not in repr(sandbox.request_log)
    assert record.path == "/api/v4/version?private_token=[FILTERED]"


def test_version_user_and_project_fields(sandbox: Sandbox, gl: gitlab.Gitlab) -> None:
    info = sandbox.create_project("qemu-project/qemu", merge_method="ff")
    assert gl.version()[0].startswith("17.")
    gl.auth()
    assert gl.user is not None and gl.user.username == "maintainer"
    by_path = gl.projects.get("qemu-project/qemu")
    by_id = gl.projects.get(info.id)
    assert by_path.id == by_id.id == info.id
    attrs = by_path.attributes
    assert attrs["path_with_namespace"] == "qemu-project/qemu"
    assert attrs["default_branch"] == "master"
    assert attrs["merge_method"] == "ff"
    assert attrs["merge_pipelines_enabled"] is True
    assert attrs["only_allow_merge_if_pipeline_succeeds"] is True
    assert attrs["web_url"] == f"{sandbox.url}/qemu-project/qemu"
    assert attrs["http_url_to_repo"] == f"{sandbox.url}/qemu-project/qemu.git"
    with pytest.raises(gitlab.GitlabGetError) as caught:
        gl.projects.get("qemu-project/nope")
    assert caught.value.response_code == 404
    assert caught.value.error_message == "404 Project Not Found"


def test_protected_branches(sandbox: Sandbox, gl: gitlab.Gitlab) -> None:
    sandbox.create_project("group/proj")
    project = gl.projects.get("group/proj", lazy=True)
    master = project.protectedbranches.get("master")
    assert master.name == "master"
    assert master.push_access_levels[0]["access_level"] == 40
    with pytest.raises(gitlab.GitlabGetError) as caught:
        project.protectedbranches.get("staging")
    assert caught.value.response_code == 404
    assert caught.value.error_message == "404 Not found"


def test_duplicate_merge_request_is_409(pushed: Callable[..., Pusher], gl: gitlab.Gitlab) -> None:
    pushed()
    project = gl.projects.get("group/proj", lazy=True)
    data = {"source_branch": "staging", "target_branch": "master", "title": "Pull request"}
    first = project.mergerequests.create(data)
    assert first.iid == 1 and first.state == "opened"
    assert first.web_url.endswith("/group/proj/-/merge_requests/1")
    with pytest.raises(gitlab.GitlabCreateError) as caught:
        project.mergerequests.create(data)
    assert caught.value.response_code == 409
    assert caught.value.error_message == [
        "Another open merge request already exists for this source branch: !1"
    ]


def test_merge_request_list_filters_and_update(
    pushed: Callable[..., Pusher], gl: gitlab.Gitlab
) -> None:
    pushed()
    project = gl.projects.get("group/proj", lazy=True)
    mr = project.mergerequests.create(
        {"source_branch": "staging", "target_branch": "master", "title": "v1"}
    )
    found = project.mergerequests.list(source_branch="staging", state="opened", get_all=True)
    assert [m.iid for m in found] == [mr.iid]
    assert project.mergerequests.list(source_branch="other", get_all=True) == []
    assert project.mergerequests.list(state="merged", get_all=True) == []
    mr.title, mr.description = "v2", "Pull requests:\n- net"
    mr.save()
    again = project.mergerequests.get(mr.iid)
    assert (again.title, again.description) == ("v2", "Pull requests:\n- net")
    mr.state_event = "close"
    mr.save()
    assert project.mergerequests.list(state="opened", get_all=True) == []


def test_missing_title_is_grapes_400(pushed: Callable[..., Pusher], gl: gitlab.Gitlab) -> None:
    pushed()
    data = {"source_branch": "staging", "target_branch": "master"}
    with pytest.raises(gitlab.GitlabHttpError) as caught:  # python-gitlab checks too: go raw
        gl.http_post("/projects/group%2Fproj/merge_requests", post_data=data)
    assert caught.value.response_code == 400
    assert caught.value.error_message == "title is missing"


def _mr_pipeline(gl: gitlab.Gitlab) -> Any:
    project = gl.projects.get("group/proj", lazy=True)
    project.mergerequests.create(
        {"source_branch": "staging", "target_branch": "master", "title": "Pull"}
    )
    return project.pipelines.get(project.mergerequests.get(1).head_pipeline["id"])


def test_pagination_over_250_jobs(pushed: Callable[..., Pusher], sandbox: Sandbox) -> None:
    pushed(scenario="many")
    gl = client(sandbox)
    pipeline = _mr_pipeline(gl)
    with pytest.warns(UserWarning, match="get_all=True"):
        first_page = pipeline.jobs.list()
    assert len(first_page) == 20
    everything = pipeline.jobs.list(get_all=True)
    assert len(everything) == 251
    assert len({job.id for job in everything}) == 251
    ids = [job.id for job in everything]
    assert ids == sorted(ids, reverse=True)


def test_pagination_headers_like_gitlab(pushed: Callable[..., Pusher], sandbox: Sandbox) -> None:
    pushed(scenario="many")
    pipeline = _mr_pipeline(client(sandbox))
    url = f"{sandbox.api_url}/projects/group%2Fproj/pipelines/{pipeline.id}/jobs"
    headers = {"PRIVATE-TOKEN": sandbox.token}
    answer = requests.get(url, params={"per_page": 100, "page": 2}, headers=headers, timeout=5)
    assert len(answer.json()) == 100
    h = answer.headers
    assert (h["x-page"], h["x-per-page"], h["x-total"], h["x-total-pages"]) == (
        "2",
        "100",
        "251",
        "3",
    )
    assert (h["x-next-page"], h["x-prev-page"]) == ("3", "1")
    links = requests.utils.parse_header_links(h["Link"])
    rels = {link["rel"]: link["url"] for link in links}
    assert set(rels) == {"prev", "next", "first", "last"}
    assert rels["next"].startswith(f"{sandbox.url}/api/v4/projects/group%2Fproj/pipelines/")
    assert "page=3" in rels["next"] and "per_page=100" in rels["next"]
    last = requests.get(url, params={"per_page": 500, "page": 3}, headers=headers, timeout=5)
    assert last.headers["x-per-page"] == "100"
    assert len(last.json()) == 51
    assert last.headers["x-next-page"] == ""
    assert 'rel="next"' not in last.headers["Link"]
    assert int(last.headers["RateLimit-Limit"]) > 0


def test_a_listing_over_ten_thousand_is_served_without_count() -> None:
    """GitLab counts at most 10,000 (Kaminari's MAX_COUNT_LIMIT): past that, no x-total,
    no x-total-pages and no rel="last", as for the project jobs list."""
    url = "http://sandbox.invalid/api/v4/projects/1/pipelines/5/jobs"
    _, counted = paginate(list(range(10_000)), url, "per_page=100")
    assert (counted["x-total"], counted["x-total-pages"]) == ("10000", "100")
    page, uncounted = paginate(list(range(10_001)), url, "per_page=100&page=100")
    assert page == list(range(9_900, 10_000))
    assert "x-total" not in uncounted and "x-total-pages" not in uncounted
    assert uncounted["x-next-page"] == "101"
    assert 'rel="last"' not in uncounted["Link"] and 'rel="next"' in uncounted["Link"]


def test_users_lookup(sandbox: Sandbox, gl: gitlab.Gitlab) -> None:
    assert [u.username for u in gl.users.list(username="maintainer", get_all=True)] == [
        "maintainer"
    ]
    assert gl.users.list(username="nobody", get_all=True) == []


def test_project_jobs_list_is_paginated_without_count(
    pushed: Callable[..., Pusher], sandbox: Sandbox
) -> None:
    pushed(scenario="many")
    _mr_pipeline(client(sandbox))
    answer = requests.get(
        f"{sandbox.api_url}/projects/group%2Fproj/jobs",
        headers={"PRIVATE-TOKEN": sandbox.token},
        timeout=5,
    )
    assert len(answer.json()) == 20
    assert answer.headers["x-next-page"] == "2"
    assert "x-total" not in answer.headers and "x-total-pages" not in answer.headers
    assert 'rel="last"' not in answer.headers["Link"]
    jobs = client(sandbox).projects.get("group/proj", lazy=True).jobs.list(get_all=True)
    assert len(jobs) == 251
