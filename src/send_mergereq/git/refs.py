"""Refs: what a name resolves to, which refs exist, moving one with a compare-and-swap."""

from __future__ import annotations

from pathlib import Path

from send_mergereq.errors import GitError
from send_mergereq.git.process import query, run


def resolve_commit(repo: Path, ref: str) -> str | None:
    """The commit id ``ref`` names, or None."""
    return query(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")


def adds_nothing(repo: Path, tip: str, exclude: str) -> bool:
    """Whether ``exclude..tip`` is empty: ``tip`` adds no commit over ``exclude``."""
    return query(repo, "rev-list", "--max-count=1", tip, f"^{exclude}") == ""


def existing_refs(repo: Path, candidates: list[str]) -> dict[str, str]:
    """Of the full ref names ``candidates``, those that exist: name -> the ref it points
    to when it is symbolic (``refs/remotes/origin/HEAD``), else ``""``."""
    out = query(repo, "for-each-ref", "--format=%(refname)%00%(symref)", *candidates) or ""
    return dict(line.split("\0", 1) for line in out.splitlines() if "\0" in line)


def has_commit(repo: Path, sha: str) -> bool:
    """Whether commit ``sha`` is in the repository's object store."""
    return run(repo, "cat-file", "-e", f"{sha}^{{commit}}").returncode == 0


ZERO_ID = "0" * 40


def update_ref(repo: Path, ref: str, new: str, old: str | None, message: str) -> None:
    """Move ``ref`` to ``new`` only if it still points at ``old`` (None: only if it does
    not exist yet): ``git update-ref -m MESSAGE REF NEW OLD``, a compare-and-swap."""
    done = run(repo, "update-ref", "-m", message, ref, new, old or ZERO_ID, group=True)
    if done.returncode != 0:
        raise GitError(
            f"could not move {ref}: {done.reason()}",
            hint="the branch moved during the run; nothing of this pull request was applied",
        )
