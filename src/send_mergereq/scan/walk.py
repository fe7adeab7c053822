"""Resolve ``TARGET..BRANCH`` and read its commits as raw bytes.

A range is read in one or more parts (``scan/cut.py`` cuts a long one), each part in
one ``git rev-list --header`` walk (``git.walk_commits``) that gives every object
byte for byte, verified by its id: never one process per commit, and never re-encoded
(a message that declares an ``encoding`` keeps the very bytes the ``utf8`` check looks
for).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from send_mergereq import git
from send_mergereq.errors import ConfigError
from send_mergereq.history import CommitRange, RawCommit, parse_commit


def resolve_commit(repo: Path, ref: str, what: str) -> str:
    """The commit id ``ref`` names, or a ConfigError naming the ref."""
    if ref.startswith("-"):
        raise ConfigError(f"{what} {ref!r} is not a ref")
    sha = git.resolve_commit(repo, ref)
    if not sha:
        raise ConfigError(f"{what} {ref!r}: no such commit in {repo}")
    return sha


def resolve_range(
    repo: Path, target: str, branch: str, *, allow_empty: bool = False
) -> CommitRange:
    """Resolve both ends, with their dates, in one git (``git.commits_and_dates``), each
    alone when that cannot say it; an empty range is a usage error (nothing to send)
    unless ``allow_empty`` (a CI job checking a push that adds nothing). Only equal ends
    are caught here: a branch behind its target is caught by the walk that reads the
    range (``empty_range``), not by a second walk of the whole history."""
    both = git.commits_and_dates(repo, [target, branch])
    if both is not None:
        (target_sha, start), (branch_sha, end) = both
        return CommitRange(target, branch, target_sha, branch_sha, dates=(start, end))
    target_sha = resolve_commit(repo, target, "target")
    branch_sha = resolve_commit(repo, branch, "branch")
    rng = CommitRange(target, branch, target_sha, branch_sha)
    if target_sha == branch_sha and not allow_empty:
        raise empty_range(rng)
    return rng


def empty_range(rng: CommitRange) -> ConfigError:
    return ConfigError(
        f"{rng.spec} is empty: {rng.branch} adds nothing over {rng.target}",
        hint="merge the pull requests into the branch first, or check --target",
    )


class BrokenCut(Exception):
    """A part's walk did not show the next part's tip as a parent: the cut is wrong."""


@dataclass(frozen=True)
class Part:
    """One walk of a range cut in parts (``scan/cut.py``): ``TIP ^EXCLUDES…``; ``link``
    is the next part's tip, which one of this part's commits must have as a parent."""

    index: int
    tip: str
    excludes: tuple[str, ...]
    link: str | None = None


def whole(rng: CommitRange) -> Part:
    """The range as one part."""
    return Part(0, rng.branch_sha, (rng.target_sha,))


def read_part(repo: Path, part: Part) -> Iterator[tuple[int, git.Chunk]]:
    """Every commit of ``part`` in walk order, each read once (``git.walk_chunks``), in
    chunks, each with the number of the walk's commits before it.

    :raises BrokenCut: after the last commit, when ``part.link`` was never a parent.
    """
    linked, before = part.link is None, 0
    for chunk in git.walk_chunks(repo, part.tip, part.excludes):
        linked = linked or chunk.links_to(part.link or "")
        yield before, chunk
        before += chunk.count
    if not linked:
        raise BrokenCut(part)


def read_commits(repo: Path, rng: CommitRange) -> Iterator[RawCommit]:
    """Stream every commit of the range, newest first, parsed."""
    for _, chunk in read_part(repo, whole(rng)):
        for _, sha, raw in chunk.objects(range(chunk.count)):
            yield parse_commit(sha, raw)


class _Scan(Protocol):  # checks.runner.Scan, as reading a part needs it
    def add_chunk(self, first: int, chunk: git.Chunk) -> None: ...


def scan_part(
    scan: _Scan, repo: Path, part: Part, after_chunk: Callable[[], object] | None = None
) -> None:
    """Check every commit of ``part`` into ``scan``; positions keep the parts in order.
    ``after_chunk`` is called after each chunk (to verify tags while the walk goes on)."""
    base = part.index << 32
    for before, chunk in read_part(repo, part):
        scan.add_chunk(base + before, chunk)
        if after_chunk is not None:
            after_chunk()
