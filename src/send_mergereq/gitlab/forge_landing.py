"""``Forge``'s landing calls: a commit's parents, a branch's head, ancestry (GitLab's merge
base, else a bounded walk of ``parent_ids``), merging a merge request with the ``sha``
guard and the reason GitLab gives when it does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import gitlab.exceptions as glexc

from send_mergereq.errors import ForgeError, TransientForgeError, sanitize_text
from send_mergereq.gitlab.entities import MergeAttempt
from send_mergereq.gitlab.forge_pipelines import ONCE, WATCH_READ
from send_mergereq.gitlab.refusals import refusal_reason

if TYPE_CHECKING:
    from gitlab.v4.objects import Project

ANCESTRY_WALK = 200  # commits read one by one when /repository/merge_base fails
REFUSALS = (400, 405, 406, 409, 422)


class LandingCalls:
    """The landing calls of one project (mixed into ``Forge``, which has the project and
    ``_api``)."""

    project: Project

    if TYPE_CHECKING:  # Forge's own

        def _api(self, what: str) -> Any: ...

    # -- landing --------------------------------------------------------------

    def commit_parents(self, sha: str) -> tuple[str, ...]:
        """The parent ids of commit ``sha``, in order (first parent first)."""
        with self._api(f"reading commit {sha[:12]}"):
            commit = self.project.commits.get(sha, **WATCH_READ)
        return tuple(str(p) for p in commit.attributes.get("parent_ids") or ())

    def branch_head(self, branch: str) -> str | None:
        """The commit ``branch`` points at on GitLab now; None when there is no such branch."""
        with self._api(f"reading branch {branch}"):
            try:
                found = self.project.branches.get(branch, **WATCH_READ)
            except glexc.GitlabGetError as exc:
                if exc.response_code == 404:
                    return None
                raise
        commit = found.attributes.get("commit") or {}
        return str(commit["id"]) if isinstance(commit, Mapping) and commit.get("id") else None

    def contains(self, head: str, ancestor: str) -> bool:
        """Whether ``ancestor`` is ``head`` or one of its ancestors (GitLab's merge base).

        Only GitLab's own "404 Merge Base Not Found" (no common ancestor) means "no" at
        once. Any other failure of ``/repository/merge_base`` (a 400 for an unknown ref, a
        404 from an instance or proxy that does not serve it) is "unknown", never "no": the
        answer is then read from the commits' ``parent_ids``, and when that cannot tell
        either, a ForgeError says so (a failed request never makes a result stale)."""
        if head == ancestor:
            return True
        with self._api(f"finding the merge base of {head[:12]} and {ancestor[:12]}"):
            try:
                base = self.project.repository_merge_base([head, ancestor], **WATCH_READ)
            except glexc.GitlabGetError as exc:
                if exc.response_code == 404 and "merge base" in str(exc.error_message).lower():
                    return False  # GitLab's not_found!("Merge Base"): unrelated histories
                if exc.response_code not in (400, 404):
                    raise
                base = None
        if isinstance(base, Mapping) and base.get("id"):
            return base.get("id") == ancestor
        return self._contains_by_parents(head, ancestor)

    def _contains_by_parents(self, head: str, ancestor: str) -> bool:
        """The fallback of :meth:`contains`: walk ``head``'s history through the commits'
        ``parent_ids``, at most ``ANCESTRY_WALK`` commits."""
        seen, todo = {head}, [head]
        while todo:
            if len(seen) > ANCESTRY_WALK:
                raise ForgeError(
                    f"could not tell whether {head[:12]} contains {ancestor[:12]}: GitLab's "
                    f"merge base failed and {ANCESTRY_WALK} commits of its history do not tell",
                    hint="retry later, or land from a GitLab that serves /repository/merge_base",
                )
            for parent in self.commit_parents(todo.pop(0)):
                if parent == ancestor:
                    return True
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return False

    def merge_mr(self, iid: int, sha: str) -> MergeAttempt:
        """``PUT …/merge_requests/IID/merge`` with ``sha`` as the guard; never removes the source.

        GitLab answers 409 when the source head is no longer ``sha``, 405 when the MR
        cannot be merged (the reason is then read from its ``detailed_merge_status``),
        422 when the merge itself failed, 401 when this account may not merge.
        """
        mr = self.project.mergerequests.get(iid, lazy=True)
        try:
            with self._api(f"merging !{iid}"):
                try:
                    attrs: Mapping[str, Any] = mr.merge(
                        sha=sha, should_remove_source_branch=False, **ONCE
                    )
                except glexc.GitlabAuthenticationError:
                    why = "this account may not merge into the target (401); it needs a role"
                    return MergeAttempt(
                        False, reason=f"GitLab refused to merge !{iid}: {why} allowed to merge"
                    )
                except glexc.GitlabMRClosedError as exc:
                    if exc.response_code not in REFUSALS:
                        raise
                    return self._refused(iid, exc)
        except TransientForgeError as lost:
            return self._merge_lost(iid, sha, lost)
        if attrs.get("state") != "merged":
            attrs = self._reread(iid)
        if attrs.get("state") != "merged":
            return MergeAttempt(False, reason=_not_merged(iid, None, "", attrs))
        return MergeAttempt(
            True,
            merge_commit_sha=_sha(attrs.get("merge_commit_sha")),
            squash_commit_sha=_sha(attrs.get("squash_commit_sha")),
        )

    def _merge_lost(self, iid: int, sha: str, lost: TransientForgeError) -> MergeAttempt:
        """``PUT …/merge``'s answer was lost (a 5xx, a dropped connection): GitLab's merge
        runs within the request, so the MR read back says what happened. Merged at ``sha``
        is landed; merged at another head is not ours; still open: nothing landed (the merge
        is not sent again: running the command again decides anew)."""
        attrs = self._reread(iid)
        if attrs.get("state") == "merged" and attrs.get("sha") == sha:
            return MergeAttempt(
                True,
                merge_commit_sha=_sha(attrs.get("merge_commit_sha")),
                squash_commit_sha=_sha(attrs.get("squash_commit_sha")),
                answer_lost=True,
            )
        if attrs.get("state") == "merged":
            head = str(attrs.get("sha") or "")[:12]
            return MergeAttempt(
                False,
                reason=f"!{iid} was merged at {head or 'another head'}, not at the tested "
                f"{sha[:12]} (GitLab's answer to our merge was lost: {lost.message})",
            )
        raise TransientForgeError(
            f"{lost.message}; !{iid} read back is {attrs.get('state') or 'unknown'}, "
            "not merged: nothing landed",
            hint="the merge is never sent twice blindly; run the command again to land",
        ) from None

    def _refused(self, iid: int, exc: glexc.GitlabError) -> MergeAttempt:
        message = sanitize_text(str(exc.error_message or "")).strip()
        attrs: Mapping[str, Any] = {}
        if exc.response_code in (405, 406, 422):
            attrs = self._reread(iid)
        return MergeAttempt(False, reason=_not_merged(iid, exc.response_code, message, attrs))

    def _reread(self, iid: int) -> Mapping[str, Any]:
        with self._api(f"reading merge request !{iid}"):
            return dict(self.project.mergerequests.get(iid).attributes)


def _not_merged(iid: int, status: int | None, message: str, attrs: Mapping[str, Any]) -> str:
    error = attrs.get("merge_error")
    return refusal_reason(
        status,
        message or "not merged",
        iid=iid,
        detailed_status=_detailed_status(attrs),
        merge_error=sanitize_text(str(error)) if error else None,
    )


def _detailed_status(attrs: Mapping[str, Any]) -> str | None:
    if attrs.get("state") not in (None, "opened"):
        return "not_open"
    status = attrs.get("detailed_merge_status")
    return str(status) if status and status != "mergeable" else None


def _sha(value: object) -> str | None:
    return str(value) if value else None
