"""Check the rest of a long range in worker processes, in batches, in order.

The parent keeps reading the one ``git cat-file`` stream and hands batches of
raw objects to forked workers (which inherit the checks and their context), at
most two batches per worker in flight so memory stays flat; each worker sends
back a ``Scan`` of its batch, merged in stream order. Used only past
``runner.SERIAL_PREFIX`` commits: a short range never pays for the processes.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice

from send_mergereq.checks.runner import Scan

BATCH = 1000  # commits per batch: about 1 MB of raw objects
_WORKER_SCAN: list[Scan] = []  # in a worker: the parent's scan, inherited through fork


def _adopt(scan: Scan) -> None:
    _WORKER_SCAN[:] = [scan]


def _scan_batch(batch: list[tuple[int, tuple[str, bytes]]]) -> Scan:
    template = _WORKER_SCAN[0]
    part = Scan(template.checks, template.ctx, template.rules)
    for position, (sha, raw) in batch:
        part.add(position, sha, raw)
    return part


def scan_in_workers(
    scan: Scan, numbered: Iterator[tuple[int, tuple[str, bytes]]], workers: int
) -> None:
    """Feed the rest of ``numbered`` to ``workers`` processes; merge what they find."""
    fork = multiprocessing.get_context("fork")
    pending: deque[Future[Scan]] = deque()
    with ProcessPoolExecutor(
        workers, mp_context=fork, initializer=_adopt, initargs=(scan,)
    ) as pool:
        while batch := list(islice(numbered, BATCH)):
            pending.append(pool.submit(_scan_batch, batch))
            if len(pending) >= 2 * workers:
                scan.merge(pending.popleft().result())
        while pending:
            scan.merge(pending.popleft().result())
