"""GitLab's composite status: one status for a stage or pipeline from its jobs.

A port of the rules in GitLab's ``Gitlab::Ci::Status::Composite``: a failed or canceled
job that may fail counts as *success with warnings*, a manual job that may fail is
*ignored*, and the first matching rule below wins.
"""

from __future__ import annotations

from collections.abc import Iterable

PASSED_WITH_WARNINGS = frozenset({"failed", "canceled"})
IGNORED = frozenset({"manual"})
COMPLETED = frozenset({"success", "failed", "canceled", "skipped"})
ACTIVE = frozenset({"created", "pending", "running", "manual", "waiting_for_resource"})
CANCELABLE = frozenset(  # GitLab's Ci::HasStatus::CANCELABLE_STATUSES (never a manual job)
    {"created", "waiting_for_resource", "preparing", "waiting_for_callback", "pending", "running",
     "scheduled"}
)  # fmt: skip

_ONLY_RULES: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"skipped", "ignored"}), "skipped"),
    (frozenset({"success", "skipped", "success_with_warnings", "ignored"}), "success"),
    (frozenset({"created", "success_with_warnings", "ignored"}), "created"),
    (frozenset({"preparing", "success_with_warnings", "ignored"}), "preparing"),
    (frozenset({"canceled", "success", "skipped", "success_with_warnings", "ignored"}), "canceled"),
    (frozenset({"pending", "created", "skipped", "success_with_warnings", "ignored"}), "pending"),
)
_ANY_RULES: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"running", "pending"}), "running"),
    (frozenset({"waiting_for_resource"}), "waiting_for_resource"),
    (frozenset({"manual"}), "manual"),
    (frozenset({"scheduled"}), "scheduled"),
    (frozenset({"preparing"}), "preparing"),
    (frozenset({"created"}), "running"),
)


def _classify(status: str, allow_failure: bool) -> str:
    if allow_failure and status in PASSED_WITH_WARNINGS:
        return "success_with_warnings"
    if allow_failure and status in IGNORED:
        return "ignored"
    return status


def composite(jobs: Iterable[tuple[str, bool]]) -> str | None:
    """The composite status of ``(status, allow_failure)`` pairs; None when there are none."""
    seen = {_classify(status, allow_failure) for status, allow_failure in jobs}
    if not seen:
        return None
    for allowed, result in _ONLY_RULES:
        if seen <= allowed:
            return result
    for wanted, result in _ANY_RULES:
        if seen & wanted:
            return result
    return "failed"


def has_warnings(jobs: Iterable[tuple[str, bool]]) -> bool:
    """True when a job that may fail failed or was canceled ("passed with warnings")."""
    return any(_classify(s, af) == "success_with_warnings" for s, af in jobs)
