"""python-gitlab's client as send-mergereq uses it, and the one funnel for its errors.

``client`` builds the connection (retries on, 100 per page, our base URL for
pagination, the rate-limit hook); ``every_page`` reads a listing to its end (bounded:
never past the total GitLab gave, ``MAX_ITEMS`` items or ``MAX_PAGES`` pages);
``api`` turns python-gitlab's and requests' exceptions into ours: a 401 is "GitLab
rejected the token", a 5xx/429/dropped connection after its retries a
``TransientForgeError``, anything else a ``ForgeError`` carrying GitLab's own
message. No message ever holds the token.

The token goes to one origin only. ``OriginBoundSession`` refuses a redirect to any
other (scheme, host, port): requests strips only ``Authorization`` on a cross-host
redirect, not python-gitlab's ``PRIVATE-TOKEN``. It also gives every request a total
deadline (``REQUEST_DEADLINE``, and ``--timeout``'s overall one: see ``deadline``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urljoin, urlsplit

import gitlab
import gitlab.exceptions as glexc
import requests

from send_mergereq import deadline
from send_mergereq.errors import (
    ForgeError,
    TimedOutError,
    TransientForgeError,
    sanitize_text,
)
from send_mergereq.gitlab.credentials import Token
from send_mergereq.gitlab.ratelimit import (
    ATTEMPTS,
    LAST_WAIT,
    RETRY_BUDGET,
    Attempts,
    RateHook,
)
from send_mergereq.terminal import visible

PER_PAGE = 100
TIMEOUT = 30.0  # requests' connect and read timeouts (the read one restarts with every byte)
REQUEST_DEADLINE = 60.0  # seconds one HTTP request may take in all, redirects included
_AUTH_HINT = (
    "the token from {source} was refused: it may be expired or revoked; "
    "create one with the api scope and export GITLAB_TOKEN"
)


class BoundedGitlab(gitlab.Gitlab):
    """python-gitlab's client whose every call has a small retry budget (``RETRY_BUDGET``,
    not python-gitlab's ten), counted for ``ratelimit.RateHook``'s words."""

    def http_request(self, verb: str, path: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("max_retries", RETRY_BUDGET)
        transient = kwargs.get("retry_transient_errors")
        resend = self.retry_transient_errors if transient is None else bool(transient)
        token = ATTEMPTS.set(Attempts(int(kwargs["max_retries"]), resend))
        try:
            return super().http_request(verb, path, **kwargs)
        finally:
            ATTEMPTS.reset(token)


def _quiet(_line: str) -> None:
    pass


def client(
    gitlab_url: str,
    token: Token,
    *,
    timeout: float = TIMEOUT,
    session: requests.Session | None = None,
    notify: Callable[[str], None] = _quiet,
) -> gitlab.Gitlab:
    """python-gitlab's client with retries on (a small budget per call, each long wait said
    through ``notify``), 100 per page, and our base URL for pagination; its requests go to
    ``gitlab_url``'s origin only, each with a total deadline."""
    secret = token.secret.reveal()
    gl = BoundedGitlab(
        gitlab_url,
        private_token=None if token.oauth2 else secret,
        oauth_token=secret if token.oauth2 else None,
        retry_transient_errors=True,
        per_page=PER_PAGE,
        timeout=timeout,
        keep_base_url=True,
        session=session or OriginBoundSession(gitlab_url),
    )
    gl.session.hooks["response"].append(RateHook(notify))
    return gl


def origin(url: str) -> str:
    """``scheme://host:port`` of ``url`` (the port always said), shown safely."""
    parts = urlsplit(url)
    scheme = (parts.scheme or "").lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = None
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return visible(f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}")


class RedirectRefused(Exception):  # not a requests exception: python-gitlab must not retry it
    """GitLab redirected a request to another origin; it was not followed."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class OriginBoundSession(requests.Session):
    """A requests session whose requests never leave the origin of ``base_url``, and end
    within ``REQUEST_DEADLINE`` seconds (or the overall deadline) whatever the server does."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.origin = origin(base_url)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self._refuse_elsewhere(request.url or "", None)
        with deadline.bounded(REQUEST_DEADLINE):
            return super().send(request, **kwargs)

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        """Called by requests before it follows a redirect: refuse any other origin."""
        self._refuse_elsewhere(prepared_request.url or "", response.status_code)
        super().rebuild_auth(prepared_request, response)

    def _refuse_elsewhere(self, url: str, status: int | None) -> None:
        there = origin(url)
        if there == self.origin:
            return
        said = f"GitLab at {self.origin} redirected ({status}) to {there}"
        if status is None:
            said = f"a request for {there} was about to carry the token for {self.origin}"
        here_host, there_host = urlsplit(self.origin).hostname, urlsplit(there).hostname
        if (
            self.origin.startswith("http://")
            and there.startswith("https://")
            and (here_host == there_host)
        ):
            raise RedirectRefused(
                f"{said}: not followed, the token goes only to {self.origin}",
                hint=f"use the https URL: --gitlab-url https://{there.split('://', 1)[1]} "
                "(or git config sendmergereq.gitlabUrl), or the remote's https URL",
            )
        raise RedirectRefused(
            f"{said}, another origin: not followed, the token goes only to {self.origin}",
            hint="if GitLab really moved, pass its new URL with --gitlab-url",
        )


def answers_as_gitlab(gitlab_url: str, *, timeout: float = 5.0) -> bool:
    """Whether ``GET /api/v4/version`` (no token) answers as GitLab does: 401 with GitLab's
    JSON ``{"message": "401 Unauthorized"}``, or 200 with a ``version``. Anything else, or
    no answer in ``timeout`` seconds, is not GitLab. The body read is bounded."""
    try:
        with requests.get(
            f"{gitlab_url}/api/v4/version", timeout=timeout, stream=True, allow_redirects=False
        ) as answer:
            body = answer.raw.read(4096, decode_content=True) if answer.raw else b""
            status, kind = answer.status_code, answer.headers.get("Content-Type", "")
    except (requests.RequestException, OSError):
        return False
    if "json" not in kind:
        return False
    try:
        doc = json.loads(body)
    except ValueError:
        return False
    if not isinstance(doc, dict):
        return False
    if status == 401:
        return str(doc.get("message", "")).startswith("401")
    return status == 200 and "version" in doc


def redirect_location(url: str, *, timeout: float = 10.0) -> str | None:
    """Where ``url`` redirects to (its ``Location``, made absolute), asked without the token
    and without following it; None when it does not redirect or does not answer in time.
    For saying where git was sent when it refused to follow (the body is never read)."""
    try:
        with deadline.bounded(timeout), requests.get(
            url, timeout=timeout, stream=True, allow_redirects=False,
            headers={"User-Agent": "git/2 (send-mergereq)"},
        ) as answer:  # fmt: skip
            where = answer.headers.get("Location") if answer.is_redirect else None
    except (requests.RequestException, OSError, ValueError, deadline.Expired):
        return None
    return urljoin(url, where) if where else None


# A listing is read to its end, but never endlessly: at most MAX_ITEMS items (twice the
# 10,000 past which GitLab stops counting: it then omits X-Total and X-Total-Pages) in at
# most MAX_PAGES pages (each of PER_PAGE items; a GitLab that ignores per_page answers 20),
# and never past the X-Total / X-Total-Pages the server itself gave.
MAX_ITEMS = 20_000
MAX_PAGES = 250


class EndlessListing(Exception):  # not a requests exception: python-gitlab must not retry it
    """A listing went on past what GitLab said it holds, or past our bounds."""


def every_page(manager: Any, **query: Any) -> list[Any]:
    """Every item ``manager.list(**query)`` has, all pages, one page per request: the next
    page is the one ``X-Next-Page`` names (or ``Link: rel="next"``'s when that header is
    absent). A listing that goes on past the ``X-Total``/``X-Total-Pages`` it announced,
    or past ``MAX_ITEMS`` items or ``MAX_PAGES`` pages, raises ``EndlessListing``
    (``api`` makes it one line) instead of being read forever."""
    found: list[Any] = []
    page = 1
    for _ in range(MAX_PAGES):
        path = manager.path if page == 1 else f"{manager.path}?page={page}"
        batch = manager.list(iterator=True, get_next=False, path=path, **query)
        found.extend(batch)
        total, total_pages = batch.total, batch.total_pages
        if (total is not None and total > MAX_ITEMS) or len(found) > MAX_ITEMS:
            said = (
                f"{total:,}"
                if total is not None and total > MAX_ITEMS
                else f"more than {MAX_ITEMS:,}"
            )
            raise EndlessListing(
                f"GitLab's list holds {said} items; send-mergereq reads at most {MAX_ITEMS:,}"
            )
        following = _next_page(batch, page)
        if following is None:
            return found
        if (total_pages is not None and following > total_pages) or (
            total is not None and len(found) >= total
        ):
            announced = (
                f"{total:,} items it said it holds (X-Total)"
                if total is not None
                else f"{total_pages:,} pages it said it holds (X-Total-Pages)"
            )
            raise EndlessListing(
                f"GitLab's list offered page {following} after the {announced}; not followed"
            )
        page = following
    raise EndlessListing(
        f"GitLab's list went on past {MAX_PAGES:,} pages ({len(found):,} items); not followed"
    )


def _next_page(batch: Any, page: int) -> int | None:
    """The page after ``page``: ``X-Next-Page``'s, else ``page + 1`` when only ``Link``
    offers one; None at the end (a next page that is not after this one is the end)."""
    following: int | None = batch.next_page
    if following is None and getattr(batch, "_list", None) is not None:
        following = page + 1 if getattr(batch._list, "_next_url", None) else None
    return following if following is not None and following > page else None


@contextmanager
def api(what: str, token_source: str = "") -> Iterator[None]:
    """Turn python-gitlab's and requests' exceptions into ours, saying what we were doing."""
    LAST_WAIT.set(None)
    try:
        yield
    except RedirectRefused as exc:
        raise ForgeError(f"{exc.message} (while {what})", hint=exc.hint) from None
    except EndlessListing as exc:
        raise ForgeError(
            f"{exc} (while {what})",
            hint="a GitLab (or a proxy in front of it) that keeps offering pages is not "
            "followed; check the GitLab URL",
        ) from None
    except deadline.Expired as exc:
        if exc.overall:
            raise TimedOutError(f"timed out while {what}") from None
        raise TransientForgeError(
            f"GitLab did not answer within {exc.limit:g}s while {what}",
            hint="check the network and GitLab's status, then run again",
        ) from None
    except glexc.GitlabAuthenticationError:
        raise ForgeError(
            f"GitLab rejected the token (401) while {what}",
            hint=_AUTH_HINT.format(source=token_source or "your configuration"),
        ) from None
    except glexc.GitlabError as exc:
        raise _forge_error(exc, what) from None
    except requests.RequestException as exc:
        raise TransientForgeError(
            f"cannot reach GitLab while {what}: {type(exc).__name__}",
            hint="check the network and the GitLab URL, then run again",
        ) from None
    except (KeyError, TypeError, ValueError):  # python-gitlab reading an answer of the wrong shape
        raise TransientForgeError(
            f"GitLab's answer was garbled while {what}",
            hint="GitLab or a proxy in front of it answered something that is not its API",
        ) from None


def _forge_error(exc: glexc.GitlabError, what: str) -> ForgeError:
    code = exc.response_code
    message = _one_line(sanitize_text(str(exc.error_message or ""))) or "no message"
    if code is not None and (code >= 500 or code == 429):
        return TransientForgeError(
            f"GitLab answered {code} while {what}: {message}", retry_after=LAST_WAIT.get()
        )
    if isinstance(exc, glexc.GitlabParsingError):  # a body cut short by a dropped connection
        return TransientForgeError(f"GitLab's answer was cut short or garbled while {what}")
    if code == 403:
        return ForgeError(
            f"GitLab refused (403) {what}: {message}",
            hint="the token needs the api scope and a role that allows this (Developer or more)",
        )
    prefix = f"GitLab {code}" if code is not None else "GitLab error"
    return ForgeError(f"{prefix} while {what}: {message}")


def _one_line(text: str) -> str:
    """GitLab's message on one line; a proxy's HTML error page (a 502) without its tags."""
    return " ".join(re.sub(r"<[^>]*>", " ", text).split())
