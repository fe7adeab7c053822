"""Check a long range on two cores while git prints it: chunks of records, in turns.

A ``A..B`` walk prints nothing until it is complete, then prints fast; from then
on git needs little CPU, so the checking is what is left to do. The parent reads
the walk's output in chunks of whole records (``history_fast.chunks``) and checks
every other chunk itself while one forked worker, started once the range proves
long, checks the others; every record carries its stream position, so the merged
result is the one a single pass gives (``Scan.merge``). On one core, or for a
short range, everything runs in the parent.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from send_mergereq.checks.exemptions import Exemption
from send_mergereq.checks.finding import CheckContext
from send_mergereq.checks.runner import EnabledCheck, RunResult, Scan, TagVerifier, fused_clean
from send_mergereq.history import CommitRange
from send_mergereq.history_fast import chunks, is_object, records, records_of

SHARE = int(os.environ.get("SMR_SHARE", "2"))  # the parent checks one chunk in SHARE
_WORKER: list[tuple[Scan, Path]] = []  # in the worker: the parent's scan and repo (fork)


def _adopt(scan: Scan, repo: Path) -> None:
    _WORKER[:] = [(scan, repo)]


def _scan_chunk(chunk: bytes, start: int) -> Scan:
    template, repo = _WORKER[0]
    part = Scan(template.checks, template.ctx, template.rules)
    _add(part, repo, chunk, start)
    return part


def _add(scan: Scan, repo: Path, chunk: bytes, start: int) -> None:
    if not scan.fused:
        for offset, (sha, raw) in enumerate(records(repo, chunk)):
            scan.add(start + offset, sha, raw)
        return
    # The hot loop, for the built-in checks: undo the indent of the whole chunk at
    # once, then per record: is it the stored object (its id), and is it plainly
    # clean (runner.fused_clean)? Anything else goes through Scan.add, exact.
    text = chunk.replace(b"\n    ", b"\n")
    ctx, unclean, wrong = scan.ctx, [], []
    for offset, record in enumerate(text.split(b"\0")[:-1]):
        nl = record.find(b"\n")
        sp = record.find(b" ", 0, nl)  # the id, then the parents git walks
        if sp < 0 or not is_object(record, nl):
            wrong.append(offset)  # a root to git, or not the stored object: see records()
        elif fused_clean(record, ctx, nl + 1):
            scan.count += 1
        else:
            unclean.append((offset, record[:sp].decode("ascii"), record[nl + 1 :]))
    if wrong:
        unclean += [
            (o, *pair) for o, pair in zip(wrong, records_of(repo, chunk, wrong), strict=True)
        ]
        unclean.sort()
    scan.fused = False  # those are not plainly clean: no need to ask again
    for offset, sha, raw in unclean:
        scan.add(start + offset, sha, raw)
    scan.fused = True


def scan_range(
    repo: Path,
    rng: CommitRange,
    checks: Sequence[EnabledCheck],
    ctx: CheckContext,
    verifier: TagVerifier,
    rules: Sequence[Exemption] = (),
) -> RunResult:
    """``runner.run_checks`` over the range read by ``history_fast`` (which may raise
    ``FastReadFailedError`` for the caller to fall back on ``history.read_raw``)."""
    scan = Scan(checks, ctx, rules)
    two_cores = (os.cpu_count() or 1) >= 2
    pool: ProcessPoolExecutor | None = None
    pending: deque[Future[Scan]] = deque()
    position = 0
    try:
        for n, chunk in enumerate(chunks(repo, rng)):
            if n == 1 and two_cores:  # a long range: worth a second process
                fork = multiprocessing.get_context("fork")
                pool = ProcessPoolExecutor(1, mp_context=fork, initializer=_adopt,
                                           initargs=(scan, repo))  # fmt: skip
            if pool is not None and n % SHARE:
                pending.append(pool.submit(_scan_chunk, chunk, position))
            else:
                _add(scan, repo, chunk, position)
            position += chunk.count(b"\0")
            while pending and (pending[0].done() or len(pending) > 2):
                scan.merge(pending.popleft().result())
        while pending:
            scan.merge(pending.popleft().result())
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return scan.finish(verifier)
