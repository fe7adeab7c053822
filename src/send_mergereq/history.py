"""A commit as the checks see it: its raw bytes, parsed (``RawCommit``), and a range
resolved to commit ids (``CommitRange``). Pure: ``scan/walk.py`` resolves the range and
reads its commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RawCommit:
    """One commit object exactly as stored, with its headers split out (still bytes)."""

    sha: str
    raw: bytes
    tree: str
    parents: tuple[str, ...]
    author: bytes
    committer: bytes
    message: bytes
    encoding: bytes | None = None
    mergetags: tuple[bytes, ...] = ()
    gpgsig: bytes | None = None
    headers: tuple[tuple[bytes, bytes], ...] = field(default=(), repr=False)

    @property
    def short(self) -> str:
        return self.sha[:12]

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    @property
    def subject(self) -> str:
        """The first line of the message, decoded for display only (never for checking)."""
        first = self.message.split(b"\n", 1)[0].strip()
        return first.decode("utf-8", errors="replace")

    @property
    def author_name(self) -> bytes:
        return ident_name(self.author)

    @property
    def author_email(self) -> bytes:
        return ident_email(self.author)


def ident_name(ident: bytes) -> bytes:
    lt = ident.find(b"<")
    return (ident[:lt] if lt >= 0 else ident).strip()


def ident_email(ident: bytes) -> bytes:
    lt, gt = ident.find(b"<"), ident.rfind(b">")
    return ident[lt + 1 : gt].strip() if 0 <= lt < gt else b""


def header_value(head: bytes, key: bytes) -> bytes | None:
    """The first one-line header ``key`` in the header block ``head`` of a raw commit,
    found without parsing it all."""
    if head.startswith(key + b" "):
        start = 0
    else:
        found = head.find(b"\n" + key + b" ")
        if found < 0:
            return None
        start = found + 1
    value_start = start + len(key) + 1
    stop = head.find(b"\n", value_start)
    return head[value_start : stop if stop >= 0 else len(head)]


def parent_count(head: bytes) -> int:
    """How many ``parent`` headers the header block ``head`` has (``tree`` comes first,
    but a malformed object may start with a parent)."""
    if b"parent\n" in head or head.endswith(b"parent"):  # a bare "parent" line: rare
        return sum(line.partition(b" ")[0] == b"parent" for line in head.split(b"\n"))
    return head.count(b"\nparent ") + head.startswith(b"parent ")


def _split_headers(head: bytes) -> list[tuple[bytes, bytes]]:
    """Header lines as ``(key, value)``; a line starting with a space continues the last."""
    headers: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\n"):
        if line[:1] == b" " and headers:
            key, value = headers[-1]
            headers[-1] = (key, value + b"\n" + line[1:])
        elif line:
            key, _, value = line.partition(b" ")
            headers.append((key, value))
    return headers


_PLAIN_HEAD = re.compile(
    rb"tree ([0-9a-f]{40,64})\n((?:parent [0-9a-f]{40,64}\n)*)author ([^\n]*)\ncommitter ([^\n]*)"
)


def _parse_plain(sha: str, raw: bytes, head: bytes, message: bytes) -> RawCommit | None:
    """The usual commit (tree, parents, author, committer and nothing else) read with one
    regex; None for anything else."""
    match = _PLAIN_HEAD.fullmatch(head)
    if match is None:
        return None
    tree, parent_lines, author, committer = match.groups()
    ids = parent_lines[7:-1].split(b"\nparent ") if parent_lines else []
    headers = ((b"tree", tree), *[(b"parent", p) for p in ids])
    headers += ((b"author", author), (b"committer", committer))
    parents = tuple(parent_lines[7:-1].decode().split("\nparent ")) if parent_lines else ()
    return RawCommit(sha, raw, tree.decode(), parents, author, committer, message, headers=headers)


def parse_commit(sha: str, raw: bytes) -> RawCommit:
    """Split a raw commit object into headers and message without decoding anything.

    A malformed object (no tree, truncated header) still parses: missing fields are
    empty, so a check reports it instead of the run crashing. Only the first of a
    repeated single-valued header counts. (This runs once per commit of the range:
    keep it lean.)
    """
    head, sep, message = raw.partition(b"\n\n")
    if not sep:
        head, message = raw, b""
    plain = _parse_plain(sha, raw, head, message)
    if plain is not None:
        return plain
    headers = _split_headers(head)
    tree = author = committer = encoding = gpgsig = None
    parents: list[str] = []
    mergetags: list[bytes] = []
    for key, value in headers:
        if key == b"parent":
            parents.append(value.decode("ascii", errors="replace"))
        elif key == b"mergetag":
            mergetags.append(value)
        elif key == b"tree":
            tree = tree or value
        elif key == b"author":
            author = author or value
        elif key == b"committer":
            committer = committer or value
        elif key == b"encoding":
            encoding = encoding or value
        elif key == b"gpgsig":
            gpgsig = gpgsig or value
    return RawCommit(
        sha=sha,
        raw=raw,
        tree=(tree or b"").decode("ascii", errors="replace"),
        parents=tuple(parents),
        author=author or b"",
        committer=committer or b"",
        message=message,
        encoding=encoding,
        mergetags=tuple(mergetags),
        gpgsig=gpgsig,
        headers=tuple(headers),
    )


@dataclass(frozen=True)
class CommitRange:
    """``target..branch`` resolved to commit ids."""

    target: str
    branch: str
    target_sha: str
    branch_sha: str
    # the committer dates of both ends when read with them (the cut goes by them): not
    # part of what the range is
    dates: tuple[int, int] | None = field(default=None, compare=False)

    @property
    def spec(self) -> str:
        return f"{self.target}..{self.branch}"
