"""GitLab REST v4 response bodies as GitLab documents them (trimmed to the fields that matter),
and a ``responses`` helper that registers them on exact URLs the way python-gitlab calls them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import responses
from responses import matchers

URL = "http://gitlab.test"
API = f"{URL}/api/v4"
PROJECT_PATH = "qemu-project/qemu"
PROJECT_ID = 11
P = f"{API}/projects/{PROJECT_ID}"
HEAD = "a" * 40
OLD_HEAD = "b" * 40
MERGE_SHA = "c" * 40
TOKEN = "glpat-CANARY-forge-0123456789"


def project(**overrides: Any) -> dict[str, Any]:
    body = {
        "id": PROJECT_ID,
        "description": None,
        "name": "QEMU",
        "name_with_namespace": "qemu-project / QEMU",
        "path": "qemu",
        "path_with_namespace": PROJECT_PATH,
        "default_branch": "master",
        "visibility": "public",
        "ssh_url_to_repo": f"git@gitlab.test:{PROJECT_PATH}.git",
        "http_url_to_repo": f"{URL}/{PROJECT_PATH}.git",
        "web_url": f"{URL}/{PROJECT_PATH}",
        "merge_pipelines_enabled": True,
        "merge_trains_enabled": False,
        "only_allow_merge_if_pipeline_succeeds": True,
    }
    return body | overrides


def merge_request(iid: int = 7, **overrides: Any) -> dict[str, Any]:
    body = {
        "id": 1000 + iid,
        "iid": iid,
        "project_id": PROJECT_ID,
        "title": "Merge staging: 1 pull request (pull-a)",
        "description": "old description",
        "state": "opened",
        "target_branch": "master",
        "source_branch": "staging",
        "source_project_id": PROJECT_ID,
        "target_project_id": PROJECT_ID,
        "labels": [],
        "draft": False,
        "merge_when_pipeline_succeeds": False,
        "merge_status": "can_be_merged",
        "sha": HEAD,
        "merge_commit_sha": None,
        "head_pipeline": None,
        "web_url": f"{URL}/{PROJECT_PATH}/-/merge_requests/{iid}",
    }
    return body | overrides


def pipeline(pid: int, ref: str, sha: str, status: str = "running", **more: Any) -> dict[str, Any]:
    body = {
        "id": pid,
        "iid": pid - 100,
        "project_id": PROJECT_ID,
        "sha": sha,
        "ref": ref,
        "status": status,
        "source": "merge_request_event" if ref.startswith("refs/merge-requests/") else "push",
        "created_at": "2026-11-25T14:00:00.000Z",
        "updated_at": "2026-11-25T14:00:05.000Z",
        "web_url": f"{URL}/{PROJECT_PATH}/-/pipelines/{pid}",
    }
    return body | more


def job(
    jid: int, name: str, status: str = "success", pipeline_id: int = 500, **more: Any
) -> dict[str, Any]:
    body = {
        "id": jid,
        "name": name,
        "stage": "test",
        "status": status,
        "allow_failure": False,
        "created_at": "2026-11-25T14:00:00.000Z",
        "started_at": "2026-11-25T14:00:01.000Z",
        "finished_at": "2026-11-25T14:01:01.000Z",
        "duration": 60.0,
        "queued_duration": 0.5,
        "failure_reason": "script_failure" if status == "failed" else None,
        "pipeline": {"id": pipeline_id, "project_id": PROJECT_ID, "ref": "staging", "sha": HEAD,
                     "status": "running"},
        "ref": "staging",
        "tag": False,
        "web_url": f"{URL}/{PROJECT_PATH}/-/jobs/{jid}",
    }  # fmt: skip
    return body | more


def get(rsps: responses.RequestsMock, url: str, body: Any, status: int = 200, **query: Any) -> None:
    """A GET on exactly ``url`` with exactly ``query`` (python-gitlab adds per_page to lists)."""
    rsps.get(url, json=body, status=status, match=[matchers.query_param_matcher(query)])


def paged(rsps: responses.RequestsMock, url: str, pages: Sequence[list[Any]], **query: Any) -> None:
    """``pages`` served with GitLab's offset pagination headers (Link, X-Next-Page ...)."""
    per_page = int(query.get("per_page", 20))
    for number, items in enumerate(pages, start=1):
        params = {**query} if number == 1 else {**query, "page": str(number)}
        headers = {
            "X-Page": str(number),
            "X-Per-Page": str(per_page),
            "X-Total": str(sum(len(p) for p in pages)),
            "X-Total-Pages": str(len(pages)),
        }
        if number < len(pages):
            qs = "&".join(f"{k}={v}" for k, v in {**query, "page": number + 1}.items())
            headers["X-Next-Page"] = str(number + 1)
            headers["Link"] = f'<{url}?{qs}>; rel="next"'
        rsps.get(
            url,
            body=json.dumps(items),
            content_type="application/json",
            headers=headers,
            match=[matchers.query_param_matcher({k: str(v) for k, v in params.items()})],
        )


def error(message: str) -> dict[str, str]:
    """GitLab's error body: ``{"message": ...}``."""
    return {"message": message}
