"""Read and check a range cut in parts (``scan/cut.py``) with several processes: each
takes the next part, walks it with its own git and checks it, so nothing but the
findings moves between processes.

The workers are forked (they inherit the checks and their context) and take parts from
one queue. A list of parts is queued oldest first: the cut assumes history grows, and
where it grows less the oldest part is the largest, which must not be what is left at
the end (synthetic 100,000 commits at an even pace: 1.18 times ``git log``, 1.54 newest
first). Parts cut along the first-parent chain are queued by a thread as the chain is
read, one for each process at once (the walks start before the chain is read to its
last cut), the rest oldest first once it is read (``_Streamed``). Each worker sends
back a ``Scan`` of its parts; this process takes parts too and merges the rest in by
stream position, so the result is the serial one.

Merges of signed tags are held back by the checks (``checks/runner.Scan``) until their
tags are verified: each process hands the tags of each part it has read to a thread of
its own, which verifies them (``verifier``, one batch a part) while the process walks
its next part, and checks those merges once its parts are done. The very first
verification of the run, whichever process makes it, runs alone (on a new, empty
GNUPGHOME it creates the keyring, which gpg processes started at once would race to
create); the others wait for it, then run at will.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from send_mergereq.checks.finding import TagVerification
from send_mergereq.checks.runner import Scan, TagVerifier
from send_mergereq.errors import GitError, SendMergereqError
from send_mergereq.scan.walk import BrokenCut, Part, scan_part

if TYPE_CHECKING:  # multiprocessing is imported when a range is cut (a short one is not)
    from concurrent.futures import Future
    from multiprocessing.connection import Connection
    from multiprocessing.queues import SimpleQueue
    from multiprocessing.sharedctypes import Synchronized


class WorkerLost(Exception):
    """A worker process reading parts of the range died without a word (killed)."""


def scan_parts(
    scan: Scan, repo: Path, parts: Iterable[Part], workers: int, verifier: TagVerifier
) -> None:
    """Check ``parts`` with ``workers`` processes (this one included) into ``scan``, the
    held-back merges' tags verified while the walks run (``verifier``). A list of parts
    is handed out oldest first; parts streamed (``cut.along_first_parents``) by a
    thread as they come (``_Streamed``), this process taking parts meanwhile.

    :raises GitError: the chain of streamed parts could not be read.
    :raises BrokenCut: a part did not link to the next (``walk.read_part``).
    """
    import multiprocessing

    fork = multiprocessing.get_context("fork")
    listed = list(parts) if isinstance(parts, Sequence) else None
    queue: SimpleQueue[Part | None] = fork.SimpleQueue()
    first = _FirstAlone(verifier, fork.Lock(), fork.Value("b", 0))
    processes = workers if listed is None else min(workers, len(listed))
    children = []
    for _ in range(1, processes):
        receive, send = fork.Pipe(duplex=False)
        args = (scan, repo, _Shared(queue, first), send)
        child = fork.Process(target=_worker, args=args, daemon=True)
        child.start()
        send.close()
        children.append((child, receive))
    streamed = _Streamed(parts, queue, processes) if listed is None else None
    try:
        if listed is not None:
            for part in [*reversed(listed), *[None] * processes]:  # one end for each process
                queue.put(part)
        _take_parts(scan, repo, _Shared(queue, first))
        for _, receive in children:
            scan.merge(_outcome(receive))
        if streamed is not None:
            streamed.finish()
    finally:
        for child, receive in children:
            receive.close()
            if child.is_alive():
                child.terminate()
            child.join()


class _Streamed:
    """Parts streamed as the first-parent chain is read (``cut.along_first_parents``),
    handed out by a thread of this process, which takes parts meanwhile: the first one
    for each process as it comes, the rest once the chain is read, oldest first (the
    oldest history, read last along the chain, is where most findings are: u-boot's
    first years have no sign-offs), then an end for each process."""

    def __init__(self, parts: Iterable[Part], queue: SimpleQueue[Part | None], ends: int) -> None:
        import threading

        self.parts, self.queue, self.ends = parts, queue, ends
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._hand_out, daemon=True)
        self.thread.start()

    def _hand_out(self) -> None:
        held: list[Part] = []
        try:
            for part in self.parts:
                if part.index < self.ends:
                    self.queue.put(part)
                else:
                    held.append(part)
            for part in reversed(held):
                self.queue.put(part)
        except BaseException as exc:  # the chain could not be read: said by finish()
            self.failed = exc
        finally:
            for _ in range(self.ends):
                self.queue.put(None)

    def finish(self) -> None:
        """Wait for the chain's end; what stopped it, raised here."""
        self.thread.join()
        if self.failed is not None:
            raise self.failed


class _FirstAlone:
    """``verifier``, the first call across the processes made alone (the others wait)."""

    def __init__(self, verifier: TagVerifier, lock: Any, made: Synchronized[int]) -> None:
        self.verifier, self.lock, self.made = verifier, lock, made

    def __call__(self, tags: Sequence[bytes]) -> Mapping[bytes, TagVerification]:
        if not self.made.value:
            with self.lock:
                if not self.made.value:
                    found = self.verifier(tags)
                    self.made.value = 1
                    return found
        return self.verifier(tags)


@dataclass(frozen=True)
class _Shared:
    """What the processes share: the parts to take (None: no more), the verifier."""

    parts: SimpleQueue[Part | None]
    verify: _FirstAlone


def _take_parts(scan: Scan, repo: Path, shared: _Shared) -> None:
    """Take parts until none is left; the held-back merges' tags verified beside, part by
    part, and those merges checked at the end."""
    from concurrent.futures import ThreadPoolExecutor  # only for a range cut in parts

    pending: list[Future[Mapping[bytes, TagVerification]]] = []
    with ThreadPoolExecutor(max_workers=1) as beside:
        try:
            while (part := shared.parts.get()) is not None:
                held = len(scan.deferred)
                scan_part(scan, repo, part)
                if tags := scan.deferred_tags(held):
                    pending.append(beside.submit(shared.verify, tags))
            verified: dict[bytes, TagVerification] = {}
            for future in pending:
                verified.update(future.result())
        finally:
            for future in pending:
                future.cancel()
    if scan.deferred:
        scan.settle(lambda _: verified)


def _worker(template: Scan, repo: Path, shared: _Shared, send: Connection) -> None:
    """In a forked process: check parts until none is left, send back the scan or what
    stopped it. Ctrl-C is the parent's business; SIGTERM (the parent stopping it) and
    SIGHUP end it through its ``finally`` blocks, so its git walk ends with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)
    outcome: tuple[str, Any]
    try:
        mine = Scan(template.checks, template.ctx, template.rules)
        _take_parts(mine, repo, shared)
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
