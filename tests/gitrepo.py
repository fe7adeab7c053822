"""Real git repositories for tests: ``run_git`` and the ``Repo`` planting helpers.

A plain module (not a conftest) so that test modules import it by a unique name.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

IDENTITY = {
    "GIT_AUTHOR_NAME": "Ada Author",
    "GIT_AUTHOR_EMAIL": "ada@example.org",
    "GIT_COMMITTER_NAME": "Max Maintainer",
    "GIT_COMMITTER_EMAIL": "max@example.org",
    "GIT_AUTHOR_DATE": "1700000000 +0000",
    "GIT_COMMITTER_DATE": "1700000000 +0000",
}


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


def merge_a_side_branch(repo: Repo) -> None:
    """On ``staging``: a commit, a side branch from ``master`` merged with ``--no-ff``, then
    one more commit (a merge a shallow clone can cut off)."""
    repo.commit("A")
    repo.git("checkout", "-q", "-b", "side", "master")
    repo.commit("B")
    repo.git("checkout", "-q", "staging")
    repo.git("merge", "-q", "--no-ff", "--no-edit", "side")
    repo.commit("C")


def shallow_clone(source: Path, clone: Path, depth: int, master_depth: int | None = None) -> Path:
    """A ``--depth`` clone of ``source``'s ``staging`` over git's own transport (a local
    clone ignores the depth), with ``master`` fetched ``master_depth`` deep when given."""
    run_git(source, "clone", "-q", "--depth", str(depth), "-b", "staging", f"file://{source}",
            str(clone))  # fmt: skip
    if master_depth is not None:
        run_git(clone, "fetch", "-q", "--depth", str(master_depth), "origin", "master:master")
    return clone
