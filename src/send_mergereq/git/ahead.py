"""Walks started before they are asked for (``walk_ahead``): a short range's git walks
while the run still imports its checks and reads its settings; ``walk.walk_chunks``
takes the one started for its arguments (``taken``), or starts its own (``start_walk``).
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from send_mergereq.git.process import Stream


def start_walk(
    repo: Path, tip: str, excludes: Sequence[str], env: Mapping[str, str] | None = None
) -> Stream:
    """``git rev-list --parents --header --encoding=none TIP ^EXCLUDE…`` started (read by
    ``walk.walk_chunks``)."""
    args = ("rev-list", "--parents", "--header", "--encoding=none", tip)
    return Stream(repo, [*args, *(f"^{sha}" for sha in excludes)], env)


_Key = tuple[str, str, tuple[str, ...]]  # (repository, tip, excludes)
_STARTED: dict[_Key, Stream] = {}  # walks started ahead (walk_ahead), not yet taken
_FINDING: list[threading.Thread] = []  # walk_ahead's threads, until a walk waits for them
_LOCK = threading.Lock()
_AHEAD_WAIT = 30.0  # seconds a walk waits for the thread finding the walk ahead


def walk_ahead(find: Callable[[], tuple[Path, str, Sequence[str]] | None]) -> None:
    """Start a walk before it is asked for: ``find``, in a thread, names it (the
    repository, the tip, the excludes; None: none to start; what it raises is dropped:
    the run finds it again its own way, and says it), and its git starts at once, so its
    own walk (all of it before it prints, on a clone without a commit-graph: 60 ms for
    u-boot's 78 commits of v2026.07-rc4..rc5) runs while the run still imports and reads
    its settings. ``walk_chunks`` for the same walk takes it (waiting for the thread
    first); a walk no one took is stopped once the checks are done
    (``stop_walks_ahead``), or at exit."""

    def start() -> None:
        try:
            found = find()
            if found is None:
                return
            repo, tip, excludes = found
            stream = start_walk(repo, tip, excludes)
        except Exception:  # the run finds it again its own way, and says it
            return
        with _LOCK:
            if not _STARTED:
                atexit.register(stop_walks_ahead)
            _STARTED[(str(repo), tip, tuple(excludes))] = stream

    thread = threading.Thread(target=start, daemon=True)
    with _LOCK:
        _FINDING.append(thread)
    thread.start()


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
        return _STARTED.pop((str(repo), tip, tuple(excludes)), None)


def stop_walks_ahead() -> None:
    """The walks started ahead that no one took, stopped (once the threads finding them
    are done): when the walks are over, and at exit."""
    walks_ahead_found()
    with _LOCK:
        left = list(_STARTED.values())
        _STARTED.clear()
    for stream in left:
        stream.stop()
