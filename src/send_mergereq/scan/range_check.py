"""Check the commits of a range, read in parts (``scan/cut.py``) by one process or
several (``scan/workers.py``); the checks themselves run in ``checks/runner.py``'s
``Scan``, the same whichever reads the parts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from send_mergereq import git
from send_mergereq.checks.exemptions import Exemption
from send_mergereq.checks.finding import CheckContext, TagVerification
from send_mergereq.checks.runner import EnabledCheck, RunResult, Scan, TagVerifier
from send_mergereq.history import CommitRange
from send_mergereq.scan.walk import BrokenCut, Part, scan_part, whole
from send_mergereq.scan.workers import WorkerLost, scan_parts


def default_verifier(
    repo: Path, program: Callable[[Path], str | None] | None = None
) -> TagVerifier:
    """The real batch verifier for ``repo``: ``git verify-tag`` (``scan/signatures.py``,
    imported only when there are tags), git's gpg program learnt from ``program`` (a
    run's settings read it with the rest of git's config; else ``git.gpg_program``)
    once a process, not once a batch (a process verifies its tags in several batches:
    ``scan/tags_beside.py``)."""
    said: dict[Path, str | None] = {}

    def learnt(where: Path) -> str | None:
        if where not in said:
            said[where] = (program or git.gpg_program)(where)
        return said[where]

    def verify(tags: Sequence[bytes]) -> Mapping[bytes, TagVerification]:
        from send_mergereq.scan.signatures import verify_tags

        return verify_tags(repo, tags, batch=True, program=learnt)

    return verify


def check_range(
    repo: Path,
    rng: CommitRange,
    checks: Sequence[EnabledCheck],
    ctx: CheckContext,
    verifier: TagVerifier,
    *,
    parts: Iterable[Part],
    workers: int = 1,
    rules: Sequence[Exemption] = (),
) -> RunResult:
    """``run_checks`` over the commits of ``rng``, read in ``parts`` (``scan/cut.py``):
    by ``workers`` processes when there are several parts (``scan/workers.py``, the
    tags of signed merges verified while the walks run), the result the same. A cut
    that proves wrong (``BrokenCut``), or a worker killed from outside (``WorkerLost``),
    and the range is read again whole, here."""
    scan = Scan(checks, ctx, rules)
    try:
        listed = parts if isinstance(parts, Sequence) else None
        if workers > 1 and (listed is None or len(listed) > 1):
            scan_parts(scan, repo, parts, workers, verifier)
        else:
            for part in parts:
                scan_part(scan, repo, part)
    except (BrokenCut, WorkerLost):
        scan = Scan(checks, ctx, rules)
        scan_part(scan, repo, whole(rng))
    return scan.finish(verifier)
