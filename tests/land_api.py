"""GitLab's side of landing through ``responses``: the project, the merge call, branch
heads and commits, for the Forge's landing calls and for ``run/land.py``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import responses
from responses import matchers

import gitlab_api as g
from send_mergereq.gitlab.credentials import Secret, Token
from send_mergereq.gitlab.forge import Forge

PROJECT_URL = f"{g.API}/projects/{quote(g.PROJECT_PATH, safe='')}"
MR = f"{g.P}/merge_requests/7"
MASTER, MOVED, MERGE = "1" * 40, "2" * 40, "3" * 40


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """GitLab's answers, every one of them asked for; the token never in a URL."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
    for call in mock.calls:
        assert g.TOKEN not in (call.request.url or "")


@pytest.fixture
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """python-gitlab's retries without their waits."""
    monkeypatch.setattr("gitlab.utils.time.sleep", lambda _s: None)


def connect(rsps: responses.RequestsMock, **project: Any) -> Forge:
    g.get(rsps, PROJECT_URL, g.project(**project))
    return Forge.connect(g.URL, Token(Secret(g.TOKEN), "GITLAB_TOKEN"), g.PROJECT_PATH)


def mr(**overrides: Any) -> dict[str, Any]:
    return g.merge_request(7, **overrides)


def put_merge(rsps: responses.RequestsMock, body: Any, status: int = 200) -> None:
    rsps.put(
        f"{MR}/merge",
        json=body,
        status=status,
        match=[matchers.query_param_matcher({"sha": g.HEAD})],
    )


def branch(rsps: responses.RequestsMock, sha: str, name: str = "master") -> None:
    g.get(rsps, f"{g.P}/repository/branches/{name}", {"name": name, "commit": {"id": sha}})


def commit(rsps: responses.RequestsMock, sha: str, parents: list[str]) -> None:
    body = {"id": sha, "short_id": sha[:8], "parent_ids": parents, "title": "Merge"}
    g.get(rsps, f"{g.P}/repository/commits/{sha}", body)
