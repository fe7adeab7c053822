"""Read pull-request emails: ``.eml``, mbox and ``git format-patch``-style files, plain,
quoted-printable or base64 bodies; find the ``git request-pull`` block. Pure: bytes in,
values out (``cli`` reads the files and standard input).
"""

from __future__ import annotations

import email
import email.header
import email.parser
import email.policy
import re
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from typing import NamedTuple

from send_mergereq.apply.pulls import MailHeaders, PullRequest
from send_mergereq.errors import ConfigError

_MBOX_SEPARATOR = re.compile(rb"(?:\A|(?<=\n))From [^\n]*\n")
_SHA = r"([0-9a-fA-F]{7,64})"
_SINCE = re.compile(r"^The following changes since commit " + _SHA + r":?\s*$", re.M)
_AT = re.compile(r"^are available in the [Gg]it repository at:\s*$", re.M)
_UP_TO = re.compile(r"^for you to fetch changes up to " + _SHA + r":?\s*$", re.M)
_WHERE = re.compile(r"^[ \t]+(\S+)(?:[ \t]+(\S+))?[ \t]*$", re.M)
_QUOTED = re.compile(r"^[ \t]*>.*(?:\n|\Z)", re.M)  # a reply's "> " lines
_HEADER_LIMIT = 998  # characters of one header value kept (RFC 5322's line length)


def split_messages(data: bytes) -> list[bytes]:
    """One or more messages: an mbox (or ``git format-patch`` output, which is one) is cut
    at its ``From `` separator lines; anything else is one message."""
    if not data.startswith(b"From "):
        return [data]
    parts = _MBOX_SEPARATOR.split(data)
    return [_unquote_from(part) for part in parts if part.strip()]


def _unquote_from(message: bytes) -> bytes:
    """mboxrd's ``>From `` escaping undone (``>>From`` -> ``>From``)."""
    return re.sub(rb"(?m)^>(>*From )", rb"\1", message)


def body_text(raw: bytes, where: str = "an email") -> tuple[str, str]:
    """``(subject, text)``: the text/plain parts of one message, transfer encodings
    (quoted-printable, base64) and charsets decoded.

    :raises ConfigError: naming ``where``, when the parser recurses too deep.
    """
    try:  # mime_limits has bounded the nesting first; this is the last wall
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        subject = str(message.get("Subject", "") or "")
        texts = list(_plain_parts(message))
    except RecursionError:
        raise ConfigError(
            f"{where}: MIME parts nested too deep to read: not a pull request email, not read",
            hint="pass the pull request email itself, as 'git request-pull' wrote it",
        ) from None
    return " ".join(subject.split()), "\n".join(texts)


def _plain_parts(message: EmailMessage) -> Iterator[str]:
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() not in ("text", ""):
            continue
        if part.get_content_subtype() not in ("plain", ""):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            yield payload.decode(charset, errors="replace")
        except LookupError:  # an unknown charset name
            yield payload.decode("utf-8", errors="replace")


def find_pull(text: str, source: str) -> PullRequest | None:
    """The pull request in a ``git request-pull`` block, or None when there is none. A
    block quoted in a reply (``> `` lines) is no pull request."""
    text = _QUOTED.sub("", text)
    since, at = _SINCE.search(text), _AT.search(text)
    if since is None or at is None:
        return None
    up_to = _UP_TO.search(text, at.end())
    where = _WHERE.search(text, at.end(), up_to.start() if up_to else len(text))
    if up_to is None or where is None or where.group(2) is None:
        return None
    tag = where.group(2).removeprefix("refs/").removeprefix("tags/")
    return PullRequest(
        url=where.group(1),
        tag=tag,
        base=since.group(1).lower(),
        head=up_to.group(1).lower(),
        source=source,
    )


def headers_of(raw: bytes) -> MailHeaders:
    """The headers a reply threads to: decoded, one line each, bounded."""
    parser = email.parser.BytesHeaderParser(policy=email.policy.default)
    message = parser.parsebytes(raw)
    plain = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)

    def one(name: str) -> str:
        try:
            value = str(message.get(name) or "")
        except Exception:  # the email package's parser fails in many ways
            value = _decoded(plain.get(name))  # on a hostile header: read it plainly
        return " ".join(value.split())[:_HEADER_LIMIT]

    return MailHeaders(
        message_id=one("Message-ID"),
        subject=one("Subject"),
        sender=one("From"),
        to=one("To"),
        cc=one("Cc"),
        date=one("Date"),
        references=one("References"),
    )


def _decoded(value: object) -> str:
    """A header's RFC 2047 words decoded as well as they can be, else as they are."""
    text = str(value or "")
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except Exception:  # as above: whatever the words are, keep the text
        return text


class Read(NamedTuple):
    """What one file held: its pull requests, and a line for each message passed over."""

    pulls: list[PullRequest]
    passed_over: list[str]


def read_pulls(data: bytes, name: str) -> Read:
    """Every pull request in the file ``name`` (``-``: standard input), in order; a
    message without a ``git request-pull`` block (a reply in a thread) is passed over.

    :raises ConfigError: the file holds no pull request at all (naming it).
    """
    messages = split_messages(data)
    where = "standard input" if name == "-" else name
    found = Read([], [])
    for number, raw in enumerate(messages, 1):
        source = f"{where}, message {number}" if len(messages) > 1 else where
        subject, text = body_text(raw, source)
        if subject:
            source += f" ({subject[:80]!r})"
        pull = find_pull(text, source)
        if pull is None:
            found.passed_over.append(f"{source}: no 'git request-pull' block, passed over")
            continue
        found.pulls.append(replace(pull, mail=headers_of(raw)))
    if not found.pulls:
        what = "no 'git request-pull' block (since commit / repository at / up to)"
        if len(messages) > 1:
            what = f"none of its {len(messages)} messages holds a 'git request-pull' block"
        raise ConfigError(
            f"{source if len(messages) == 1 else where}: {what}",
            hint="pass the pull request email itself, as 'git request-pull' wrote it",
        )
    return found
