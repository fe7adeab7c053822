"""``send-mergereq eject`` and ``bisect --eject``: BRANCH rebuilt, locally, as the target
plus every other pull request in the original order (``triage/eject.py`` remakes the
merges with ``apply``'s merge code), then moved by ``apply``'s compare-and-swap with the
work trees that have it checked out (clean ones only, as ``apply`` refuses a dirty one).
Nothing is pushed: the maintainer sends the branch again."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from send_mergereq import git
from send_mergereq.apply.store import move_branch
from send_mergereq.errors import ConfigError, ExitCode
from send_mergereq.triage.eject import Rebuilt, find_pull, rebuild
from send_mergereq.triage.pulls import Pull, pulls_in


@dataclass(frozen=True)
class Ejected:
    """What ejecting did: the branch, where it was and is now (unmoved: ``new == old``),
    the rebuilt branch's parts, and the exit code (8 when nothing could be rebuilt)."""

    branch: str
    old: str
    new: str
    rebuilt: Rebuilt
    checked_out: bool = False  # BRANCH is checked out (its work tree followed the move)

    @property
    def moved(self) -> bool:
        return self.new != self.old

    @property
    def exit_code(self) -> ExitCode:
        others = len(self.rebuilt.kept) + len(self.rebuilt.left_out)
        if others and not self.rebuilt.kept:
            return ExitCode.NOT_MERGED
        return ExitCode.OK

    def lines(self) -> list[str]:
        out = [f"ejected {_name(p)} from {self.branch}" for p in self.rebuilt.ejected]
        for pull, sha in self.rebuilt.kept:
            how = "kept" if sha == pull.merge else f"remade as {sha[:12]}"
            out.append(f"  {_name(pull)}: {how}")
        for left in self.rebuilt.left_out:
            out.append(f"  left out {_name(left.pull)}: {left.reason}")
            out += [f"    conflict: {path}" for path in left.conflicts[:10]]
        if not self.moved:
            out.append(f"{self.branch} left at {self.old[:12]}: nothing could be rebuilt")
            return out
        out.append(f"{self.branch}: {self.old[:12]} -> {self.new[:12]} (here; nothing pushed)")
        if self.checked_out:  # the work tree and the index go back with the branch
            out.append(f"  undo: git checkout {self.branch} && git reset --keep {self.old[:12]}")
        else:
            out.append(f"  undo: git update-ref refs/heads/{self.branch} {self.old[:12]}")
        out.append(f"next: send-mergereq {self.branch} --wait")
        return out

    def document(self) -> dict[str, object]:
        return {
            "branch": self.branch,
            "old": self.old,
            "new": self.new,
            "moved": self.moved,
            "ejected": [{"tag": p.tag or None, "merge": p.merge} for p in self.rebuilt.ejected],
            "kept": [
                {"tag": p.tag or None, "merge": p.merge, "new": sha} for p, sha in self.rebuilt.kept
            ],
            "left_out": [
                {
                    "tag": lo.pull.tag or None,
                    "merge": lo.pull.merge,
                    "reason": lo.reason,
                    "conflicts": list(lo.conflicts),
                }
                for lo in self.rebuilt.left_out
            ],
        }


def _name(pull: Pull) -> str:
    return f"{pull.tag} ({pull.merge[:12]})" if pull.tag else pull.label


def eject(repo: Path, target: str, branch: str, which: str) -> Ejected:
    """Rebuild local ``branch`` over ``target`` (a ref) without the pull request ``which``
    (its tag, or its merge's id) and move the branch.

    :raises ConfigError: no such branch or pull request, or the branch is checked out
        with uncommitted changes. :raises GitError: git fails, or the branch moved.
    """
    ref = f"refs/heads/{branch}"
    old = git.resolve_commit(repo, ref)
    if old is None:
        raise ConfigError(f"no branch {branch!r} in {repo}", hint="eject TAG|SHA [BRANCH]")
    base = git.resolve_commit(repo, target)
    if base is None:
        raise ConfigError(f"the target {target!r} is not a commit", hint="pass --target REF")
    if branch == target.removeprefix("refs/heads/"):
        raise ConfigError(f"{branch} is the target: eject rebuilds a staging branch")
    pulls = pulls_in(repo, base, old)
    pull = find_pull(pulls, which)
    if pull is None:
        named = ", ".join(p.tag or p.merge[:12] for p in pulls) or "none"
        raise ConfigError(
            f"no pull request {which!r} in {branch} over {target}",
            hint=f"name one by its tag or merge id: {named}",
        )
    worktrees = clean_worktrees(repo, branch)
    rebuilt = rebuild(repo, base, pulls, [pull])
    done = Ejected(branch, old, old, rebuilt)
    if done.exit_code is not ExitCode.OK:
        return done
    reflog = f"send-mergereq eject: {pull.tag or pull.merge[:12]}"
    move_branch(repo, ref, rebuilt.tip, old, worktrees=worktrees, reflog=reflog)
    from send_mergereq.apply import notes

    for kept, sha in rebuilt.kept:  # a remade merge keeps its email record
        if sha != kept.merge:
            notes.carry(repo, kept.merge, sha)
    return Ejected(branch, old, rebuilt.tip, rebuilt, checked_out=bool(worktrees))


def clean_worktrees(repo: Path, branch: str) -> list[Path]:
    """The work trees ``branch`` is checked out in, each clean (they follow the move).

    :raises ConfigError: one has uncommitted changes (said before any work is done:
        ``bisect --eject`` asks first, not after the bisection).
    """
    worktrees = git.worktrees_on(repo, f"refs/heads/{branch}")
    for where in worktrees:
        if git.is_dirty(where):
            raise ConfigError(
                f"{branch} is checked out in {where} with uncommitted changes",
                hint="commit or stash them first (git stash), then rerun",
            )
    return list(worktrees)
