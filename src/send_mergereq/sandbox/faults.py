"""Injected faults: chosen API requests answer 429/5xx or lose their connection."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from send_mergereq.sandbox.scenarios import FaultSpec


@dataclass
class _Armed:
    spec: FaultSpec
    seen: int = 0


class FaultInjector:
    """Counts the API requests each armed fault matches and says when one must fail."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []

    def arm(self, spec: FaultSpec) -> None:
        """Start counting matching requests from now."""
        with self._lock:
            self._armed.append(_Armed(spec))

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def pending(self) -> int:
        """How many armed faults have not fired completely yet."""
        with self._lock:
            return sum(1 for a in self._armed if a.seen < a.spec.last)

    def check(self, path: str) -> FaultSpec | None:
        """The fault this request must suffer, if any. Every armed fault matching the path
        counts the request, except one that would fire when another already did: it waits
        for the next matching request, so that no fault is lost."""
        hit: FaultSpec | None = None
        with self._lock:
            for armed in self._armed:
                if armed.spec.match not in path or armed.seen >= armed.spec.last:
                    continue
                due = armed.seen + 1 >= armed.spec.first
                if due and hit is not None:
                    continue
                armed.seen += 1
                if due:
                    hit = armed.spec
            self._armed = [a for a in self._armed if a.seen < a.spec.last]
        return hit
