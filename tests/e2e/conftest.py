"""Fixtures for the end-to-end tests: the INSTALLED ``send-mergereq`` against the sandbox over
real HTTP, with real ``git push``.

- ``sandbox``: a fresh sandbox per test (it starts in milliseconds), time frozen until the test
  sets a scale, so nothing runs before the test wants it to;
- ``maintainer``: a factory for a merge maintainer's repository (the demo's: two signed-tag
  pull requests merged into ``staging``, in its own HOME, GNUPGHOME and git config) with
  ``origin`` pointing at a fresh sandbox project and ``master`` pushed there — the token only
  in git's environment (``GIT_CONFIG_*`` ``http.extraHeader``), never in argv or a file.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import PROJECT, Maintainer, MakeMaintainer, kill_gpg_agent

from send_mergereq.demo import repo as demo_repo
from send_mergereq.sandbox import Sandbox


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[demo_repo.DemoEnv]:
    """The demo's repository, built once (it makes a gpg key); tests work on copies."""
    demo = demo_repo.build(tmp_path_factory.mktemp("demo-template"))
    yield demo
    kill_gpg_agent(demo.root / "gnupg")


def copy_demo(template: demo_repo.DemoEnv, root: Path) -> demo_repo.DemoEnv:
    """A copy of the template under ``root`` with its environment pointing at the copy."""
    shutil.copytree(
        template.root, root, symlinks=True, ignore=shutil.ignore_patterns("S.*", "*.lock")
    )
    old = str(template.root)
    env = {key: value.replace(old, str(root)) for key, value in template.env.items()}
    return demo_repo.DemoEnv(
        root=root, repo=root / template.repo.name, env=env, signing=template.signing
    )


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A sandbox with frozen time; a test fails if the sandbox hit a bug of its own.
    Parametrize it indirectly with a token to choose the token (a canary)."""
    with Sandbox(time_scale=0, token=getattr(request, "param", None)) as sb:
        yield sb
        assert sb.errors == []


@pytest.fixture
def maintainer(
    sandbox: Sandbox, demo_template: demo_repo.DemoEnv, tmp_path: Path
) -> Iterator[MakeMaintainer]:
    """Factory: ``maintainer(scenario="green", **project_options)`` -> Maintainer with
    ``origin`` the sandbox project and ``master`` pushed there; the request log starts empty."""
    made: list[Maintainer] = []

    def factory(scenario: str = "green", **options: object) -> Maintainer:
        demo = copy_demo(demo_template, tmp_path / f"maintainer{len(made)}")
        project = sandbox.create_project(PROJECT, scenario=scenario, **options)  # type: ignore[arg-type]
        who = Maintainer(demo, sandbox, project, sandbox.token)
        made.append(who)
        who.git("remote", "add", "origin", project.http_url_to_repo)
        who.git("push", "-q", "origin", "master", env=who.token_env())
        sandbox.clear_request_log()
        return who

    yield factory
    for who in made:
        kill_gpg_agent(who.demo.root / "gnupg")
