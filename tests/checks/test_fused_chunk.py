"""``fused.vouch_chunk``: the fast path over a whole chunk of records says, for every
record, exactly what ``fused_clean`` (and ``fused_merge_clean``) say of its object: a
record not UTF-8 or by a list among them included."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.checks.test_fused_clean import FUSED_CORPUS, MERGE_CORPUS, PIECES

from send_mergereq.checks.finding import CheckContext
from send_mergereq.checks.fused import (
    chunk_pattern,
    fused_clean,
    fused_merge_clean,
    vouch_chunk,
)

_CHUNK, _CHUNK_MERGES = chunk_pattern(False), chunk_pattern(True)
CTX = CheckContext(list_addresses=("qemu-*@nongnu.org",), list_name_suffixes=("via X",))
_PARENT = re.compile(rb"^parent ([0-9a-f]{40})$", re.MULTILINE)


def record(raw: bytes, sha: bytes = b"c" * 40) -> bytes:
    """``raw`` as ``git.walk_chunks`` gives it: the ids line (the id, then the parents the
    header names), the object, a NUL."""
    head = raw.split(b"\n\n", 1)[0]
    parents = _PARENT.findall(head)
    return b" ".join([sha, *parents]) + b"\n" + raw + b"\0"


def look(text: bytes, pattern: re.Pattern[bytes] | None = None) -> list[tuple[bytes, ...]]:
    """``vouch_chunk`` on a chunk ``text`` of records, split as ``git.Chunk`` splits it."""
    return vouch_chunk(text, text.split(b"\0")[:-1], CTX, pattern)


def said(raw: bytes, pattern: re.Pattern[bytes]) -> tuple[bytes, ...]:
    looked = look(record(raw), pattern)
    assert len(looked) == 1
    return looked[0]


def candidates(base: bytes, pieces: list[bytes]) -> list[bytes]:
    noise = b"".join(pieces)
    made = [base + noise, base.replace(b"Subject", noise), base.rstrip(b"\n") + noise]
    made += [base.replace(b"Merge", noise), noise + base]
    return [raw for raw in made if b"\0" not in raw]  # a NUL ends a record (no object has)


@settings(max_examples=1500)
@given(st.sampled_from(FUSED_CORPUS), st.lists(st.sampled_from(PIECES), max_size=12))
def test_a_commit_is_vouched_for_exactly_when_fused_clean_says_so(
    base: bytes, pieces: list[bytes]
) -> None:
    for raw in candidates(base, pieces):
        for pattern in (_CHUNK, _CHUNK_MERGES):
            *_, merge, other = said(raw, pattern)
            assert (other == b"") == fused_clean(raw, CTX), raw
            assert merge == b""


@settings(max_examples=500)
@given(st.sampled_from(MERGE_CORPUS), st.lists(st.sampled_from(PIECES), max_size=8))
def test_a_merge_is_vouched_for_exactly_when_fused_merge_clean_says_so(
    base: bytes, pieces: list[bytes]
) -> None:
    for raw in candidates(base, pieces):
        *_, merge, other = said(raw, _CHUNK_MERGES)
        assert (other == b"") == fused_merge_clean(raw, CTX), raw
        assert (merge != b"") == (other == b"")  # its author, when vouched for
        assert said(raw, _CHUNK)[-1] != b""  # merges not vouched for: each looked at


def test_every_record_of_a_chunk_is_said_in_order() -> None:
    raws = [FUSED_CORPUS[0], MERGE_CORPUS[0], FUSED_CORPUS[1], MERGE_CORPUS[2]]
    text = b"".join(record(raw, b"%040x" % n) for n, raw in enumerate(raws))
    looked = look(text, _CHUNK_MERGES)
    assert [other == b"" for *_, other in looked] == [True, True, False, False]
    assert [merge != b"" for *_, merge, _ in looked] == [False, True, False, False]
    assert looked[2][-1] == record(raws[2], b"%040x" % 2)  # the record, to look at alone


def test_ids_that_disagree_with_the_header_are_looked_at_alone() -> None:
    """A shallow clone's boundary commit: git walks it as a root, its header names a
    parent (``git.walk`` rebuilds it without): never vouched for as it stands."""
    raw = FUSED_CORPUS[0]
    assert fused_clean(raw, CTX)
    assert look(b"c" * 40 + b"\n" + raw + b"\0") == [
        (b"", b"", b"", b"", b"c" * 40 + b"\n" + raw + b"\0")
    ]


def test_a_record_not_utf8_or_by_a_list_is_looked_at_alone_the_rest_at_once() -> None:
    good = record(FUSED_CORPUS[0])
    raws = [
        FUSED_CORPUS[0].replace(b"Subject", b"caf\xe9"),  # Latin-1
        FUSED_CORPUS[0].replace(b"Subject", "café".encode()),
        FUSED_CORPUS[0].replace(b"Ada Author", b"Ada via X"),
        # a sequence cut by the NUL between two records: not UTF-8 on either side
        FUSED_CORPUS[0].replace(b"Subject", b"caf\xc3"),
        FUSED_CORPUS[0].replace(b"Subject", b"\xa9t"),
    ]
    assert [fused_clean(raw, CTX) for raw in raws] == [False, True, False, False, False]
    assert fused_clean(FUSED_CORPUS[0].replace(b"Subject", b"cafe"), CTX)  # but for them
    latin, accented, listed, *cut = (record(raw) for raw in raws)
    chunk = [good, latin, good, accented, listed, good, *cut, good]
    looked = look(b"".join(chunk))
    assert [other == b"" for *_, other in looked] == [
        True, False, True, True, False, True, False, False, True
    ]  # fmt: skip
    assert looked[1] == looked[4] == looked[6] == (b"", b"", b"", b"", b"\0")
    # the author is the header's, as fused_clean reads it: not a line quoted in a message
    quoting = FUSED_CORPUS[0].replace(b"Subject", b"Subject\nauthor Ada via X <a@b>")
    assert fused_clean(quoting, CTX)
    assert [other == b"" for *_, other in look(good + record(quoting) + good)] == [True] * 3
