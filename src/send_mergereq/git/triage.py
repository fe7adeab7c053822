"""The pull requests of a tested staging: its first-parent chain, a range's size, the
paths two commits differ in.
"""

from __future__ import annotations

from pathlib import Path

from send_mergereq.git.process import output


def first_parent_chain(repo: Path, target: str, branch: str) -> list[str]:
    """The commits ``branch`` adds over ``target`` along its first parents, oldest first
    (``git rev-list --first-parent --reverse BRANCH ^TARGET``); both are commit ids."""
    out = output(repo, "rev-list", "--first-parent", "--reverse", branch, f"^{target}")
    return out.decode("ascii", errors="replace").split()


def count_commits(repo: Path, tip: str, exclude: str) -> int:
    """How many commits ``exclude..tip`` holds (``git rev-list --count``); commit ids."""
    return int(output(repo, "rev-list", "--count", tip, f"^{exclude}").strip() or b"0")


def changed_paths(repo: Path, old: str | None, new: str) -> list[str]:
    """The paths that differ from commit ``old`` to commit ``new`` (from the empty tree
    when ``old`` is None), as ``git diff --name-only OLD NEW`` lists them, renames as a
    deletion and an addition."""
    base = [old] if old is not None else ["--root"]
    args = ("diff-tree", "-r", "-z", "--name-only", "--no-renames", "--no-commit-id")
    out = output(repo, *args, *base, new)
    return [p.decode("utf-8", errors="replace") for p in out.split(b"\0") if p]
