"""Git's trailer rules, on raw message bytes: which lines of a message are trailers.

A port of ``find_trailer_start`` in git's ``trailer.c`` (as ``git log
--format=%(trailers)`` applies it to commit messages, with no ``---`` divider):
the trailer block is the last paragraph after the title, and it counts as
trailers when all its lines are trailers, or when at least one line has a
git-generated prefix (``Signed-off-by: ``, ``(cherry picked from commit ``)
and at least a quarter of its lines are trailers. Lines starting with ``#``
are comments, lines starting with whitespace continue the previous line.
"""

from __future__ import annotations

import re

_GIT_GENERATED = (b"Signed-off-by: ", b"(cherry picked from commit ")
_TOKEN_SEPARATOR = re.compile(rb"[A-Za-z0-9-]+[ \t]*:")  # git's find_separator, ':' only
_ALL_TRAILERS = re.compile(rb"[A-Za-z0-9-]+[ \t]*:[^\n]*(?:\n[A-Za-z0-9-]+[ \t]*:[^\n]*)*")
_TRAILER_LINE = re.compile(rb"^([A-Za-z0-9-]+)[ \t]*:([^\n]*)$", re.MULTILINE)
_IDENT = re.compile(rb"^(?P<name>[^<]*?)\s*<(?P<email>[^<>]*)>")


def _separator_at(line: bytes) -> int:
    """Where ``:`` ends the token of ``line``, or -1 (git's ``find_separator``)."""
    match = _TOKEN_SEPARATOR.match(line)
    return match.end() - 1 if match else -1


def trailer_block_start(lines: list[bytes]) -> int:
    """Index of the first line of the trailer block in ``lines``, or ``len(lines)``.

    git walks back from the end to the first blank line above the title; walking back
    to the last blank line is the same, since the title ends at the first blank line.
    """
    trailers = non_trailers = continuations = 0
    recognized_prefix, only_spaces = False, True
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if line.startswith(b"#"):
            non_trailers, continuations = non_trailers + continuations, 0
        elif not line.strip():
            if only_spaces:
                continue
            non_trailers += continuations
            if (recognized_prefix and trailers * 3 >= non_trailers) or (
                trailers and not non_trailers
            ):
                return i + 1
            return len(lines)
        else:
            only_spaces = False
            if line.startswith(_GIT_GENERATED):
                trailers, continuations, recognized_prefix = trailers + 1, 0, True
            elif _TOKEN_SEPARATOR.match(line):
                trailers, continuations = trailers + 1, 0
            elif line[:1].isspace():
                continuations += 1
            else:
                non_trailers, continuations = non_trailers + 1 + continuations, 0
    return len(lines)


def _plain_block(message: bytes) -> bytes | None:
    """The last paragraph when it is nothing but one-line trailers (the common case, read
    with two regexes), else None for the line-by-line walk."""
    body = message.rstrip()
    cut = body.rfind(b"\n\n")
    if cut < 0:
        return None
    paragraph = body[cut + 2 :]
    return paragraph if _ALL_TRAILERS.fullmatch(paragraph) else None


def trailers(message: bytes) -> list[tuple[bytes, bytes]]:
    """The ``(token, value)`` trailers of ``message``, continuation lines joined."""
    block = _plain_block(message)
    if block is not None:
        return [(m[1], m[2].strip()) for m in _TRAILER_LINE.finditer(block)]
    lines = message.split(b"\n")
    found: list[tuple[bytes, bytes]] = []
    continues = False  # git appends a continuation line only to a trailer line
    for line in lines[trailer_block_start(lines) :]:
        if not line.strip():
            continue
        if continues and line[:1].isspace():
            token, value = found[-1]
            found[-1] = (token, value + b" " + line.strip())
            continue
        sep = _separator_at(line)
        continues = sep >= 1
        if continues:
            found.append((line[:sep].strip(), line[sep + 1 :].strip()))
    return found


def signoffs(message: bytes) -> list[bytes]:
    """The values of the message's ``Signed-off-by`` trailers, in order."""
    return [value for token, value in trailers(message) if token.lower() == b"signed-off-by"]


def split_ident(value: bytes) -> tuple[bytes, bytes]:
    """``b"Jane Doe <jane@example.org>"`` -> ``(b"Jane Doe", b"jane@example.org")``."""
    match = _IDENT.match(value.strip())
    if not match:
        bare = value.strip()
        return (b"", bare) if b"@" in bare and not bare.count(b" ") else (bare, b"")
    return match["name"].strip(), match["email"].strip()


# a Signed-off-by line's email: what is between the line's last <...> (one regex for all
# authors: compiling one per author email thrashed on real history)
_SIGNOFF_EMAIL = re.compile(
    rb"^signed-off-by[ \t]*:[^\n]*<([^<>\n]*)>[ \t\r]*$", re.IGNORECASE | re.MULTILINE
)


def signed_off_by(message: bytes, email: bytes) -> bool:
    """Whether a plain trailer block (see ``_plain_block``) has a ``Signed-off-by`` for
    ``email`` (case-insensitive); False means "not this way", not "no"."""
    block = _plain_block(message)
    if block is None:
        return False
    wanted = email.lower()
    return any(found.lower() == wanted for found in _SIGNOFF_EMAIL.findall(block))
