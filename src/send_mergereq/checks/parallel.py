"""Check the rest of a long range in worker processes, in batches, in order.

Two shapes. ``scan_in_workers``: the parent reads a stream of ``(id, raw)`` pairs and
hands batches to the workers. ``scan_chunks``: the parent reads the one-walk stream in
chunks (``history.read_raw_chunks``) and sends every other chunk, as bytes, to a worker
that rebuilds and verifies its objects itself (``git.CommitReader``) and checks them;
once git's walk is done it prints fast, and the rebuilding and checking is what is left
to do, on two cores.

The parent keeps reading the one ``git cat-file`` stream and hands batches of
raw objects to forked workers (which inherit the checks and their context), at
most two batches per worker in flight so memory stays flat; each worker sends
back a ``Scan`` of its batch, merged in stream order. Used only past
``runner.SERIAL_PREFIX`` commits: a short range never pays for the processes.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from pathlib import Path

from send_mergereq import git
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


_WORKER_READER: list[
    tuple[Scan, git.CommitReader]
] = []  # in a chunk worker: the scan and its reader


def _adopt_reader(scan: Scan, repo: Path) -> None:
    _WORKER_READER[:] = [(scan, git.CommitReader(repo))]


def _scan_chunk(chunk: bytes, start: int) -> Scan:
    template, reader = _WORKER_READER[0]
    part = Scan(template.checks, template.ctx, template.rules)
    part.add_many(start, reader.objects(chunk))
    return part


def scan_chunks(
    scan: Scan,
    chunks: Iterator[bytes],
    read: Callable[[bytes], list[tuple[str, bytes]]],
    *,
    start: int,
    repo: Path,
    workers: int,
) -> None:
    """Check the rest of ``chunks`` (the first at stream position ``start``): the parent
    ``read``s and checks every other chunk, ``workers`` processes take the others."""
    fork = multiprocessing.get_context("fork")
    pending: deque[Future[Scan]] = deque()
    position = start
    with ProcessPoolExecutor(
        workers, mp_context=fork, initializer=_adopt_reader, initargs=(scan, repo)
    ) as pool:
        for n, chunk in enumerate(chunks):
            if n % (workers + 1):
                pending.append(pool.submit(_scan_chunk, chunk, position))
                position += chunk.count(b"\0")
            else:
                objects = read(chunk)
                scan.add_many(position, objects)
                position += len(objects)
            while pending and (pending[0].done() or len(pending) > 2 * workers):
                scan.merge(pending.popleft().result())
        while pending:
            scan.merge(pending.popleft().result())
