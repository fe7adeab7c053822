"""The target as the server sees it, around a run: fetch its head before the checks (one
ref), say when it already contains the branch (then nothing is sent: no merge request, no
pipeline), and move its remote-tracking ref after landing. Git through ``git/``, with
the session's environment (the token for its own GitLab); GitLab through ``Forge``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from send_mergereq import git
from send_mergereq.errors import GitError, sanitize_text

if TYPE_CHECKING:
    from pathlib import Path

    from send_mergereq.config import Settings
    from send_mergereq.gitlab.forge import Forge
    from send_mergereq.gitlab.session import Session


@dataclass(frozen=True)
class Contained:
    """The target already contains the branch head: there is nothing to send."""

    target: str  # the target branch name on GitLab
    target_sha: str
    branch: str
    branch_sha: str
    where: str  # "on GitLab" or "locally (REMOTE/TARGET)"

    def line(self) -> str:
        return (
            f"{self.target} already contains {self.branch} ({self.branch_sha[:12]}) "
            f"{self.where}: nothing to send, no merge request, no pipeline"
        )

    def document(self) -> dict[str, str]:
        return {
            "target": self.target,
            "target_sha": self.target_sha,
            "branch": self.branch,
            "branch_sha": self.branch_sha,
        }


def tracking_ref(settings: Settings) -> str | None:
    """``refs/remotes/REMOTE/TARGET`` when the target is the remote's own branch (a local
    target, or another remote's, is the user's business and is not fetched)."""
    remote, ref = settings.remote, settings.target
    if not remote:
        return None
    for prefix in (f"refs/remotes/{remote}/", f"{remote}/"):
        if ref.startswith(prefix) and len(ref) > len(prefix):
            return f"refs/remotes/{remote}/{ref[len(prefix) :]}"
    return None


def fetch_target(session: Session, settings: Settings) -> bool:
    """Fetch the target's head from the remote into its remote-tracking ref (nothing else);
    True when the ref moved. A GitError (exit 6) when git cannot fetch it."""
    ref = tracking_ref(settings)
    if ref is None:
        return False
    repo, remote = settings.repo, session.remote
    branch = ref.removeprefix(f"refs/remotes/{remote}/")
    before = git.resolve_commit(repo, ref)
    done = git.fetch_branch(repo, remote, branch, session.git_env())
    if done.returncode != 0:
        redirected = session.redirect_refused(done, push=False)
        if redirected is not None:
            raise redirected
        _ = session.forge  # a refused token is said as such (401), before git's own words
        raise GitError(
            f"git fetch {remote} {branch} failed: {sanitize_text(done.reason())}",
            hint="the target is fetched before the checks; --dry-run checks offline",
        )
    return git.resolve_commit(repo, ref) != before


def contained_locally(settings: Settings) -> Contained | None:
    """Whether the (just fetched) target already contains the branch head."""
    repo = settings.repo
    target_sha = git.resolve_commit(repo, settings.target)
    branch_sha = git.resolve_commit(repo, settings.branch)
    if not target_sha or not branch_sha or not git.is_ancestor(repo, branch_sha, target_sha):
        return None
    where = f"({settings.target})"
    return Contained(settings.target_branch, target_sha, settings.branch, branch_sha, where)


def contained_on_server(
    forge: Forge, target: str, branch: str, sha: str, *, checked_over: str | None = None
) -> Contained | None:
    """Whether the target's head on GitLab already contains ``sha``: one call, and a
    second (the merge base) only when the head is not ``checked_over``, the target the
    checks found ``sha`` adding commits to."""
    head = forge.branch_head(target)
    if head is None or head == checked_over or not forge.contains(head, sha):
        return None
    return Contained(target, head, branch, sha, "on GitLab")


def record_landing(session: Session, target: str, before: str | None, head: str) -> None:
    """After landing: ``REMOTE/TARGET`` is at ``head`` now. Moved with ``update-ref NEW OLD``
    when the commit is here (a fast-forward); fetched when only GitLab has it (its merge
    commit). Best effort: the next run fetches the target anyway."""
    repo: Path = session.repo
    ref = f"refs/remotes/{session.remote}/{target}"
    old = git.resolve_commit(repo, ref) if before is None else before
    if git.has_commit(repo, head):
        try:
            git.update_ref(repo, ref, head, old, "send-mergereq: landed")
        except GitError:
            pass  # it moved meanwhile: fetch what GitLab has
        else:
            return
    with contextlib.suppress(GitError):
        git.fetch_branch(repo, session.remote, target, session.git_env())
