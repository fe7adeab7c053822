"""``status`` before any pipeline is watched: what the words name, and whether the merge
request has settled (merged or closed), so that there is nothing left to watch.

``status 42`` is the branch ``42`` when such a branch exists (on GitLab or here), else
the merge request ``!42``; the run says which it took. ``status staging`` with no open
merge request but one merged from ``staging`` at ``staging``'s head says the branch
landed (the merge request, its URL and when); ``status !1`` on a merged merge request
says it was merged. Both are outcomes, not errors: exit 0. A closed merge request is
an error, exit 2 (there is nothing to follow: reopen it or send again).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from send_mergereq import git

if TYPE_CHECKING:
    from send_mergereq.gitlab.forge import Forge
    from send_mergereq.models import MergeRequest
    from send_mergereq.run.target import Contained


def read_which(forge: Forge, repo: Path, which: str) -> tuple[str, str | None]:
    """``which`` as ``status`` takes it, and a line saying how a bare number was read: the
    branch of that name when it exists on GitLab or locally, else ``!NUMBER``."""
    if not which.isdigit():
        return which, None
    if forge.branch_head(which) is not None or git.existing_refs(repo, [f"refs/heads/{which}"]):
        return which, f"{which} is the branch {which} (for merge request !{which}, say !{which})"
    return f"!{which}", f"no branch {which}: reading {which} as merge request !{which}"


@dataclass(frozen=True)
class Settled:
    """A merge request with nothing left to watch: merged (the branch landed) or closed."""

    mr: MergeRequest
    landed_branch: bool = False  # found as the branch's last merged MR (``status BRANCH``)

    @property
    def merged(self) -> bool:
        return self.mr.state == "merged"

    def line(self) -> str:
        mr = self.mr
        into = f"{mr.source_branch} into {mr.target_branch}"
        if self.merged:
            when = f" at {mr.merged_at}" if mr.merged_at else ""
            commit = f" (merge commit {mr.merge_commit_sha[:12]})" if mr.merge_commit_sha else ""
            head = f"{mr.source_branch} landed: " if self.landed_branch else ""
            return f"{head}merge request !{mr.iid} merged {into}{when}{commit}: {mr.web_url}"
        when = f" at {mr.closed_at}" if mr.closed_at else ""
        return f"merge request !{mr.iid} ({into}) was closed{when} without merging: {mr.web_url}"

    def hint(self) -> str:
        again = f"send-mergereq {self.mr.source_branch}"
        return f"reopen it on GitLab, or send the branch again: {again}"

    def document(self) -> dict[str, Any]:
        mr = self.mr
        return {
            "verdict": "merged",
            "merge_request": {
                "iid": mr.iid, "web_url": mr.web_url, "state": mr.state,
                "source_branch": mr.source_branch, "target_branch": mr.target_branch,
                "sha": mr.sha, "merged_at": mr.merged_at, "closed_at": mr.closed_at,
                "merge_commit_sha": mr.merge_commit_sha,
            },
            "pipeline": None,
        }  # fmt: skip


def settled_mr(mr: MergeRequest) -> Settled | None:
    """``status !IID``: the merge request when it is merged or closed (``locked``, a merge
    in progress, is watched as an open one)."""
    return Settled(mr) if mr.state in ("merged", "closed") else None


def landed_branch(forge: Forge, branch: str, target: str) -> tuple[Settled | None, str | None]:
    """``status BRANCH`` with no open merge request: the merge request that landed it, when
    the last one merged from ``branch`` into ``target`` merged the branch's current head
    on GitLab (or the branch is gone); else None and a line naming that older merge."""
    merged = forge.last_merged_mr(branch, target)
    if merged is None:
        return None, None
    head = forge.branch_head(branch)
    if head is None or head == merged.sha:
        return Settled(merged, landed_branch=True), None
    when = f" at {merged.merged_at}" if merged.merged_at else ""
    return None, (
        f"the last merge request from {branch}, !{merged.iid}, merged {merged.sha[:12]}{when}; "
        f"{branch} is now at {head[:12]}"
    )


def contained_branch(forge: Forge, branch: str, target: str) -> Contained | None:
    """``status BRANCH`` with no merge request to speak of: the target on GitLab already
    contains the branch's head (landed by a fast-forward, push-only mode's landing, or by
    anyone), so there is nothing to watch."""
    from send_mergereq.run.target import contained_on_server

    head = forge.branch_head(branch)
    return contained_on_server(forge, target, branch, head) if head else None
