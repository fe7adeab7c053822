"""Time and progress for the phases: one ``Clock`` (tests hand in a virtual one) and
``Notify``, the callback a phase says progress through (it never prints)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

Notify = Callable[[str], None]


def quiet(_message: str) -> None:
    """A ``Notify`` that says nothing."""


@dataclass(frozen=True)
class Clock:
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
