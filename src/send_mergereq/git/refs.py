"""Refs: what a name resolves to, which refs exist, moving one with a compare-and-swap."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from send_mergereq.errors import GitError
from send_mergereq.git.process import query, run

_COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def resolve_commit(repo: Path, ref: str) -> str | None:
    """The commit id ``ref`` names, or None."""
    return query(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")


_SEVERAL = ("..", "^@", "^!", "^-")  # revision syntax that names more than one commit


def commits_and_dates(repo: Path, refs: Sequence[str]) -> list[tuple[str, int]] | None:
    """The commit id and committer date each of ``refs`` names, in order, from one git;
    None when it cannot be said so (a ref that names no commit, two that name the same
    one, a ref written as several commits, ``A..B``): ask ``resolve_commit`` for each."""
    if any(mark in ref for ref in refs for mark in _SEVERAL) or any(r[:1] == "-" for r in refs):
        return None
    args = ("rev-list", "--no-walk=unsorted", "--timestamp", "--end-of-options")
    done = run(repo, *args, *(f"{ref}^{{commit}}" for ref in refs))
    words = done.stdout.decode("ascii", errors="replace").split()
    if done.returncode != 0 or len(words) != 2 * len(refs):
        return None
    found = [(sha, date) for date, sha in zip(words[::2], words[1::2], strict=True)]
    if not all(date.isdigit() and _COMMIT_ID.fullmatch(sha) for sha, date in found):
        return None
    return [(sha, int(date)) for sha, date in found]


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
