"""GitLab's refusals of a merge, in words: pure text, no I/O.

``PUT …/merge_requests/:iid/merge`` answers 405/406/409/422 with a short message;
the merge request's ``detailed_merge_status`` says why. ``refusal_reason`` makes
one line of both for the user.
"""

from __future__ import annotations

# GitLab's detailed_merge_status values as the REST API sends them (17.x: the mergeability
# checks' identifiers, app/services/merge_requests/mergeability/*; GraphQL's enum names some
# differently: BLOCKED_STATUS is merge_request_blocked, EXTERNAL_STATUS_CHECKS is
# status_checks_must_pass), in words (GitLab's own reasons for a 405).
MERGE_STATUS_WORDS = {
    "approvals_syncing": "approvals are still syncing",
    "blocked_status": "it is blocked by another merge request",  # GitLab before 16.x
    "broken_status": "the source branch is broken (no commits, or a branch is missing)",
    "checking": "GitLab is still checking whether it can be merged",
    "preparing": "GitLab is still preparing it (its pipeline is being created)",
    "unchecked": "GitLab has not checked yet whether it can be merged",
    "ci_must_pass": "the pipeline must succeed first (GitLab's head pipeline has not)",
    "ci_still_running": "GitLab's head pipeline is still running",
    "commits_status": "the source branch has no commits or is missing",
    "conflict": "the source branch conflicts with the target",
    "discussions_not_resolved": "discussions are not resolved",
    "draft_status": "it is a draft",
    "status_checks_must_pass": "external status checks have not passed",
    "security_policy_pipeline_check": "a security policy's pipeline must succeed first",
    "jira_association_missing": "the title or description must reference a Jira issue",
    "merge_request_blocked": "it is blocked by another merge request",
    "merge_time": "it may not be merged before its scheduled merge time",
    "need_rebase": "it must be rebased onto the target (fast-forward or semi-linear merges)",
    "not_approved": "approvals are missing",
    "not_open": "it is not open",
    "requested_changes": "a reviewer requested changes",
    "security_policy_violations": "security policies are not satisfied",
    "security_policy_evaluation": "security policies are still being evaluated",
    "title_regex": "the title does not match the project's required pattern",
    "locked_paths": "it changes locked paths",
    "locked_lfs_files": "it changes locked LFS files",
}


def refusal_reason(
    status: int | None,
    message: str,
    *,
    iid: int,
    detailed_status: str | None = None,
    merge_error: str | None = None,
) -> str:
    """GitLab's refusal of ``PUT …/merge`` as one line naming its reason."""
    why = MERGE_STATUS_WORDS.get(detailed_status or "", detailed_status or "")
    if status == 409:
        return (
            f"GitLab refused to merge !{iid} (409): the source branch moved since it was "
            f"tested, the sha guard held ({message})"
        )
    if status in (405, 406) or (status is None and why):
        said = f" ({merge_error})" if merge_error else ""
        because = f": {why}{said}" if why else f": {merge_error or message}"
        return f"GitLab refused to merge !{iid} ({status or 'not merged'}){because}"
    if status == 422:
        # GitLab 17.x answers 422 "Branch cannot be merged" for a conflict or a needed rebase
        git_state = why if detailed_status in ("conflict", "need_rebase") else None
        extra = f": {git_state or merge_error}" if git_state or merge_error else ""
        return f"GitLab could not merge !{iid} (422 {message}){extra}"
    if status == 400:
        return f"GitLab refused to merge !{iid} (400): {message}"
    code = f" ({status})" if status else ""
    return f"GitLab did not merge !{iid}{code}: {merge_error or message}"
