"""A closed gate's failing jobs, seen in the target's history (issue 23, part 2): is the
job failing on the target too, flaky there, or green there (this staging broke it)?

Bounded: one listing page of the target's newest finished pipelines (``LAST`` of them,
any source), and the jobs of those not yet in ``jobs``' cache (the same cache, under the
git directory). A GitLab error here never changes the verdict: the lines are left out
and a note says why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from send_mergereq.errors import ConfigError, ForgeError, GitError
from send_mergereq.jobs.tiers import TargetHistory, target_history

if TYPE_CHECKING:
    from send_mergereq.gitlab.forge import Forge
    from send_mergereq.watch.types import WatchResult

LAST = 50


def histories(
    forge: Forge, repo: Path, ref: str, jobs: Sequence[str], *, use_cache: bool = True
) -> dict[str, TargetHistory]:
    """Each of ``jobs`` in the newest ``LAST`` finished pipelines of ``ref`` (a job that did
    not run there has no history: nothing to compare with)."""
    if not jobs:
        return {}
    from send_mergereq import git
    from send_mergereq.gitlab.history import cache_key, fetch_history, recent_finished
    from send_mergereq.jobs.cache import JobsCache, cache_path

    listed = recent_finished(forge, ref, LAST)
    where = cache_path(git.common_dir(repo), *cache_key(forge))
    cache = JobsCache(where if use_cache else None)
    records, _ = fetch_history(forge, listed, cache.get)
    cache.save(records)
    found = {name: target_history(ref, name, records, LAST) for name in jobs}
    return {name: history for name, history in found.items() if history.runs}  # ran there


def said(
    forge: Forge, repo: Path, ref: str, jobs: Sequence[str], note: Callable[[str], None]
) -> Mapping[str, TargetHistory]:
    """:func:`histories`, or nothing (and a note) when GitLab or the cache fails."""
    try:
        return histories(forge, repo, ref, jobs)
    except (ForgeError, GitError, ConfigError) as exc:
        note(f"{ref}'s history not read: {exc.message}")
        return {}


def of_closed_gate(
    forge: Forge, repo: Path, ref: str, watched: WatchResult, note: Callable[[str], None]
) -> Mapping[str, TargetHistory]:
    """:func:`said` for the failing gating jobs of a closed, uninterrupted gate; nothing
    for any other verdict."""
    from send_mergereq.gate import Outcome

    failed = watched.verdict.failed_gating
    if watched.interrupted or watched.verdict.outcome is not Outcome.CLOSED or not failed:
        return {}
    return said(forge, repo, ref, list(dict.fromkeys(job.name for job in failed)), note)
