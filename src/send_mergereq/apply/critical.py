"""A step that must not be cut in half: the work tree and the branch moved together.

While ``apply`` updates a checked-out ``staging`` (``git read-tree -m -u``, then the
branch), a Ctrl-C, SIGTERM or SIGHUP would leave ``.git/index.lock``, half the files and
the branch unmoved. Inside ``signals_deferred()`` those signals are only noted; the step
finishes (the git it runs is in a process group of its own, so a Ctrl-C sent to the
terminal's process group does not reach it either), and then the first signal noted is
raised again, ending the run with its own exit code (130, 143, 129).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

DEFERRED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Run the block to its end; a signal that came meanwhile is raised after it."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals
        return
    noted: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        del frame
        noted.append(signum)

    previous = {sig: signal.signal(sig, note) for sig in DEFERRED}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if noted:
            signal.raise_signal(noted[0])  # the handler now in place raises it as usual
