"""Whether a prefix of staging passes the failing jobs, from its pipeline's jobs: pure.

Only the jobs being bisected decide (issue 22 §2), and a prefix is judged as soon as
they allow it: one of them failed (the prefix fails, whatever still runs), or all of
them succeeded (it passes). A job the pipeline does not have, or one that was skipped
or canceled, tells nothing about it: ``inconclusive`` (a reused pipeline like that is
not reused). Otherwise the prefix is still running (None).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

PASSED = "passed"
FAILED = "failed"
INCONCLUSIVE = "inconclusive"
_RUNNING = frozenset({"created", "waiting_for_resource", "preparing", "pending", "running",
                      "scheduled", "manual"})  # fmt: skip


class JobLike(Protocol):
    """What judging needs of a job (``models.Job`` has it)."""

    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def retried(self) -> bool: ...


def judge(jobs: Iterable[JobLike], names: Sequence[str]) -> str | None:
    """``passed``, ``failed``, ``inconclusive``, or None while the jobs ``names`` run.

    ``jobs`` are every job of the pipeline and its children; retried attempts are
    ignored (the latest attempt of each job counts).
    """
    latest: dict[str, list[str]] = {}
    for job in jobs:
        if not job.retried:
            latest.setdefault(job.name, []).append(job.status)
    statuses = [s for name in names for s in latest.get(name, [])]
    if any(s == "failed" for s in statuses):
        return FAILED
    if any(name not in latest for name in names):
        return INCONCLUSIVE
    if any(s in _RUNNING for s in statuses):
        return None
    if all(s == "success" for s in statuses):
        return PASSED
    return INCONCLUSIVE  # skipped or canceled: the job did not run to an answer
