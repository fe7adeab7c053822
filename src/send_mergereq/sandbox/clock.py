"""The virtual clock: job durations are virtual seconds, scaled from real time."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class VirtualClock:
    """Virtual seconds since the sandbox started: ``time_scale`` per real second plus
    whatever ``advance`` added. ``time_scale=0`` freezes time for deterministic tests."""

    def __init__(self, time_scale: float, epoch: float | None = None) -> None:
        self._lock = threading.Lock()
        self._scale = time_scale
        self._real0 = time.monotonic()
        self._offset = 0.0
        self.epoch = time.time() if epoch is None else epoch

    @property
    def time_scale(self) -> float:
        return self._scale

    def now(self) -> float:
        with self._lock:
            return (time.monotonic() - self._real0) * self._scale + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def set_time_scale(self, time_scale: float) -> None:
        with self._lock:
            self._offset += (time.monotonic() - self._real0) * self._scale
            self._real0 = time.monotonic()
            self._scale = time_scale

    def wall(self, t: float) -> float:
        """Unix time of virtual time ``t``."""
        return self.epoch + t

    def iso(self, t: float | None) -> str | None:
        """GitLab's timestamp format (``2024-05-01T10:12:02.507Z``), or None."""
        if t is None:
            return None
        moment = datetime.fromtimestamp(self.wall(t), tz=UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
