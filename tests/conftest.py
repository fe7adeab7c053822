"""Hermetic test environment and real-git repository factories.

Every test runs with HOME, XDG dirs, GNUPGHOME, git's global config and
python-gitlab's config pointed into tmp dirs, no GITLAB_TOKEN, and pinned
author/committer identities and dates, so nothing of the developer's own setup
leaks in and nothing is written to it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from keys import keys, maintainer  # noqa: F401  (session-scoped real gpg/ssh keys, see keys.py)

IDENTITY = {
    "GIT_AUTHOR_NAME": "Ada Author",
    "GIT_AUTHOR_EMAIL": "ada@example.org",
    "GIT_COMMITTER_NAME": "Max Maintainer",
    "GIT_COMMITTER_EMAIL": "max@example.org",
    "GIT_AUTHOR_DATE": "1700000000 +0000",
    "GIT_COMMITTER_DATE": "1700000000 +0000",
}


@pytest.fixture(autouse=True)
def hermetic_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    for var in list(os.environ):
        if var.startswith(("GIT_", "SEND_MERGEREQ_", "GITLAB_")) or var == "NO_COLOR":
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".state"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("PYTHON_GITLAB_CFG", str(home / ".python-gitlab.cfg"))
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    monkeypatch.setenv("GNUPGHOME", str(home / ".gnupg"))  # key fixtures point it at their keyring
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    return home


def run_git(
    repo: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None
) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args],
        input=input,
        capture_output=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode(errors="replace").strip()


@dataclass
class Repo:
    """A real repository in a tmp dir, with helpers that plant exactly what a test needs."""

    path: Path

    def git(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> str:
        return run_git(self.path, *args, input=input, env=env)

    def commit(
        self,
        subject: str,
        body: str = "",
        *,
        author: str = "Ada Author <ada@example.org>",
        signoff: str | None = "Ada Author <ada@example.org>",
        filename: str | None = None,
    ) -> str:
        """A normal commit changing one file; signed off by ``signoff`` unless None."""
        name = filename or f"file-{self.git('rev-list', '--all', '--count') or 0}.txt"
        (self.path / name).write_text(subject + "\n")
        self.git("add", name)
        message = subject + ("\n\n" + body if body else "")
        if signoff:
            message += f"\n\nSigned-off-by: {signoff}"
        self.git("commit", "-q", "--no-gpg-sign", f"--author={author}", "-m", message)
        return self.git("rev-parse", "HEAD")

    def raw_commit(self, raw: bytes, branch: str | None = None) -> str:
        """Write a commit object byte for byte (porcelain would refuse or fix it)."""
        sha = self.git("hash-object", "-t", "commit", "-w", "--literally", "--stdin", input=raw)
        if branch:
            self.git("update-ref", f"refs/heads/{branch}", sha)
        return sha

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def tree(self) -> str:
        return self.git("rev-parse", "HEAD^{tree}")


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
