"""Walks started before they are asked for (``walk_ahead``): a range's git walks while the
run still imports its checks and reads its settings; ``walk.walk_chunks`` takes the one
started for its arguments (``taken``), or starts its own (``start_walk``).

A worker forked after such a walk started (``scan/workers.py``) may take it and read it,
but cannot wait for a git it did not start (``Popen.wait`` says 0 there): the process
that started it waits for it once the worker is done, and raises its failure
(``walks_ahead_ended``).
"""

from __future__ import annotations

import atexit
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from send_mergereq.git.process import Stream


def start_walk(
    repo: Path, tip: str, excludes: Sequence[str], env: Mapping[str, str] | None = None
) -> Stream:
    """``git rev-list --parents --header --encoding=none TIP ^EXCLUDE…`` started (read by
    ``walk.walk_chunks``)."""
    args = ("rev-list", "--parents", "--header", "--encoding=none", tip)
    return Stream(repo, [*args, *(f"^{sha}" for sha in excludes)], env)


_Walk = tuple[Path, str, Sequence[str]]  # (repository, tip, excludes)
_Key = tuple[str, str, tuple[str, ...]]
_STARTED: dict[_Key, Stream] = {}  # walks started ahead (walk_ahead), not yet taken
_FINDING: list[threading.Thread] = []  # walk_ahead's threads, until a walk waits for them
_LOCK = threading.Lock()
_QUICK: list[float] = []  # the switch interval before the thread's, while it runs
_ENDING: list[bool] = []  # not empty once the process is ending: no walk starts ahead
_AHEAD_WAIT = 30.0  # seconds a walk waits for the thread finding the walks ahead


def _key(repo: Path, tip: str, excludes: Sequence[str]) -> _Key:
    return (str(repo), tip, tuple(excludes))


def walk_ahead(find: Callable[[], Iterable[_Walk]]) -> None:
    """Start walks before they are asked for: ``find``, in a thread, names them (each
    started as soon as it is named; what it raises is dropped: the run finds it again
    its own way, and says it), so their own walk (all of it before git prints, on a
    clone without a commit-graph: 60 ms for u-boot's 78 commits of v2026.07-rc4..rc5)
    runs while the run still imports and reads its settings. ``walk_chunks`` for the
    same walk takes it (waiting for the thread first); a walk no one took is stopped
    once the checks are done (``stop_walks_ahead``), or at exit, however the run ends
    (Ctrl-C while the thread still finds them too: a walk is started and kept under one
    lock, and none starts once the process is ending, ``_stop_at_exit``)."""

    def start() -> None:
        try:
            _QUICK.append(sys.getswitchinterval())
            sys.setswitchinterval(0.0005)
            for repo, tip, excludes in find():
                with _LOCK:
                    if _ENDING:
                        return
                    _STARTED[_key(repo, tip, excludes)] = start_walk(repo, tip, excludes)
        except Exception:  # the run finds it again its own way, and says it
            return
        finally:
            sys.setswitchinterval(_QUICK.pop())

    thread = threading.Thread(target=start, daemon=True)
    with _LOCK:
        _FINDING.append(thread)
    thread.start()


def _stop_at_exit() -> None:
    """At exit, however the run ends: no walk starts ahead any more, and the ones started
    and not taken are stopped (the thread that finds them is not waited for: it starts
    nothing from now on)."""
    with _LOCK:
        _ENDING.append(True)
        left = list(_STARTED.values())
        _STARTED.clear()
    for stream in left:
        stream.stop()


atexit.register(_stop_at_exit)


def walks_ahead_found() -> None:
    """Wait for ``walk_ahead``'s threads (at most 30 s each): before a walk, and before a
    fork (no thread of it may hold a lock the child would inherit)."""
    with _LOCK:
        finding, _FINDING[:] = list(_FINDING), []
    for thread in finding:
        thread.join(_AHEAD_WAIT)


def taken(repo: Path, tip: str, excludes: Sequence[str]) -> Stream | None:
    """The walk started ahead for these arguments (``walk_ahead``), taken from the ones
    kept, once the threads finding them are done; None when there is none."""
    walks_ahead_found()
    with _LOCK:
        return _STARTED.pop(_key(repo, tip, excludes), None)


def walks_ahead_ended(repo: Path, walks: Iterable[tuple[str, Sequence[str]]]) -> None:
    """The walks ``(tip, excludes)`` that forked workers took from this process's walks
    ahead and read to their end, waited for (a worker cannot: ``Popen.wait`` says 0 for
    a git it did not start); a walk this process took itself is not among them.

    :raises GitError: one of them failed (one line, naming git's complaint).
    """
    with _LOCK:
        keys = [_key(repo, tip, excludes) for tip, excludes in walks]
        ended = [_STARTED.pop(key) for key in keys if key in _STARTED]
    for stream in ended:
        stream.wait()
        stream.raise_failure("git rev-list")


def stop_walks_ahead() -> None:
    """The walks started ahead that no one took, stopped (once the threads finding them
    are done): when the walks are over, and at exit."""
    walks_ahead_found()
    with _LOCK:
        left = list(_STARTED.values())
        _STARTED.clear()
    for stream in left:
        stream.stop()
