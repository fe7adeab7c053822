"""triage/judge.py: a prefix passes or fails the bisected jobs as soon as they allow it."""

from __future__ import annotations

import pytest

from send_mergereq.models import Job
from send_mergereq.triage.judge import FAILED, INCONCLUSIVE, PASSED, judge


def jobs(**statuses: str) -> list[Job]:
    return [Job(id=n, name=name.replace("_", "-"), stage="test", status=status)
            for n, (name, status) in enumerate(statuses.items())]  # fmt: skip


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ({"check_qtest": "success", "check_unit": "running"}, PASSED),  # others do not matter
        ({"check_qtest": "failed", "build": "success"}, FAILED),
        ({"check_qtest": "running"}, None),
        ({"check_qtest": "pending"}, None),
        ({"check_qtest": "manual"}, None),
        ({"check_qtest": "skipped", "build": "failed"}, INCONCLUSIVE),  # broken another way
        ({"check_qtest": "canceled"}, INCONCLUSIVE),
        ({"build": "success"}, INCONCLUSIVE),  # this pipeline did not run the job
    ],
)
def test_one_job(statuses: dict[str, str], expected: str | None) -> None:
    assert judge(jobs(**statuses), ["check-qtest"]) == expected


def test_several_jobs_a_failure_decides_at_once() -> None:
    assert judge(jobs(a="failed", b="running"), ["a", "b"]) == FAILED
    assert judge(jobs(a="success", b="running"), ["a", "b"]) is None
    assert judge(jobs(a="success", b="success"), ["a", "b"]) == PASSED


def test_only_the_latest_attempt_counts() -> None:
    first = Job(id=1, name="a", stage="t", status="failed", retried=True)
    again = Job(id=2, name="a", stage="t", status="success")
    assert judge([first, again], ["a"]) == PASSED
    assert judge([first], ["a"]) == INCONCLUSIVE
