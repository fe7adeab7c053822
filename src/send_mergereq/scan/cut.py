"""Cut a long range into parts that git walks at once, so every core reads and checks.

``A..B`` is the disjoint union of the walks ``M_i ^M_(i+1) ^A`` over a chain ``B = M_0,
M_1 … M_k`` in which each ``M_(i+1)`` is reachable from ``M_i``: every commit of the
range is in the walk of the last ``M_i`` it is reachable from. A walk that excludes
anything prints nothing until it is done, so one walk of a long range keeps all but one
core idle; cut in parts, the walks run side by side and each part is checked as soon
as its walk is done (``scan/workers.py``).

The ``M``'s are tags dated between A and B (annotated ones when there are: releases), picked
so the parts hold about as many commits each (commits per day taken to grow in a
straight line since the oldest tag). A tag's ancestry is not known before the walks, so
each such part proves its link: the next tip is a parent of one of its commits, as it
must be when it is reachable from this part's tip and not from A (``walk.Part.link``);
a wrong cut is read again whole (``walk.BrokenCut``).

Without any tag inside (a CI clone of one branch with ``--no-tags``, a mirror, a
project that does not tag), the ``M``'s are commits of B's first-parent chain, each
reachable from the one before by construction (no link to prove), at dates picked as
for tags (``chain_dates``), one part per process: B's chain is read as git walks it,
newest first (``git.first_parent_dates``), and each part is handed to the processes as
soon as the chain has passed its date (``along_first_parents``): the walks start while
the chain is still read, and it is read no further than the last cut (u-boot, 105,693
commits: 25,667 on the chain, a sixth of ``git log``'s time when read whole before any
walk).
Only a span of more than ``MIN_SPAN`` is cut, and never a shallow clone (its walks stop
at grafts a cut cannot see).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from send_mergereq import git, where
from send_mergereq.history import CommitRange, parent_count
from send_mergereq.scan import processes
from send_mergereq.scan.walk import Part, resolve_range, whole

MIN_SPAN = 90 * 86400  # seconds between the ends: below it a range is not worth cutting
LONG_SPAN = 5 * 365 * 86400  # from it, two parts per process at tags: a slow part is not
# the whole wait (each walk also costs a start and the edges it shares with the next part,
# so a shorter range is cut in one part per process; u-boot 2025.01..2026.07: 0.32 s, not
# 0.36; all of u-boot, interleaved 8x twice: 2.87 and 2.86 s in four parts, 2.95 and 2.95
# in two)


_FOUND: dict[tuple[str, str, str, int], list[Part]] = {}  # cut ahead (walk_ahead), not yet taken


def cut(repo: Path, rng: CommitRange, workers: int) -> Iterable[Part]:
    """The parts to read ``rng`` in with ``workers`` processes (the whole range as one
    part when it is short or the clone shallow): the ones ``walk_ahead`` found, else a
    list, or, along the first-parent chain, parts streamed newest first as the chain is
    read."""
    git.walks_ahead_found()
    found = _FOUND.pop((str(repo), rng.target_sha, rng.branch_sha, workers), None)
    return _cut(repo, rng, workers) if found is None else found


def _cut(repo: Path, rng: CommitRange, workers: int) -> Iterable[Part]:
    """``cut``, found here."""
    if workers < 2 or rng.target_sha == rng.branch_sha:
        return [whole(rng)]
    dates = rng.dates or git.commit_dates(repo, [rng.target_sha, rng.branch_sha])
    if len(dates) != 2:  # nothing a cut could go by
        return [whole(rng)]
    start, end = dates
    if end - start < MIN_SPAN or git.is_shallow(repo):
        return [whole(rng)]
    parts = workers * (2 if end - start >= LONG_SPAN else 1)
    tags = git.tagged_commits(repo)
    # releases are annotated tags; a lightweight one may well mark a branch never merged
    annotated = [(sha, date) for sha, date, is_annotated in tags if is_annotated]
    inside = any(start < date < end for _, date in annotated)
    candidates = annotated if inside else [(sha, date) for sha, date, _ in tags]
    if inside or any(start < date < end for _, date in candidates):
        return chain(rng, pick_tips(rng, start, end, candidates, parts))
    # along the chain, one part per process: the chain is read only as far as the last
    # cut, and the second process waits for the chain to reach its part (u-boot without
    # tags, interleaved 8x twice: 2.90 and 3.03 s in two parts, 3.10 and 3.23 s in four)
    return along_first_parents(repo, rng, chain_dates(repo, rng, start, end, workers))


def walk_ahead(
    repo_dir: Path, branch: str, *, target: str | None, remote: str | None, env: Mapping[str, str]
) -> None:
    """Start the walks of the run's range ahead (``git.walk_ahead``): their gits then walk
    while the run imports its checks and reads the rest of its settings (u-boot's
    v2025.01..v2026.07, 9,044 commits, signed tags on: the run ends 20-60 ms sooner).
    The range is found
    as the settings find it (``where.locate``) and cut as the run would cut it (``cut``,
    which then takes the parts found here); a walk that proves not to be the run's is
    stopped unread. A range cut in parts starts the walks of the parts the processes take
    first (the oldest, one each), or each part as the first-parent chain brings it."""

    def find() -> Iterator[tuple[Path, str, tuple[str, ...]]]:
        found = where.locate(repo_dir, branch, target, remote, env)
        rng = resolve_range(found.repo, found.target, branch)
        start, end = rng.dates or (0, MIN_SPAN)
        if 0 <= end - start < MIN_SPAN:  # read whole, whatever the processes
            yield found.repo, whole(rng).tip, whole(rng).excludes
            return
        workers = processes.workers()
        parts = _cut(found.repo, rng, workers)
        kept: list[Part] = []
        for part in parts:  # along the chain: each part started as it comes
            kept.append(part)
            if not isinstance(parts, list):
                yield found.repo, part.tip, part.excludes
        _FOUND[(str(found.repo), rng.target_sha, rng.branch_sha, workers)] = kept
        if isinstance(parts, list):  # the processes take the oldest first
            for part in kept[::-1][:workers]:
                yield found.repo, part.tip, part.excludes

    git.walk_ahead(find)


def chain_dates(repo: Path, rng: CommitRange, start: int, end: int, parts: int) -> list[float]:
    """The dates to cut ``rng`` at without tags: a range from a root commit is the
    project's history, its commits per day taken to grow from there as from the oldest
    tag (u-boot without tags: parts of 22,518 to 32,532 commits, as with tags; in equal
    spans of time 2,052 to 43,730); any other range is a span of a project under way,
    cut in equal spans of time."""
    head = git.read_object(repo, "commit", rng.target_sha).partition(b"\n\n")[0]
    if parent_count(head) == 0:
        return cut_dates(start, end, start, parts)
    return even_dates(start, end, parts)


def even_dates(start: int, end: int, parts: int) -> list[float]:
    """The ``parts - 1`` dates, newest first, that cut ``start..end`` in equal spans."""
    return [start + (end - start) * j / parts for j in range(parts - 1, 0, -1)]


def cut_dates(start: int, end: int, origin: int, parts: int) -> list[float]:
    """The ``parts - 1`` dates, newest first, that cut ``start..end`` into ``parts`` like
    parts when commits per day grow in a straight line from ``origin`` (the number of
    commits before a date then goes as ``(date - origin) ** 2``)."""
    low, high = (start - origin) ** 2, (end - origin) ** 2
    return [origin + math.sqrt(low + (high - low) * j / parts) for j in range(parts - 1, 0, -1)]


def along_first_parents(repo: Path, rng: CommitRange, dates: Sequence[float]) -> Iterator[Part]:
    """The parts ``M_i ^M_(i+1) ^A`` for ``M_0 = B`` and, as ``M_(i+1)``, the newest
    commit of B's first-parent chain dated before ``dates[i]``, each yielded as soon as
    the chain has reached it (the chain is read no further than the last one, never past
    A); the last part ``M_k ^A``. Each ``M_(i+1)`` is reachable from ``M_i``: no link
    to prove. A chain that cannot be read ends the run (``GitError``), as a walk would."""
    tip, index, pending = rng.branch_sha, 0, list(dates)
    chain_read = git.first_parent_dates(repo, rng.branch_sha)
    try:
        for sha, date in chain_read if pending else ():
            if sha == rng.target_sha:
                break
            if sha != tip and date < pending[0]:
                yield Part(index, tip, (rng.target_sha, sha))
                tip, index = sha, index + 1
                while pending and date < pending[0]:  # one cut per date, however far it fell
                    pending.pop(0)
                if not pending:
                    break
    finally:
        chain_read.close()
    yield Part(index, tip, (rng.target_sha,))


def pick_tips(
    rng: CommitRange, start: int, end: int, tags: Sequence[tuple[str, int]], parts: int
) -> list[str]:
    """Up to ``parts - 1`` tagged commits dated strictly between ``start`` and ``end``,
    newest first, nearest to the dates that cut the range into ``parts`` like parts."""
    inside = {sha: date for sha, date in tags if start < date < end}
    inside.pop(rng.target_sha, None)
    inside.pop(rng.branch_sha, None)
    if not inside:
        return []
    origin = min(start, *(date for _, date in tags))  # the oldest tag: the project's start
    picked: list[str] = []
    for when in cut_dates(start, end, origin, parts):  # newest first
        nearest = min(inside, key=lambda sha: (abs(inside[sha] - when), sha))
        last = inside[picked[-1]] if picked else end
        if inside[nearest] < last and nearest not in picked:
            picked.append(nearest)
    return picked


def chain(rng: CommitRange, tips: Sequence[str], *, linked: bool = True) -> list[Part]:
    """The parts ``M_i ^M_(i+1) ^A`` for ``B = M_0`` and the ``tips`` after it; each
    part proves its link to the next unless the chain is known (not ``linked``)."""
    chain_tips = [rng.branch_sha, *tips]
    parts = []
    for i, tip in enumerate(chain_tips):
        after = chain_tips[i + 1] if i + 1 < len(chain_tips) else None
        excludes = (rng.target_sha,) if after is None else (rng.target_sha, after)
        parts.append(Part(i, tip, excludes, link=after if linked else None))
    return parts
