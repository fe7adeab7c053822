"""Exception types, each with its exit code, and the one table of exit codes; and the
scrubbing of secrets from anything shown (``redact``, ``sanitize_url``, ``sanitize_text``).

Failures are exceptions (``*Error``); outcomes are values that carry an
``exit_code`` (a check report, a gate verdict). Only ``cli/funnel.py`` exits.
"""

from __future__ import annotations

import re
from enum import IntEnum
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit


class ExitCode(IntEnum):
    """Every exit code send-mergereq uses; documented in ``--help`` and the README."""

    OK = 0
    GATE_CLOSED = 1
    USAGE = 2
    CHECKS_FAILED = 3
    TIMED_OUT = 4
    BLOCKED = 5
    GITLAB_OR_GIT = 6
    NOT_LANDED = 7
    NOT_MERGED = 8
    NOT_REPRODUCED = 9
    INTERNAL = 70
    OUTPUT_FAILED = 74
    HUNG_UP = 129
    INTERRUPTED = 130
    TERMINATED = 143


EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "checks passed (dry run), gate open, landed or merged (status), or every "
    "pull request applied (or already)",
    ExitCode.GATE_CLOSED: "gate closed: the pipeline failed or was canceled (bisect: the "
    "target fails on its own)",
    ExitCode.USAGE: "usage or configuration error",
    ExitCode.CHECKS_FAILED: "checks failed, nothing pushed (apply: a pull request refused)",
    ExitCode.TIMED_OUT: "timed out waiting for a verdict",
    ExitCode.BLOCKED: "blocked on a manual job that may not fail",
    ExitCode.GITLAB_OR_GIT: "GitLab or git error (auth, network after retries, push rejected)",
    ExitCode.NOT_LANDED: "gate open but nothing landed (stale, merge refused, not a fast-forward)",
    ExitCode.NOT_MERGED: "apply: a pull request does not merge cleanly, nothing of it applied "
    "(eject: nothing could be rebuilt)",
    ExitCode.NOT_REPRODUCED: "bisect: the failure did not reproduce on any prefix nor on a "
    "re-run (flaky)",
    ExitCode.INTERNAL: "internal error, a bug (traceback in the log file or with --debug)",
    ExitCode.OUTPUT_FAILED: "cannot write the output (disk full, an I/O error; a reader "
    "that stops early, as '| head' does, is none: the run keeps its own code)",
    ExitCode.HUNG_UP: "hung up (SIGHUP): handled as Ctrl-C is",
    ExitCode.INTERRUPTED: "interrupted (prints how to resume)",
    ExitCode.TERMINATED: "terminated (SIGTERM): handled as Ctrl-C is",
}


def exit_code_table(width: int = 78) -> str:
    """The exit codes as aligned text lines, for ``--help`` and the README: each meaning
    wrapped under itself, so that ``--help`` (indented two columns) fits 80 columns."""
    import textwrap

    return "\n".join(
        textwrap.fill(meaning, width, initial_indent=f"{int(code):>3}  ", subsequent_indent=" " * 5)
        for code, meaning in EXIT_CODE_MEANINGS.items()
    )


class SendMergereqError(Exception):
    """An error the user can act on: one line of message, an optional hint."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the program is so that it ends as Ctrl-C ends it:
    the terminal given back, the resume hint shown; only the exit code differs."""

    def __init__(self, signum: int, name: str) -> None:
        super().__init__(name)
        self.name = name
        self.exit_code = ExitCode(128 + signum)


def interrupt_code(exc: BaseException) -> ExitCode:
    """The exit code of an interruption: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    return exc.exit_code if isinstance(exc, Terminated) else ExitCode.INTERRUPTED


class OutputError(SendMergereqError):
    """stdout cannot be written: a full disk, an I/O error."""

    exit_code = ExitCode.OUTPUT_FAILED


class ConfigError(SendMergereqError):
    """Bad usage or configuration: a missing ref, a malformed file, an unknown key."""

    exit_code = ExitCode.USAGE


class GitError(SendMergereqError):
    """git failed: not a repository, a push rejected, an object unreadable."""

    exit_code = ExitCode.GITLAB_OR_GIT


class TimedOutError(SendMergereqError):
    """``--timeout`` passed while a request was still in flight."""

    exit_code = ExitCode.TIMED_OUT


class ForgeError(SendMergereqError):
    """GitLab failed or refused: auth, network after retries, a 4xx we cannot fix."""

    exit_code = ExitCode.GITLAB_OR_GIT


_SECRETS: set[str] = set()


def register_secret(secret: str) -> None:
    """Remember a secret (the token) so that ``redact`` scrubs it from anything shown or logged."""
    if len(secret) >= 4:
        _SECRETS.add(secret)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``<hidden>``."""
    for secret in _SECRETS:
        text = text.replace(secret, "<hidden>")
    return text


class TransientForgeError(ForgeError):
    """GitLab did not answer usefully this time (5xx, dropped connection, 429) even after
    python-gitlab's own retries; the watch loop reconnects and tries again later.

    ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one."""

    def __init__(
        self, message: str, hint: str | None = None, *, retry_after: float | None = None
    ) -> None:
        super().__init__(message, hint)
        self.retry_after = retry_after


MASK = "********"
# Query parameters GitLab (or a user) may put a token in.
_TOKEN_PARAMS = frozenset({"private_token", "access_token", "job_token", "token", "oauth_token"})
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@'\"]+@")


def sanitize_text(text: str) -> str:
    """``text`` (a git or HTTP message) with ``user:pw@`` in every URL in it masked."""
    return _USERINFO.sub(rf"\1{MASK}@", text)


def sanitize_url(url: str) -> str:
    """``url`` fit to show: ``user:pw@`` becomes ``********@``, token parameters ``********``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        masked = [(k, MASK if k.lower() in _TOKEN_PARAMS else v) for k, v in pairs]
        query = urlencode(masked, safe=MASK + "*", quote_via=quote)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


class UnreadableProject(ForgeError):
    """Another project (a multi-project downstream pipeline's) answered 403 or 404: the
    token may not read it. The watch names the pipeline instead of following it."""
