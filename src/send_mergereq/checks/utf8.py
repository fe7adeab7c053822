"""``utf8``: author, committer and message are valid UTF-8 in the raw commit object.

Each offending field is named, its bytes shown in context, and the encoding
they probably are in is suggested (see ``encodings.py``). A commit that
declares a legacy ``encoding`` header is reported too (``encoding-header``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from send_mergereq.checks.encodings import bad_utf8_at, describe, is_charset, shown_bytes
from send_mergereq.checks.finding import CheckContext, FastPath, Finding, Severity
from send_mergereq.checks.trailers import split_ident
from send_mergereq.history import RawCommit

ID = "utf8"
SUMMARY = "author, committer and message must be valid UTF-8 in the raw commit object"
ORDER = 10  # where it comes among the checks (checks/__init__.py)
FAST_PATH = FastPath()  # the shared look covers it (fused.SHARED)
DIGEST = ()  # no action of its own in the report's digest: each hint is said once
_UTF8_NAMES = {b"utf-8", b"utf8"}
_HINT_IDENT = (
    "ask the submitter to fix the {role} (re-encode it as UTF-8, e.g. "
    "git commit --amend --reset-author with a UTF-8 user.name) and resend the pull request"
)
_HINT_MESSAGE = (
    "ask the submitter to reword the commit in UTF-8 (git rebase -i, 'reword'; "
    "check i18n.commitEncoding and the editor's encoding) and resend the pull request"
)


@dataclass(frozen=True)
class Options:
    severity: Severity = Severity.ERROR
    encoding_header: Severity = Severity.WARNING  # a legacy `encoding` header


def _ident_fields(role: str, ident: bytes) -> Iterator[tuple[str, bytes]]:
    name, email = split_ident(ident)
    yield f"{role} name", name
    yield f"{role} email", email
    rest = ident[ident.rfind(b">") + 1 :] if b">" in ident else b""
    yield f"{role} date", rest


def _bad_message_lines(message: bytes) -> list[tuple[int, bytes]]:
    lines = message.split(b"\n")
    return [(n, line) for n, line in enumerate(lines, 1) if bad_utf8_at(line) is not None]


def _all_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def clean(head: bytes, message: bytes, ctx: CheckContext, opts: Options) -> bool:
    """Cheap pre-check on the raw object: True only when ``check`` finds nothing."""
    del ctx, opts
    clean_text = b"\0" not in head and b"\0" not in message
    return clean_text and b"\nencoding " not in head and _all_utf8(head) and _all_utf8(message)


def check(commit: RawCommit, ctx: CheckContext, opts: Options) -> Iterator[Finding]:
    del ctx
    if _all_utf8(commit.raw) and b"\0" not in commit.raw:  # the common case
        yield from _check_encoding_header(commit, opts)
        return
    for role, ident in (("author", commit.author), ("committer", commit.committer)):
        for field, value in _ident_fields(role, ident):
            if bad_utf8_at(value) is not None:
                what = f"is not valid UTF-8: {describe(value, value)}"
            elif b"\0" in value:
                what = f"contains a NUL byte: {shown_bytes(value)}"
            else:
                continue
            yield Finding(
                ID, opts.severity, commit.sha, f"{field} {what}", _HINT_IDENT.format(role=role)
            )
    yield from _check_message(commit, opts)
    yield from _check_nul(commit, opts)
    yield from _check_encoding_header(commit, opts)


def _check_nul(commit: RawCommit, opts: Options) -> Iterator[Finding]:
    """git shows a message only up to its first NUL: what follows is hidden."""
    at = commit.message.find(b"\0")
    if at < 0:
        return
    number = commit.message.count(b"\n", 0, at) + 1
    where = "subject" if number == 1 else f"line {number}"
    yield Finding(
        ID,
        opts.severity,
        commit.sha,
        f"message {where} contains a NUL byte: git shows the message only up to it "
        "(what follows, a Signed-off-by too, is hidden from git log)",
        _HINT_MESSAGE,
    )


def _check_message(commit: RawCommit, opts: Options) -> Iterator[Finding]:
    bad = _bad_message_lines(commit.message)
    if not bad:
        return
    number, line = bad[0]
    where = "subject" if number == 1 else f"line {number}"
    more = f" (and {len(bad) - 1} more line{'s' if len(bad) > 2 else ''})" if len(bad) > 1 else ""
    declared = (
        f"; the commit declares encoding {commit.encoding.decode(errors='replace')}"
        if (commit.encoding)
        else ""
    )
    yield Finding(
        ID,
        opts.severity,
        commit.sha,
        f"message {where} is not valid UTF-8{more}: "
        f"{describe(line, commit.message, commit.encoding)}{declared}",
        _HINT_MESSAGE,
    )


def _check_encoding_header(commit: RawCommit, opts: Options) -> Iterator[Finding]:
    encoding = commit.encoding
    if encoding is None or encoding.strip().lower() in _UTF8_NAMES:
        return
    if opts.encoding_header is Severity.OFF:
        return
    name = encoding.decode("utf-8", errors="replace")
    unread = "" if is_charset(name) else " (not a character set: its bytes are not read with it)"
    yield Finding(
        ID,
        opts.encoding_header,
        commit.sha,
        f"the commit declares the legacy encoding {name!r} in an 'encoding' header{unread}",
        "ask the submitter to recommit with i18n.commitEncoding unset (UTF-8) and resend",
    )
