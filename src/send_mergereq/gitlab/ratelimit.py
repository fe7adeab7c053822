"""GitLab's rate-limit headers, made safe for python-gitlab and remembered for the watch.

python-gitlab sleeps ``int(Retry-After)`` (else ``int(RateLimit-Reset) - now``) before
retrying a 429: a decimal or an HTTP-date (both valid HTTP) raised ``ValueError`` out of
it (exit 70), and a huge value froze the run silently. ``tidy_rate_headers`` is a
``requests`` response hook that rewrites both headers to whole seconds python-gitlab can
read, capped at ``MAX_SILENT_WAIT``, and records the server's own wait in ``LAST_WAIT``
so the error raised after python-gitlab's retries can carry it (``retry_after``).

No wait is silent and none is endless: every call has a budget of ``RETRY_BUDGET``
retries (python-gitlab's default is ten), set per call by ``client.BoundedGitlab``, and
``RateHook`` says each wait longer than ``SAY_AFTER`` seconds through the run's
``notify`` ("GitLab answered 429 (rate limited): waiting 30 s before asking again (2/4)").
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests

MAX_SILENT_WAIT = 60  # seconds python-gitlab may sleep before one retry
LAST_WAIT: ContextVar[float | None] = ContextVar("send_mergereq_retry_after", default=None)
RETRY_BUDGET = 4  # retries of one call after a 429 (or a 5xx, where it may be re-sent)
SAY_AFTER = 2.0  # a wait longer than this is said
TRANSIENT = frozenset({500, 502, 503, 504})


@dataclass
class Attempts:
    """One call's retries so far, its budget and whether python-gitlab re-sends it on a 5xx."""

    budget: int
    transient: bool
    seen: int = 0


ATTEMPTS: ContextVar[Attempts | None] = ContextVar("send_mergereq_attempts", default=None)


def retry_after_seconds(value: str, now: float) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP-date; None if neither."""
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def reset_seconds(value: str, now: float) -> float | None:
    """``RateLimit-Reset`` in seconds from now: GitLab sends a Unix time; a small number
    (the IETF draft's delta-seconds) is taken as seconds."""
    try:
        stamp = float(value)
    except ValueError:
        return None
    if not math.isfinite(stamp):
        return None
    return max(0.0, stamp - now if stamp > 1e9 else stamp)


def tidy_rate_headers(response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
    """The response hook (see the module doc); leaves 2xx responses alone."""
    if response.status_code < 400:
        return
    now = time.time()
    wait = None
    if "Retry-After" in response.headers:
        wait = retry_after_seconds(response.headers["Retry-After"], now)
        del response.headers["Retry-After"]
    if wait is None and "RateLimit-Reset" in response.headers:
        wait = reset_seconds(response.headers["RateLimit-Reset"], now)
    response.headers.pop("RateLimit-Reset", None)
    if wait is not None:
        response.headers["Retry-After"] = str(min(math.ceil(wait), MAX_SILENT_WAIT))
    LAST_WAIT.set(wait)


def said_wait(status: int, headers: Any, attempts: Attempts | None) -> str | None:
    """The line for the wait python-gitlab is about to make after ``status`` (headers
    already tidied), or None when it will not retry or waits no more than ``SAY_AFTER``."""
    if attempts is None or not (status == 429 or (status in TRANSIENT and attempts.transient)):
        return None
    attempts.seen += 1
    if attempts.seen > attempts.budget:
        return None
    wait = float(headers.get("Retry-After") or 2 ** (attempts.seen - 1) * 0.1)
    if wait <= SAY_AFTER:
        return None
    why = "429 (rate limited)" if status == 429 else str(status)
    return (
        f"GitLab answered {why}: waiting {wait:g} s before asking again "
        f"({attempts.seen}/{attempts.budget})"
    )


class RateHook:
    """The response hook of one client: tidies the headers, then says a long wait."""

    def __init__(self, notify: Callable[[str], None]) -> None:
        self.notify = notify

    def __call__(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        tidy_rate_headers(response)
        if response.status_code < 400:
            return
        line = said_wait(response.status_code, response.headers, ATTEMPTS.get())
        if line:
            self.notify(line)
