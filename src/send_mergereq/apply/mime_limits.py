"""Bounds on an email's MIME structure, measured on the raw bytes before it is parsed.

Python's email parser recurses once per nested part (a multipart nested 1,000 deep is a
RecursionError) and slows down with the number of parts (20,000 parts take half a
minute, 200,000 minutes). A pull request email is one text part, perhaps with a
signature or an alternative: so an email nested more than ``MAX_DEPTH`` deep, holding
more than ``MAX_PARTS`` parts or more than ``MAX_DEPTH`` attached messages is refused
before the parser sees it. Pure: bytes in, a ConfigError naming the file out.
"""

from __future__ import annotations

import email.parser
import email.policy
import re

from send_mergereq.errors import ConfigError

MAX_DEPTH = 20
MAX_PARTS = 1000
# Content-Type headers: one a part, one each attached message and the message's own.
_MAX_HEADERS = MAX_PARTS + MAX_DEPTH + 1

# A Content-Type header line and its folded continuation lines (RFC 5322: a line break
# then a space or tab), once line ends are "\n". Python's parser reads the boundary and
# the type from it (comments, folding, quoting, RFC 2231 and 2047 included): asking it,
# about the few headers that can declare one, is the only reading that agrees with it.
_CONTENT_TYPE = rb"^content-type:[^\n]*(?:\n[ \t][^\n]*)*"
_MAY_MATTER = re.compile(rb"boundary|message|=\?|\\", re.I)
_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.default)
_NEVER = b"\n"  # a boundary no line can hold


def check(messages: list[bytes], where: str) -> None:
    """Refuse a file whose messages are nested too deep or hold too many parts.

    :raises ConfigError: naming ``where`` (and the message number in an mbox).
    """
    for number, raw in enumerate(messages, 1):
        name = f"{where}, message {number}" if len(messages) > 1 else where
        _check_one(raw, name)


def _check_one(raw: bytes, where: str) -> None:
    """Two scans, each one regular expression over the whole message (never a Python loop
    over its lines): its Content-Type headers (the boundaries they declare, the messages
    they attach), then, in order, those headers and the delimiter lines of those
    boundaries. Line ends are made "\n" first: Python's parser ends a line at a lone CR."""
    raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    boundaries: dict[int, bytes] = {}  # where a header declares one: the boundary
    attached = 0
    for number, found in enumerate(re.finditer(_CONTENT_TYPE, raw, re.I | re.M)):
        if number >= _MAX_HEADERS:
            raise _refused(where, f"more than {MAX_PARTS:,} MIME parts")
        if _MAY_MATTER.search(found.group()) is None:
            continue  # no boundary, no message: "text/plain; charset=utf-8"
        header = _HEADERS.parsebytes(found.group() + b"\n\n")
        attached += header.get_content_maintype() == "message"
        boundary = header.get_boundary()
        if boundary is not None:
            boundaries[found.start()] = _as_bytes(boundary)
    if attached > MAX_DEPTH:
        raise _refused(where, f"MIME parts nested more than {MAX_DEPTH} deep")
    names = {b for b in boundaries.values() if b != _NEVER}
    if len(boundaries) > MAX_PARTS:
        raise _refused(where, f"more than {MAX_PARTS:,} MIME parts")
    alternatives = b"|".join(re.escape(b) for b in names) if names else b"(?!)"
    delimiter = rb"^--(?P<delim>(?:" + alternatives + rb")(?:--)?)[ \t]*$"
    scan = re.compile(rb"(?P<decl>" + _CONTENT_TYPE + rb")|" + delimiter, re.I | re.M)
    stack: list[bytes] = []
    parts = 0
    for found in scan.finditer(raw):
        if found.group("decl") is not None:
            if found.start() in boundaries:
                stack.append(boundaries[found.start()])
        else:
            parts += _pop(found.group("delim"), stack)
        if len(stack) > MAX_DEPTH:
            raise _refused(where, f"MIME parts nested more than {MAX_DEPTH} deep")
        if parts > MAX_PARTS:
            raise _refused(where, f"more than {MAX_PARTS:,} MIME parts")


def _as_bytes(boundary: str) -> bytes:
    """A boundary as the parser meets it in lines read as ASCII (other bytes escaped)."""
    try:
        return boundary.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:  # decoded from RFC 2231: no line of bytes reads as it
        return _NEVER


def _pop(body: bytes, stack: list[bytes]) -> int:
    """A delimiter of an enclosing multipart ends the parts nested inside it; its closing
    delimiter (``--B--``) ends that multipart too. 1 when it opens a part, else 0."""
    for level in range(len(stack) - 1, -1, -1):
        if body == stack[level]:
            del stack[level + 1 :]
            return 1
        if body.endswith(b"--") and body[:-2] == stack[level]:
            del stack[level:]
            return 0
    return 1  # a boundary declared elsewhere: counted as a part all the same


def _refused(where: str, what: str) -> ConfigError:
    return ConfigError(
        f"{where}: {what}: not a pull request email, not read",
        hint="pass the pull request email itself, as 'git request-pull' wrote it",
    )
