"""Bounds on an email's MIME structure, measured on the raw bytes before it is parsed.

Python's email parser recurses once per nested part (a multipart nested 1,000 deep is a
RecursionError) and slows down with the number of parts (20,000 parts take half a
minute, 200,000 minutes). A pull request email is one text part, perhaps with a
signature or an alternative: so an email nested more than ``MAX_DEPTH`` deep, holding
more than ``MAX_PARTS`` parts or more than ``MAX_DEPTH`` attached messages is refused
before the parser sees it. Pure: bytes in, a ConfigError naming the file out.
"""

from __future__ import annotations

import re

from send_mergereq.errors import ConfigError

MAX_DEPTH = 20
MAX_PARTS = 1000

# Every spelling Python's parser takes a boundary from: any case, spaces around '=',
# quoted or not, RFC 2231 ``boundary*``/``boundary*0*`` (those are only counted loosely).
_BOUNDARY = rb'boundary[ \t]*(\*[0-9]*\*?)?[ \t]*=[ \t]*(?:"([^"\r\n]*)"|([^\s;"]+))'
_MESSAGE_PART = rb"^content-type[ \t]*:[ \t]*message/"


def check(messages: list[bytes], where: str) -> None:
    """Refuse a file whose messages are nested too deep or hold too many parts.

    :raises ConfigError: naming ``where`` (and the message number in an mbox).
    """
    for number, raw in enumerate(messages, 1):
        name = f"{where}, message {number}" if len(messages) > 1 else where
        _check_one(raw, name)


def _check_one(raw: bytes, where: str) -> None:
    """Two scans, each one regular expression over the whole message (never a Python loop
    over its lines): the boundaries it declares, then, in order, those declarations, the
    delimiter lines of those boundaries and the attached messages."""
    declared: list[bytes] = []
    loose = False  # an RFC 2231 boundary: every "--" line may be a delimiter
    for found in re.finditer(_BOUNDARY, raw, re.I):
        if len(declared) >= MAX_PARTS:
            raise _refused(where, f"more than {MAX_PARTS:,} MIME parts")
        loose = loose or found.group(1) is not None
        declared.append(found.group(2) if found.group(2) is not None else found.group(3))
    names = b"[^\r\n]*" if loose else b"|".join(re.escape(b) for b in set(declared))
    names = names or b"(?!)"  # no multipart: only attached messages can nest
    delimiter = rb"^--(?P<delim>(?:" + names + rb")(?:--)?)[ \t]*\r?$"
    scan = re.compile(
        rb"(?P<decl>" + _BOUNDARY + rb")|" + delimiter + rb"|(?P<msg>" + _MESSAGE_PART + rb")",
        re.I | re.M,
    )
    stack: list[bytes] = []
    parts = attached = 0
    for found in scan.finditer(raw):
        if found.group("decl") is not None:
            stack.append(found.group(3) if found.group(3) is not None else found.group(4))
        elif found.group("msg") is not None:
            attached += 1
        else:
            parts += _pop(found.group("delim"), stack)
        if len(stack) > MAX_DEPTH or attached > MAX_DEPTH:
            raise _refused(where, f"MIME parts nested more than {MAX_DEPTH} deep")
        if parts > MAX_PARTS:
            raise _refused(where, f"more than {MAX_PARTS:,} MIME parts")


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
    return 1  # a loose count (RFC 2231): any "--" line may open a part


def _refused(where: str, what: str) -> ConfigError:
    return ConfigError(
        f"{where}: {what}: not a pull request email, not read",
        hint="pass the pull request email itself, as 'git request-pull' wrote it",
    )
