"""Read and check a range cut in parts (``scan/cut.py``) with several processes: each
takes the next part, walks it with its own git and checks it, so nothing but the
findings moves between processes.

The workers are forked (they inherit the checks and their context) and take parts from
one pipe, each part one record of ``_Parts.SIZE`` bytes (``os.fork`` and pipes, not
``multiprocessing`` and ``concurrent.futures``: their imports alone cost 25-35 ms before
the first walk could start). A list of parts is queued oldest first: the cut assumes
history grows, and where it grows less the oldest part is the largest, which must not be
what is left at the end (synthetic 100,000 commits at an even pace: 1.18 times ``git
log``, 1.54 newest first). Parts cut along the first-parent chain are queued by a thread
as the chain is read, one for each process at once (the walks start before the chain is
read to its last cut), the rest oldest first once it is read (``_Streamed``). Each
worker sends back a ``Scan`` of its parts, pickled through a pipe of its own; this
process takes parts too and merges the rest in by stream position: the findings of one
walk, in the order of the parts (within a part, in its own walk's order).

Merges of signed tags are held back by the checks (``checks/runner.Scan``) until their
tags are verified: each process verifies them beside its walks (``scan/tags_beside.py``:
in batches as the chunks bring them, the run's first verification alone), and checks
those merges once its parts are done.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from send_mergereq import git
from send_mergereq.checks.runner import Scan, TagVerifier
from send_mergereq.errors import GitError, SendMergereqError
from send_mergereq.scan.tags_beside import Beside, FirstAlone, wait_for
from send_mergereq.scan.walk import BrokenCut, Part, scan_part


class WorkerLost(Exception):
    """A worker process reading parts of the range died without a word (killed)."""


def scan_parts(
    scan: Scan, repo: Path, parts: Iterable[Part], workers: int, verifier: TagVerifier
) -> None:
    """Check ``parts`` with ``workers`` processes (this one included) into ``scan``, the
    held-back merges' tags verified while the walks run (``verifier``). A list of parts
    is handed out oldest first; parts streamed (``cut.along_first_parents``) by a
    thread as they come (``_Streamed``), this process taking parts meanwhile.

    :raises GitError: the chain of streamed parts could not be read, or the git of a
        walk started ahead that a worker took failed (``git.walks_ahead_ended``).
    :raises BrokenCut: a part did not link to the next (``walk.read_part``).
    :raises WorkerLost: a worker died without a word.
    """
    listed = list(parts) if isinstance(parts, Sequence) else None
    processes = workers if listed is None else min(workers, len(listed))
    git.walks_ahead_found()  # no thread of this process busy at the forks
    queue, first = _Parts(), FirstAlone(verifier, shared=scan.defer)
    children: list[tuple[int, int]] = []  # (pid, the read end of its outcome)
    streamed: _Streamed | None = None
    try:
        if listed is not None:  # before the forks: each process takes a part at once
            for part in [*reversed(listed), *[None] * processes]:  # one end for each process
                queue.put(part)
        for _ in range(1, processes):
            _fork(scan, repo, queue, first, children)
        if listed is None:  # after the forks: no copy of the thread's git in a worker
            streamed = _Streamed(parts, queue, processes)
        _take_parts(scan, repo, queue, first)
        while children:
            pid, receive = children[0]
            outcome = _outcome(receive)  # read to its end (the worker is ending), or raised
            _stop(*children.pop(0))
            scan.merge(outcome)
        if streamed is not None:
            streamed.finish()
        else:  # the walks started ahead that a worker took: waited for here
            git.walks_ahead_ended(repo, [(part.tip, part.excludes) for part in listed or ()])
    finally:
        for pid, receive in children:  # stopped: their git walks end with them
            _stop(pid, receive)
        if streamed is None or not streamed.stop():
            queue.close()  # (else the thread may still write to it: left open)
        first.close()


_STOPS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


def _fork(
    scan: Scan, repo: Path, queue: _Parts, first: FirstAlone, children: list[tuple[int, int]]
) -> None:
    """A worker process forked to take parts, ``(its pid, the read end of its outcome)``
    added to ``children``: Ctrl-C, SIGTERM and SIGHUP held back until it is there (one
    coming between the fork and the list would leave a worker no one stops)."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
    try:
        receive, send = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no process to be had (EAGAIN): said by the caller
            os.close(receive)
            os.close(send)
            raise
        if pid == 0:  # the worker: ends here, never returns to the caller's frames
            code = 70
            try:
                try:
                    os.close(receive)
                    _worker(scan, repo, queue, first, send, mask=held)
                    code = 0
                finally:
                    _ENDING.append(True)  # a SIGTERM from now on raises nothing (``_end``)
            finally:
                os._exit(code)
        os.close(send)
        children.append((pid, receive))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _stop(pid: int, receive: int) -> None:
    """A worker ended: its pipe closed, a SIGTERM if it still runs (it ends through its
    ``finally`` blocks, so its git walk ends with it), and waited for."""
    os.close(receive)
    if os.waitpid(pid, os.WNOHANG) == (0, 0):
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)


class _Parts:
    """Parts handed to the processes through one pipe, each a record of ``SIZE`` bytes
    (None: no more). A write of at most ``PIPE_BUF`` bytes is atomic, and a read of a
    record takes it whole (the pipe holds whole records only), so processes reading the
    same pipe never split one; the pipe holds 128 records, more than a range is cut in."""

    SIZE = 512

    def __init__(self) -> None:
        self.read_end, self.write_end = os.pipe()

    def put(self, part: Part | None) -> None:
        if part is None:
            record = b"-"
        else:
            words = [str(part.index), part.tip, part.link or "-", *part.excludes]
            record = " ".join(words).encode("ascii")
        if len(record) > self.SIZE:
            raise ValueError(f"a part too long to hand out: {record[:80]!r}")
        os.write(self.write_end, record.ljust(self.SIZE))

    def get(self) -> Part | None:
        record = os.read(self.read_end, self.SIZE)
        if len(record) != self.SIZE:
            raise RuntimeError(f"a part read in {len(record)} bytes, not {self.SIZE}")
        words = record.decode("ascii").split()
        if words == ["-"]:
            return None
        index, tip, link, *excludes = words
        return Part(int(index), tip, tuple(excludes), None if link == "-" else link)

    def close(self) -> None:
        os.close(self.read_end)
        os.close(self.write_end)


class _Queue(Protocol):  # _Parts, as _Streamed hands parts out
    def put(self, part: Part | None) -> None: ...


class _Streamed:
    """Parts streamed as the first-parent chain is read (``cut.along_first_parents``),
    handed out by a thread of this process, which takes parts meanwhile: the first one
    for each process as it comes, the rest once the chain is read, oldest first (the
    oldest history, read last along the chain, is where most findings are: u-boot's
    first years have no sign-offs), then an end for each process."""

    def __init__(self, parts: Iterable[Part], queue: _Queue, ends: int) -> None:
        self.parts, self.queue, self.ends = parts, queue, ends
        self.failed: BaseException | None = None
        self.stopping = False
        self.thread = threading.Thread(target=self._hand_out, daemon=True)
        self.thread.start()

    def _hand_out(self) -> None:
        held: list[Part] = []
        try:
            for part in self.parts:
                if self.stopping:  # the run ended otherwise: the chain's git stopped
                    break
                if part.index < self.ends:
                    self.queue.put(part)
                else:
                    held.append(part)
            for part in reversed(held):
                self.queue.put(part)
        except BaseException as exc:  # the chain could not be read: said by finish()
            self.failed = exc
        finally:
            if (close := getattr(self.parts, "close", None)) is not None:
                close()  # a chain left unread: its git stopped now
            for _ in range(self.ends):
                self.queue.put(None)

    def finish(self) -> None:
        """Wait for the chain's end; what stopped it, raised here."""
        self.thread.join()
        if self.failed is not None:
            raise self.failed

    def stop(self) -> bool:
        """Stop handing out, at the next part; whether the thread is still at it after a
        second."""
        self.stopping = True
        self.thread.join(timeout=1.0)
        return self.thread.is_alive()


def _take_parts(scan: Scan, repo: Path, queue: _Parts, first: FirstAlone) -> None:
    """Take parts until none is left; the held-back merges' tags verified beside, in
    batches (``tags_beside.Beside``), and those merges checked at the end."""
    beside = Beside(scan, first)
    try:
        while (part := queue.get()) is not None:
            scan_part(scan, repo, part, beside.after_chunk if scan.defer else None)
            beside.flush()
        verified = beside.result()
    finally:  # stopped: no batch started any more, the one under way waited for (its
        beside.cancelled = True  # scratch directory removed), 5 s at most
        if beside.last is not None:
            wait_for(beside.last, 5.0)
    if scan.deferred:
        scan.settle(lambda _: verified)


def _worker(
    template: Scan, repo: Path, queue: _Parts, first: FirstAlone, send: int, *, mask: set[int]
) -> None:
    """In a forked process: check parts until none is left, send back the scan or what
    stopped it. Ctrl-C is the parent's business; SIGTERM (the parent stopping it) and
    SIGHUP end it through its ``finally`` blocks, so its git walk ends with it (both held
    back until their handler is set: ``mask``, the signals blocked before the fork)."""
    import pickle

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _end)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    outcome: tuple[str, Any]
    try:
        mine = Scan(template.checks, template.ctx, template.rules)
        _take_parts(mine, repo, queue, first)
        outcome = ("scan", mine)
    except BrokenCut:
        outcome = ("broken", None)
    except SendMergereqError as exc:
        outcome = ("git", exc.message)
    except Exception as exc:  # a bug: said by the parent as one (exit 70)
        outcome = ("bug", f"{type(exc).__name__}: {exc}")
    with os.fdopen(send, "wb") as out:
        pickle.dump(outcome, out, pickle.HIGHEST_PROTOCOL)


_ENDING: list[bool] = []  # in a worker: not empty once it is ending (os._exit is next)


def _end(signum: int, frame: FrameType | None) -> None:
    """SIGTERM or SIGHUP in a worker: ends it through its ``finally`` blocks, once; a
    signal that comes while it is already ending raises nothing (it would escape the
    ``finally`` that ends the process)."""
    del frame
    if not _ENDING:
        _ENDING.append(True)
        raise SystemExit(128 + signum)


def _outcome(receive: int) -> Scan:
    """The scan a worker sent back through ``receive``, read to its end."""
    import pickle

    with os.fdopen(receive, "rb", closefd=False) as said:
        data = said.read()
    try:
        kind, value = pickle.loads(data)  # noqa: S301 - our own fork wrote it
    except Exception:  # nothing or half of it: killed from outside (the OOM killer)
        raise WorkerLost() from None
    if kind == "broken":
        raise BrokenCut()
    if kind == "git":
        raise GitError(value)
    if kind == "bug":
        raise RuntimeError(f"in a worker process checking the range: {value}")
    assert isinstance(value, Scan)
    return value
