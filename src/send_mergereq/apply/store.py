"""Writing a merge ``apply`` has judged: the scratch object directory every candidate is
built in, and the one step that stores a merge and moves the branch (with its work
trees) by compare-and-swap, signals held meanwhile."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from send_mergereq import git
from send_mergereq.apply import critical
from send_mergereq.apply import merge as merging
from send_mergereq.apply import sign as signing
from send_mergereq.errors import GitError


@dataclass(frozen=True)
class Where:
    """Where a merge is written: the repository, the branch's ref, where the branch is now
    (None: absent), the work trees that have it checked out, and the scratch environment."""

    repo: Path
    ref: str
    at: str | None
    worktrees: list[Path]
    scratch: Mapping[str, str]


@contextmanager
def scratch(objects: Path) -> Iterator[Mapping[str, str]]:
    with tempfile.TemporaryDirectory(prefix="send-mergereq-apply-") as tmp:
        env = dict(os.environ)
        alternates = [str(objects), env.get("GIT_ALTERNATE_OBJECT_DIRECTORIES", "")]
        env["GIT_ALTERNATE_OBJECT_DIRECTORIES"] = os.pathsep.join(a for a in alternates if a)
        env["GIT_OBJECT_DIRECTORY"] = tmp
        yield env


def write(
    where: Where, ours: str, tip: str, raw: bytes, *, committer: bytes, message: str,
    dry_run: bool,
) -> str:  # fmt: skip
    """Store the merge and move the branch (compare-and-swap); only the scratch directory
    with --dry-run."""
    repo = where.repo
    if dry_run:
        return git.write_commit(repo, raw, env=where.scratch)
    if signing.wants_signing(repo):
        raw = merging.add_signature(raw, signing.sign(repo, raw, committer))
    git.merge_tree(repo, ours, tip)  # the same tree, now in the repository's own objects
    sha = git.write_commit(repo, raw)
    # from where the branch and its work trees are now: after a landing that is the old
    # staging, not the target the merge was built on (a two-tree read-tree from the
    # target would take the old staging's files for local changes)
    old, worktrees = where.at, where.worktrees if where.at is not None else []
    move_branch(
        repo,
        where.ref,
        sha,
        old,
        worktrees=worktrees,
        reflog=f"send-mergereq apply: {message.splitlines()[0]}",
    )
    return sha


def move_branch(
    repo: Path, ref: str, new: str, old: str | None, *, worktrees: list[Path], reflog: str
) -> None:
    """Move ``ref`` from ``old`` to ``new`` (compare-and-swap) with the work trees that
    have it checked out (clean, the caller made sure), signals held meanwhile; the work
    trees are put back when the branch moved under us. (``eject`` moves staging so too.)"""
    with critical.signals_deferred():  # the work tree and the branch move together
        for tree in worktrees:
            git.checkout_move(tree, old or "", new)
        try:
            git.update_ref(repo, ref, new, old, reflog)
        except GitError:
            for tree in worktrees:
                git.checkout_move(tree, new, old or "")
            raise
