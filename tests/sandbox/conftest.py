"""Fixtures for the sandbox fidelity tests: a sandbox on loopback, python-gitlab against it,
and a local repository that pushes to it over HTTP with the token in git's environment."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import gitlab
import pytest
from sandbox_helpers import Pusher, client, token_env

from send_mergereq.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox with frozen time: tests move it with ``sandbox.advance``. A test fails if
    the sandbox hit a bug of its own (an answer 500) while it ran."""
    with Sandbox(time_scale=0) as sb:
        yield sb
        assert sb.errors == []


@pytest.fixture
def gl(sandbox: Sandbox) -> gitlab.Gitlab:
    return client(sandbox)


@pytest.fixture
def pushed(sandbox: Sandbox, make_repo: Callable[..., Any]) -> Callable[..., Pusher]:
    """Factory: a project with ``master`` pushed and ``staging`` one commit ahead, pushed."""

    def factory(path: str = "group/proj", **options: Any) -> Pusher:
        project = sandbox.create_project(path, **options)
        repo = make_repo()
        pusher = Pusher(repo, project, token_env(sandbox.token))
        pusher.push("master")
        repo.commit("hw/net: fix the thing", filename="net.c")
        pusher.push("staging")
        return pusher

    return factory
