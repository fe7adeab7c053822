"""python-gitlab's client as send-mergereq uses it, and the one funnel for its errors.

``client`` builds the connection (retries on, 100 per page, our base URL for
pagination, the rate-limit hook); ``every_page`` reads a listing to its end;
``api`` turns python-gitlab's and requests' exceptions into ours: a 401 is "GitLab
rejected the token", a 5xx/429/dropped connection after its retries a
``TransientForgeError``, anything else a ``ForgeError`` carrying GitLab's own
message. No message ever holds the token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gitlab
import gitlab.exceptions as glexc
import requests

from send_mergereq.errors import ForgeError, TransientForgeError, sanitize_text
from send_mergereq.gitlab.credentials import Token
from send_mergereq.gitlab.ratelimit import LAST_WAIT, tidy_rate_headers

PER_PAGE = 100
TIMEOUT = 30.0
_AUTH_HINT = (
    "the token from {source} was refused: it may be expired or revoked; "
    "create one with the api scope and export GITLAB_TOKEN"
)


def client(
    gitlab_url: str,
    token: Token,
    *,
    timeout: float = TIMEOUT,
    session: requests.Session | None = None,
) -> gitlab.Gitlab:
    """python-gitlab's client with retries on, 100 per page, and our base URL for pagination."""
    gl = gitlab.Gitlab(
        gitlab_url,
        private_token=token.secret.reveal(),
        retry_transient_errors=True,
        per_page=PER_PAGE,
        timeout=timeout,
        keep_base_url=True,
        session=session,
    )
    gl.session.hooks["response"].append(tidy_rate_headers)
    return gl


def every_page(manager: Any, **query: Any) -> list[Any]:
    """Every item ``manager.list(**query)`` has, all pages. python-gitlab follows
    ``Link: rel="next"``; a server that sends only ``X-Next-Page`` gets its next page
    asked for by number, instead of the list silently ending after the first page."""
    found: list[Any] = []
    page = 1
    while True:
        path = manager.path if page == 1 else f"{manager.path}?page={page}"
        batch = manager.list(iterator=True, path=path, **query)
        found.extend(batch)
        following = batch.next_page
        if not following or following <= page:
            return found
        page = following


@contextmanager
def api(what: str, token_source: str = "") -> Iterator[None]:
    """Turn python-gitlab's and requests' exceptions into ours, saying what we were doing."""
    LAST_WAIT.set(None)
    try:
        yield
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
