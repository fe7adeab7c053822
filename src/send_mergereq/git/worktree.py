"""Work trees: which have a branch checked out, whether one is dirty, moving one's files
as a fast-forward would.
"""

from __future__ import annotations

import re
from pathlib import Path

from send_mergereq.errors import GitError
from send_mergereq.git.process import run


def worktrees_on(repo: Path, ref: str) -> list[Path]:
    """The work trees (main and linked) that have ``ref`` checked out."""
    done = run(repo, "worktree", "list", "--porcelain")
    found: list[Path] = []
    where: Path | None = None
    for line in done.stdout.decode("utf-8", errors="replace").splitlines():
        if line.startswith("worktree "):
            where = Path(line.removeprefix("worktree "))
        elif line == f"branch {ref}" and where is not None:
            found.append(where)
    return found


def is_dirty(worktree: Path) -> bool:
    """Whether the index or a tracked file differs from HEAD in ``worktree``."""
    args = ("--no-optional-locks", "status", "--porcelain", "-z", "--untracked-files=no")
    done = run(worktree, *args)  # no index.lock taken to refresh the index
    if done.returncode != 0:
        raise GitError(f"git status in {worktree} failed: {done.reason()}")
    return bool(done.stdout)


def checkout_move(worktree: Path, old: str, new: str) -> None:
    """Update ``worktree``'s index and files from commit ``old`` to ``new`` as a merge
    that fast-forwards would (``git read-tree -m -u OLD NEW``); refuses to lose changes.
    git runs in a process group of its own: a Ctrl-C to the terminal does not cut it off
    halfway (``apply/critical.py`` defers this process's signals meanwhile)."""
    done = run(worktree, "read-tree", "-m", "-u", old, new, group=True)
    if done.returncode != 0:
        said = done.whole_reason()
        lock = re.search(r"Unable to create '(.+?\.lock)'", said)
        hint = None
        if lock is not None:  # a git killed mid-update (SIGKILL, a crash) left it
            hint = (
                f"if no git is running in {worktree}, remove {lock.group(1)}; then check "
                "'git status' there: files the interrupted update wrote are left "
                "untracked and would block it; then run it again"
            )
        raise GitError(f"could not update the work tree {worktree}: {said}", hint=hint)
