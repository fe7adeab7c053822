"""Staging without a pull request: the branch rebuilt as the target plus every other pull
request, in the original order (issue 22 §4). Only objects are written here; moving the
branch (compare-and-swap, work trees) is the command's.

The pull requests before the first ejected one keep their very commits (their pipelines
stay reusable). Each later merge is remade from the same tag by ``apply``'s merge code:
``git merge-tree`` onto the new first parent, the same second parent, ``mergetag`` and
message, the maintainer as author and committer now, signed when ``commit.gpgSign`` says
so (``apply/sign.py``). A pull request is left out, and named, when it now conflicts,
when it contains an ejected one (its branch was built on it: keeping it would bring the
ejected commits back), or when it is a commit of its own after an ejected one (that
needs a cherry-pick by hand).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from send_mergereq import git
from send_mergereq.apply import sign
from send_mergereq.apply.merge import add_signature, merge_commit
from send_mergereq.checks.tags import tag_object
from send_mergereq.history import parse_commit
from send_mergereq.triage.pulls import Pull


@dataclass(frozen=True)
class LeftOut:
    """A pull request the rebuilt branch could not keep, and why."""

    pull: Pull
    reason: str
    conflicts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rebuilt:
    """The rebuilt branch: its tip (the target when nothing is left), each kept pull
    request with its commit there (the same one when untouched), the ejected and the left
    out ones."""

    tip: str
    kept: tuple[tuple[Pull, str], ...]
    ejected: tuple[Pull, ...]
    left_out: tuple[LeftOut, ...]


def find_pull(pulls: Sequence[Pull], name: str) -> Pull | None:
    """The pull request ``name`` names: its tag, or its merge's id (7 or more hex digits)."""
    by_tag = [p for p in pulls if p.tag and p.tag == name]
    if by_tag:
        return by_tag[0]
    lowered = name.lower()
    if len(lowered) >= 7 and all(c in "0123456789abcdef" for c in lowered):
        found = [p for p in pulls if p.merge.startswith(lowered)]
        return found[0] if len(found) == 1 else None
    return None


def rebuild(repo: Path, target: str, pulls: Sequence[Pull], eject: Sequence[Pull]) -> Rebuilt:
    """The branch of ``pulls`` (oldest first, over commit ``target``) without ``eject``.

    :raises GitError: git fails, or signing fails.
    """
    dropped = {p.merge for p in eject}
    ejected_tips = [_second_parent(repo, p.merge) for p in eject]
    base, changed = target, False
    kept: list[tuple[Pull, str]] = []
    left_out: list[LeftOut] = []
    for pull in pulls:
        if pull.merge in dropped:
            changed = True
            continue
        if not changed:
            base = pull.merge
            kept.append((pull, pull.merge))
            continue
        outcome = _remake(repo, base, pull, ejected_tips)
        if isinstance(outcome, LeftOut):
            left_out.append(outcome)
        else:
            base = outcome
            kept.append((pull, outcome))
    ejected = tuple(p for p in pulls if p.merge in dropped)
    return Rebuilt(base, tuple(kept), ejected, tuple(left_out))


def _second_parent(repo: Path, sha: str) -> str | None:
    commit = parse_commit(sha, git.read_object(repo, "commit", sha))
    return commit.parents[1] if len(commit.parents) > 1 else None


def _remake(repo: Path, base: str, pull: Pull, ejected_tips: Sequence[str | None]) -> str | LeftOut:
    commit = parse_commit(pull.merge, git.read_object(repo, "commit", pull.merge))
    if not commit.is_merge:
        return LeftOut(pull, "a commit of its own after an ejected one: cherry-pick it by hand")
    if len(commit.parents) != 2 or len(commit.mergetags) > 1:
        return LeftOut(pull, "an octopus merge: remake it by hand")
    theirs = commit.parents[1]
    for tip in ejected_tips:
        if tip is not None and git.is_ancestor(repo, tip, theirs):
            return LeftOut(pull, f"its branch contains the ejected {tip[:12]}")
    merged = git.merge_tree(repo, base, theirs)
    if not merged.clean:
        return LeftOut(pull, "it no longer merges cleanly", merged.conflicts)
    author = git.ident(repo, "GIT_AUTHOR_IDENT")
    committer = git.ident(repo, "GIT_COMMITTER_IDENT")
    tag = tag_object(commit.mergetags[0]) if commit.mergetags else None
    message = commit.message.decode("utf-8", errors="replace")
    raw = merge_commit(
        merged.tree, (base, theirs), author=author, committer=committer, tag=tag, message=message
    )
    if sign.wants_signing(repo):
        raw = add_signature(raw, sign.sign(repo, raw, committer))
    return git.write_commit(repo, raw)
