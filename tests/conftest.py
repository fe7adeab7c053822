"""Hermetic test environment and real-git repository factories.

Every test runs with HOME, XDG dirs, GNUPGHOME, git's global config and
python-gitlab's config pointed into tmp dirs, no GITLAB_TOKEN, and pinned
author/committer identities and dates, so nothing of the developer's own setup
leaks in and nothing is written to it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitrepo import IDENTITY, Repo, run_git
from keys import keys, maintainer  # noqa: F401  (session-scoped real gpg/ssh keys, see keys.py)
from land_api import no_backoff_sleep, rsps  # noqa: F401  (GitLab through responses, see land_api.py)


@pytest.fixture(scope="session", autouse=True)
def hermetic_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The whole session starts from a fresh machine: an empty HOME, no global or system git
    config and a pinned identity, before any session- or module-scoped fixture builds a
    repository (those run before the per-test ``hermetic_env`` below)."""
    home = tmp_path_factory.mktemp("session-home")
    with pytest.MonkeyPatch.context() as mp:
        _make_hermetic(mp, home)
        yield


def _make_hermetic(mp: pytest.MonkeyPatch, home: Path) -> None:
    for var in list(os.environ):
        if var.startswith(("GIT_", "SEND_MERGEREQ_", "GITLAB_", "CI_")) or var == "NO_COLOR":
            mp.delenv(var, raising=False)
    mp.setenv("HOME", str(home))
    mp.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    mp.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    mp.setenv("XDG_STATE_HOME", str(home / ".state"))
    mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    mp.setenv("PYTHON_GITLAB_CFG", str(home / ".python-gitlab.cfg"))
    mp.setenv("GIT_TERMINAL_PROMPT", "0")
    mp.setenv("GNUPGHOME", str(home / ".gnupg"))  # key fixtures point it at their keyring
    for key, value in IDENTITY.items():
        mp.setenv(key, value)


@pytest.fixture(autouse=True)
def hermetic_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    _make_hermetic(monkeypatch, home)
    return home


@pytest.fixture
def make_repo(tmp_path: Path) -> Iterator[object]:
    """Factory: ``make_repo()`` -> Repo: ``master`` with one commit, ``staging`` checked out."""
    count = 0

    def factory(name: str | None = None) -> Repo:
        nonlocal count
        count += 1
        path = tmp_path / (name or f"repo{count}")
        path.mkdir()
        run_git(path, "init", "-q", "-b", "master")
        run_git(path, "config", "commit.gpgsign", "false")
        repo = Repo(path)
        repo.commit("Initial commit", filename="README")
        repo.git("checkout", "-q", "-b", "staging")
        return repo

    yield factory
