"""The fused fast path: one look at a raw commit that vouches for every enabled check.

Most commits are clean. ``fused_clean`` (a non-merge) and ``fused_merge_clean`` (a
merge) are the shared look, written for the built-in checks listed in ``SHARED``: True
implies that each of them would find nothing (``tests/checks/test_fused_clean.py``
proves it). A check module says how it takes part in its ``FAST_PATH``
(``finding.FastPath``): a check outside ``SHARED`` brings its own ``vouch``, asked after
the shared look. ``vouchers`` puts it together for the enabled checks: the runner asks
it once per commit, and a commit it vouches for is never parsed.

A long range is read in chunks of records (``git.walk_chunks``: ``IDS\\nOBJECT\\0``
each), and ``chunk_vouch`` gives the same look for a whole chunk at once: one regex
(``chunk_pattern``, the steps of ``fused_clean`` and ``fused_merge_clean`` written as one,
``tests/checks/test_fused_chunk.py`` proves they say the same) over the chunk, its
records not ASCII decoded at once and its distinct authors asked once each, so the usual
commit costs no Python step of its own; a record not UTF-8 or by a list is looked at
alone, the rest of its chunk still at once.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from send_mergereq.checks import list_address
from send_mergereq.checks.encodings import bad_utf8_at
from send_mergereq.checks.finding import CheckContext, FastPath

# the checks the shared look was written for: the only ones whose FAST_PATH may leave
# ``vouch`` out (fused_clean True implies each finds nothing)
SHARED = frozenset({"utf8", "list-address", "signed-tags", "signoff"})

# The usual commit: standard headers only, at most one parent, one <email> in the author
# line (_HEAD), and a last paragraph of one-line trailers (see trailers.signed_off_by)
# with a Signed-off-by ending in that <email>, any case (_SIGNOFF on the lowered line).
_HEAD = re.compile(
    rb"tree [0-9a-f]{40,64}\n(?:parent [0-9a-f]{40,64}\n)?"
    rb"author ([^<>\n]*<([^<>\s]+)>)[^<>\n]*\ncommitter [^\n]*\n\n"
)
_FIRST_TRAILER = re.compile(rb"[A-Za-z0-9-]+[ \t]*:")
_NOT_TRAILER = re.compile(rb"\n(?![A-Za-z0-9-]+[ \t]*:)")  # a line that is no trailer
_SIGNOFF = re.compile(rb"signed-off-by[ \t]*:[^\n]*<([^<>\n]*)>[ \t\r]*(?:\n|\Z)")
# a merge: standard headers first (others may follow), one <...> in the author line
_MERGE = re.compile(
    rb"tree [0-9a-f]{40,64}\n(?:parent [0-9a-f]{40,64}\n){2,}"
    rb"author ([^<>\n]*<[^<>\n]*>)[^<>\n]*\ncommitter [^\n]*\n"
)

# fused_clean and fused_merge_clean as one regex over a chunk's records, each record
# matched whole: the usual commit (groups 1 to 3: a parent, the author, the author's
# <email>), a clean merge (group 4, its author, when merges are vouched for) or anything
# else (group 5, the record). Possessive
# and atomic parts keep it linear: (?>[^\0]*\n\n(?=\s*+[^\s\0])) is the last blank line
# with text after it (rfind's on the right-stripped object), the trailer block after it
# the last paragraph, what follows it whitespace (\s*+, what rstrip drops).
_H = rb"[0-9a-f]{40,64}+"
_LINE = rb"[A-Za-z0-9-]++[ \t]*+:[^\n\0]*+"  # a one-line trailer (_FIRST_TRAILER, then a line)
_COMMIT = (
    _H + rb"(?P<p> " + _H + rb")?+\ntree " + _H + rb"\n(?(p)parent " + _H + rb"\n)"
    rb"author (?P<ident>[^<>\n\0]*+<(?P<email>[^<>\s\0]++)>)[^<>\n\0]*+\ncommitter [^\n\0]*+\n\n"
    rb"(?>[^\0]*\n\n(?=\s*+[^\s\0]))(?:" + _LINE + rb"\n)*?"
    rb"(?i:signed-off-by)[ \t]*+:[^\n\0]*<(?i:(?P=email))>[ \t\r]*+(?:\n" + _LINE + rb")*+\s*+\0"
)
_MERGE_RECORD = (
    _H + rb"(?: " + _H + rb"){2,}+\ntree " + _H + rb"\n(?:parent " + _H + rb"\n){2,}+"
    rb"author ([^<>\n\0]*+<[^<>\n\0]*+>)[^<>\n\0]*+\ncommitter [^\n\0]*+\n"
    rb"(?:(?!encoding )[^\n\0]++\n)*+\n[^\0]*+\0"
)
_OTHER = rb"([^\0]*+\0)"


@functools.cache
def chunk_pattern(merges: bool) -> re.Pattern[bytes]:
    """The regex over a chunk, clean merges vouched for or not (compiled on first use: a
    millisecond or more each)."""
    merge = _MERGE_RECORD if merges else rb"(?!)()"  # the same groups either way
    return re.compile(rb"(?:" + _COMMIT + rb"|" + merge + rb"|" + _OTHER + rb")")


_ALONE = (b"", b"", b"", b"", b"\0")  # said of a record the regex may not speak for

Vouch = Callable[[bytes, CheckContext], bool]
ChunkVouch = Callable[[bytes, Sequence[bytes], CheckContext], "list[tuple[bytes, ...]]"]


class _Enabled(Protocol):  # runner.EnabledCheck, as this module needs it
    @property
    def module(self) -> Any: ...
    @property
    def opts(self) -> Any: ...


def fast_path(module: Any) -> FastPath | None:
    """What ``module`` declares of the fast path, None when it does not take part: no
    ``FAST_PATH``, ``FAST_PATH = None``, or a declaration that does not hold (no
    ``vouch`` outside ``SHARED``). ``tests/checks/test_fast_path.py`` fails on the last
    two for a registered check, so the fast path is never lost without a word."""
    declared = getattr(module, "FAST_PATH", None)
    if not isinstance(declared, FastPath):
        return None
    if declared.vouch is None and getattr(module, "ID", None) not in SHARED:
        return None
    return declared


def chunk_vouch(checks: Sequence[_Enabled]) -> ChunkVouch | None:
    """The fast path for a whole chunk (``vouch_chunk``), None when the enabled checks
    need more than the shared look (a check of its own ``vouch``, or none)."""
    paths = [fast_path(c.module) for c in checks]
    if any(path is None or path.vouch is not None for path in paths):
        return None
    pattern = chunk_pattern(all(p is not None and p.merges for p in paths))

    def vouch(text: bytes, records: Sequence[bytes], ctx: CheckContext) -> list[tuple[bytes, ...]]:
        return vouch_chunk(text, records, ctx, pattern)

    return vouch


def vouch_chunk(
    text: bytes,
    records: Sequence[bytes],
    ctx: CheckContext,
    pattern: re.Pattern[bytes] | None = None,
) -> list[tuple[bytes, ...]]:
    """For each record ``IDS\\nOBJECT\\0`` of ``text`` (``records``: ``text`` split at its
    NULs), in order, ``(parent, author, email, merge author, other)``: ``other`` empty when
    ``fused_clean`` (or ``fused_merge_clean``, ``merge author`` not empty, with
    ``chunk_pattern(True)``) vouches for the object, else not (the record, or a NUL for a
    record that is not UTF-8 or whose author may be a list: the regex does not look at
    either). (Once per megabyte of the range: C-speed steps, a Python step per record
    not ASCII.)"""
    found = (pattern or chunk_pattern(False)).findall(text)
    if len(found) == len(records):
        for n in _not_plain(text, records, found, ctx):
            found[n] = _ALONE
    return found


def _not_plain(
    text: bytes,
    records: Sequence[bytes],
    found: Sequence[tuple[bytes, ...]],
    ctx: CheckContext,
) -> set[int]:
    """The records of a chunk that are not all UTF-8, or whose author, as the regex read
    it (``found``), may be a list (the chunk decoded once, only its records not ASCII;
    its distinct authors asked once, not found again in its text)."""
    flagged: set[int] = set()
    if not text.isascii():
        wide = [n for n, record in enumerate(records) if not record.isascii()]
        try:  # joined by an ASCII byte: a sequence cut by one is still invalid
            b"\0".join([records[n] for n in wide]).decode("utf-8")
        except UnicodeDecodeError:
            flagged.update(n for n in wide if bad_utf8_at(records[n]) is not None)
    authors = {said[1] or said[3] for said in found} - {b""}
    suspects = {author for author in authors if list_address.suspect_ident(author, ctx)}
    if suspects:
        flagged.update(n for n, said in enumerate(found) if (said[1] or said[3]) in suspects)
    return flagged


def vouchers(checks: Sequence[_Enabled]) -> tuple[Vouch | None, Vouch | None]:
    """The fast path for ``checks``: (for any commit, for merges once the first said no),
    each None when a check does not take part."""
    paths = [fast_path(c.module) for c in checks]
    if any(path is None for path in paths):
        return None, None
    own = tuple((p.vouch, c.opts) for p, c in zip(paths, checks, strict=True) if p and p.vouch)
    merges_too = all(p is not None and p.merges for p in paths)
    if not own:
        return fused_clean, fused_merge_clean if merges_too else None

    def commit_vouch(raw: bytes, ctx: CheckContext) -> bool:
        return fused_clean(raw, ctx) and all(vouch(raw, ctx, opts) for vouch, opts in own)

    def merge_vouch(raw: bytes, ctx: CheckContext) -> bool:
        return fused_merge_clean(raw, ctx) and all(vouch(raw, ctx, opts) for vouch, opts in own)

    return commit_vouch, merge_vouch if merges_too else None


def fused_clean(raw: bytes, ctx: CheckContext) -> bool:
    """All the built-in checks' ``clean`` at once, for the usual commit: a non-merge with
    standard headers, valid UTF-8 and no NUL, an author that is no list, signed off in
    the trailers. True implies that each built-in ``clean`` says True (False: ask them).
    (Once per commit of the range: C-speed steps only, the trailer block found with
    ``rfind``, the author's sign-off with ``find``.)"""
    head = _HEAD.match(raw)
    if head is None or b"\0" in raw:
        return False
    body = raw.rstrip()
    cut = body.rfind(b"\n\n")
    if cut < head.end():  # no blank line in the message: no trailer block
        return False
    block = body[cut + 2 :]
    if _FIRST_TRAILER.match(block) is None or _NOT_TRAILER.search(block) is not None:
        return False
    lowered, email = block.lower(), head[2].lower()
    at = lowered.find(b"<" + email + b">")
    while at >= 0:  # the author's <email> on a Signed-off-by line, as its last <...>
        signoff = _SIGNOFF.match(lowered, lowered.rfind(b"\n", 0, at) + 1)
        if signoff is not None and signoff[1] == email:
            break
        at = lowered.find(b"<" + email + b">", at + 1)
    else:
        return False
    return _utf8_by_no_list(raw, head[1], ctx)


def fused_merge_clean(raw: bytes, ctx: CheckContext) -> bool:
    """``fused_clean`` for a merge when signed-tags does not run (``signoff`` exempts
    merges): valid UTF-8, no NUL, no ``encoding`` header, an author that is no list."""
    merge = _MERGE.match(raw)
    if merge is None or b"\0" in raw:
        return False
    end = raw.find(b"\n\n")
    if end < 0 or b"\nencoding " in raw[: end + 1]:
        return False
    return _utf8_by_no_list(raw, merge[1], ctx)


def _utf8_by_no_list(raw: bytes, author: bytes, ctx: CheckContext) -> bool:
    """The tail both fast paths share: the object is valid UTF-8 and ``author`` is no list."""
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return not list_address.suspect_ident(author, ctx)
