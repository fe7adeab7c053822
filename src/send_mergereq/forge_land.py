"""GitLab calls for landing: commits' parents, branch heads, ancestry, the sha-guarded merge.

Like ``forge.py`` (whose ``Forge`` it works on) this module imports ``gitlab`` and
turns python-gitlab's exceptions into ours through ``forge.api``. A merge GitLab
refuses is not an exception here: it is a ``MergeAttempt`` whose ``reason`` is one
line naming GitLab's reason (``landing.refusal_reason``), because a refused merge
is an outcome (exit 7), not a failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gitlab.exceptions as glexc

from send_mergereq.forge import WATCH_READ, Forge, api
from send_mergereq.landing import refusal_reason
from send_mergereq.remote import sanitize_text

_REFUSALS = (400, 405, 406, 409, 422)


@dataclass(frozen=True)
class MergeAttempt:
    merged: bool
    merge_commit_sha: str | None = None
    squash_commit_sha: str | None = None
    reason: str | None = None  # one line when not merged


def commit_parents(forge: Forge, sha: str) -> tuple[str, ...]:
    """The parent ids of commit ``sha``, in order (first parent first)."""
    with api(f"reading commit {sha[:12]}", forge.token_source):
        commit = forge.project.commits.get(sha, **WATCH_READ)
    return tuple(str(p) for p in commit.attributes.get("parent_ids") or ())


def branch_head(forge: Forge, branch: str) -> str | None:
    """The commit ``branch`` points at on GitLab now; None when there is no such branch."""
    with api(f"reading branch {branch}", forge.token_source):
        try:
            found = forge.project.branches.get(branch, **WATCH_READ)
        except glexc.GitlabGetError as exc:
            if exc.response_code == 404:
                return None
            raise
    commit = found.attributes.get("commit") or {}
    return str(commit["id"]) if isinstance(commit, Mapping) and commit.get("id") else None


def contains(forge: Forge, head: str, ancestor: str) -> bool:
    """Whether ``ancestor`` is ``head`` or one of its ancestors (GitLab's merge base)."""
    if head == ancestor:
        return True
    with api(f"finding the merge base of {head[:12]} and {ancestor[:12]}", forge.token_source):
        try:
            base = forge.project.repository_merge_base([head, ancestor], **WATCH_READ)
        except glexc.GitlabGetError as exc:
            if exc.response_code in (400, 404):  # unrelated histories, or unknown commit
                return False
            raise
    return isinstance(base, Mapping) and base.get("id") == ancestor


def merge_mr(forge: Forge, iid: int, sha: str) -> MergeAttempt:
    """``PUT …/merge_requests/IID/merge`` with ``sha`` as the guard; never removes the source.

    GitLab answers 409 when the source head is no longer ``sha``, 405 when the MR
    cannot be merged (the reason is then read from its ``detailed_merge_status``),
    422 when the merge itself failed, 401 when this account may not merge.
    """
    mr = forge.project.mergerequests.get(iid, lazy=True)
    with api(f"merging !{iid}", forge.token_source):
        try:
            attrs: Mapping[str, Any] = mr.merge(sha=sha, should_remove_source_branch=False)
        except glexc.GitlabAuthenticationError:
            why = "this account may not merge into the target (401); it needs a role allowed to"
            return MergeAttempt(False, reason=f"GitLab refused to merge !{iid}: {why} merge")
        except glexc.GitlabMRClosedError as exc:
            if exc.response_code not in _REFUSALS:
                raise
            return _refused(forge, iid, exc)
    if attrs.get("state") != "merged":
        attrs = _reread(forge, iid)
    if attrs.get("state") != "merged":
        return MergeAttempt(False, reason=_not_merged(iid, None, "", attrs))
    return MergeAttempt(
        True,
        merge_commit_sha=_sha(attrs.get("merge_commit_sha")),
        squash_commit_sha=_sha(attrs.get("squash_commit_sha")),
    )


def _refused(forge: Forge, iid: int, exc: glexc.GitlabError) -> MergeAttempt:
    message = sanitize_text(str(exc.error_message or "")).strip()
    attrs: Mapping[str, Any] = {}
    if exc.response_code in (405, 406, 422):
        attrs = _reread(forge, iid)
    return MergeAttempt(False, reason=_not_merged(iid, exc.response_code, message, attrs))


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


def _reread(forge: Forge, iid: int) -> Mapping[str, Any]:
    with api(f"reading merge request !{iid}", forge.token_source):
        return dict(forge.project.mergerequests.get(iid).attributes)


def _sha(value: object) -> str | None:
    return str(value) if value else None
