"""The request log tests assert on: what was asked, what was answered, never the token."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestRecord:
    """One request: ``path`` includes the query with any token replaced by ``[FILTERED]``."""

    method: str
    path: str
    status: int
    kind: str  # "api", "git" or "other"
    authenticated: bool
    token_in_url: bool
    fault: str | None = None
    response_bytes: int = 0  # the body sent back (API answers), for bytes-per-poll measures


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
