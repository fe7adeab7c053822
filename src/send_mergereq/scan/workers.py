"""Read and check a range cut in parts (``scan/cut.py``) with several processes: each
takes the next part, walks it with its own git and checks it, so nothing but the
findings moves between processes.

The workers are forked (they inherit the checks, their context and the parts) and
share one counter, the next part to take. Parts are taken oldest first: the cut assumes
history grows, and where it grows less the oldest part is the largest, which must not be
what is left at the end (synthetic 100,000 commits at an even pace: 1.18 times ``git
log``, 1.54 newest first). Each worker sends back a ``Scan`` of its parts; this process
takes parts too and merges the rest in by stream position, so the result is the serial
one.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from types import FrameType
from typing import Any

from send_mergereq.checks.runner import Scan
from send_mergereq.errors import GitError, SendMergereqError
from send_mergereq.scan.walk import BrokenCut, Part, scan_part


class WorkerLost(Exception):
    """A worker process reading parts of the range died without a word (killed)."""


def scan_parts(scan: Scan, repo: Path, parts: Sequence[Part], workers: int) -> None:
    """Check ``parts`` with ``workers`` processes (this one included) into ``scan``.

    :raises BrokenCut: a part did not link to the next (``walk.read_part``).
    """
    fork = multiprocessing.get_context("fork")
    taken: Synchronized[int] = fork.Value("i", 0)
    children = []
    for _ in range(1, min(workers, len(parts))):
        receive, send = fork.Pipe(duplex=False)
        child = fork.Process(target=_worker, args=(scan, repo, parts, taken, send), daemon=True)
        child.start()
        send.close()
        children.append((child, receive))
    try:
        _take_parts(scan, repo, parts, taken)
        for _, receive in children:
            scan.merge(_outcome(receive))
    finally:
        for child, receive in children:
            receive.close()
            if child.is_alive():
                child.terminate()
            child.join()


def _take_parts(scan: Scan, repo: Path, parts: Sequence[Part], taken: Synchronized[int]) -> None:
    while True:
        with taken.get_lock():
            index = taken.value
            taken.value = index + 1
        if index >= len(parts):
            return
        scan_part(scan, repo, parts[-1 - index])  # oldest first


def _worker(
    template: Scan, repo: Path, parts: Sequence[Part], taken: Synchronized[int], send: Connection
) -> None:
    """In a forked process: check parts until none is left, send back the scan or what
    stopped it. Ctrl-C is the parent's business; SIGTERM (the parent stopping it) and
    SIGHUP end it through its ``finally`` blocks, so its git walk ends with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)
    outcome: tuple[str, Any]
    try:
        mine = Scan(template.checks, template.ctx, template.rules)
        _take_parts(mine, repo, parts, taken)
        outcome = ("scan", mine)
    except BrokenCut:
        outcome = ("broken", None)
    except SendMergereqError as exc:
        outcome = ("git", exc.message)
    except Exception as exc:  # a bug: said by the parent as one (exit 70)
        outcome = ("bug", f"{type(exc).__name__}: {exc}")
    send.send(outcome)
    send.close()


def _stop(signum: int, frame: FrameType | None) -> None:
    del frame
    raise SystemExit(128 + signum)


def _outcome(receive: Connection) -> Scan:
    try:
        kind, value = receive.recv()
    except EOFError:  # killed from outside (the OOM killer): the range is read again
        raise WorkerLost() from None
    if kind == "broken":
        raise BrokenCut()
    if kind == "git":
        raise GitError(value)
    if kind == "bug":
        raise RuntimeError(f"in a worker process checking the range: {value}")
    assert isinstance(value, Scan)
    return value
