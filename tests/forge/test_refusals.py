"""gitlab/refusals.py: GitLab's refusals of a merge, in one line."""

from __future__ import annotations

import pytest

from send_mergereq.gitlab.refusals import refusal_reason

B = "b" * 40


# -- GitLab's refusals in one line ------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "detailed", "error", "expected"),
    [
        (409, "SHA does not match HEAD of source branch: " + B, None, None,
         "GitLab refused to merge !7 (409): the source branch moved since it was tested, the "
         f"sha guard held (SHA does not match HEAD of source branch: {B})"),
        (405, "405 Method Not Allowed", "not_approved", None,
         "GitLab refused to merge !7 (405): approvals are missing"),
        (405, "405 Method Not Allowed", "discussions_not_resolved", None,
         "GitLab refused to merge !7 (405): discussions are not resolved"),
        (405, "405 Method Not Allowed", "conflict", None,
         "GitLab refused to merge !7 (405): the source branch conflicts with the target"),
        (405, "405 Method Not Allowed", None, None,
         "GitLab refused to merge !7 (405): 405 Method Not Allowed"),
        (406, "Branch cannot be merged", "conflict", None,
         "GitLab refused to merge !7 (406): the source branch conflicts with the target"),
        (422, "Branch cannot be merged", None, "Merge failed: pre-receive hook declined",
         "GitLab could not merge !7 (422 Branch cannot be merged): Merge failed: pre-receive "
         "hook declined"),
        # GitLab 17.x (lib/api/merge_requests.rb): a failed git-state check is a 422
        (422, "Branch cannot be merged", "conflict", None,
         "GitLab could not merge !7 (422 Branch cannot be merged): the source branch "
         "conflicts with the target"),
        (422, "Branch cannot be merged", "need_rebase", None,
         "GitLab could not merge !7 (422 Branch cannot be merged): it must be rebased onto "
         "the target (fast-forward or semi-linear merges)"),
        (400, "SHA must be provided when merging", None, None,
         "GitLab refused to merge !7 (400): SHA must be provided when merging"),
        (None, "not merged", "some_future_status", None,
         "GitLab refused to merge !7 (not merged): some_future_status"),
    ],
)  # fmt: skip
def test_refusal_reason(
    status: int | None, message: str, detailed: str | None, error: str | None, expected: str
) -> None:
    reason = refusal_reason(status, message, iid=7, detailed_status=detailed, merge_error=error)
    assert reason == expected
