"""GitLab's rate-limit headers, made safe for python-gitlab and remembered for the watch.

python-gitlab sleeps ``int(Retry-After)`` (else ``int(RateLimit-Reset) - now``) before
retrying a 429: a decimal or an HTTP-date (both valid HTTP) raised ``ValueError`` out of
it (exit 70), and a huge value froze the run silently. ``tidy_rate_headers`` is a
``requests`` response hook that rewrites both headers to whole seconds python-gitlab can
read, capped at ``MAX_SILENT_WAIT``, and records the server's own wait in ``LAST_WAIT``
so the error raised after python-gitlab's retries can carry it (``retry_after``).
"""

from __future__ import annotations

import math
import time
from contextvars import ContextVar
from email.utils import parsedate_to_datetime
from typing import Any

import requests

MAX_SILENT_WAIT = 60  # seconds python-gitlab may sleep before one retry
LAST_WAIT: ContextVar[float | None] = ContextVar("send_mergereq_retry_after", default=None)


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
