"""Wall-clock deadlines for blocking network I/O (stdlib only, no python-gitlab).

requests' read timeout restarts with every byte, so a server that drips one byte a
second never times out. ``bounded(limit)`` puts a total bound on a block: when it
passes, ``Expired`` is raised in the middle of whatever read was blocking (a
``SIGALRM`` timer; in the main thread only, elsewhere the block runs unbounded).
``overall(seconds)`` sets a bound on everything inside it (``--timeout``): every
``bounded`` block ends at the earlier of its own limit and that one, and says which
of the two it was.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import FrameType

_OVERALL: ContextVar[float | None] = ContextVar("send_mergereq_overall", default=None)
_ARMED: list[float] = []  # the end of each armed block, innermost last


class Expired(Exception):
    """A ``bounded`` block ran past its end; ``overall`` when it was ``overall``'s bound."""

    def __init__(self, limit: float, *, overall: bool) -> None:
        super().__init__(f"no answer within {limit:g}s")
        self.limit = limit
        self.overall = overall


@contextmanager
def overall(seconds: float | None) -> Iterator[None]:
    """Bound every ``bounded`` block inside to ``seconds`` from now (or an earlier outer bound)."""
    end = None if seconds is None else time.monotonic() + seconds
    outer = _OVERALL.get()
    if end is None or (outer is not None and outer <= end):
        end = outer
    token = _OVERALL.set(end)
    try:
        yield
    finally:
        _OVERALL.reset(token)


def left() -> float | None:
    """Seconds until the overall bound; None without one."""
    end = _OVERALL.get()
    return None if end is None else end - time.monotonic()


def _usable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def bounded(limit: float) -> Iterator[None]:
    """Run the block for at most ``limit`` seconds (fewer when the overall bound is nearer).

    :raises Expired: the bound passed; ``overall`` says whether it was the overall one.
    """
    now = time.monotonic()
    end, is_overall = now + limit, False
    until = _OVERALL.get()
    if until is not None and until <= end:
        end, is_overall = until, True
    if end <= now:
        raise Expired(limit, overall=is_overall)
    if not _usable() or (_ARMED and _ARMED[-1] <= end):  # an outer block ends first anyway
        yield
        return

    def fire(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        raise Expired(limit, overall=is_overall)

    previous = signal.signal(signal.SIGALRM, fire)
    _ARMED.append(end)
    signal.setitimer(signal.ITIMER_REAL, end - now)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _ARMED.pop()
        signal.signal(signal.SIGALRM, previous)
        if _ARMED:
            signal.setitimer(signal.ITIMER_REAL, max(_ARMED[-1] - time.monotonic(), 0.001))
