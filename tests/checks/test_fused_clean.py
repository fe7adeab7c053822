"""``fused.fused_clean``: the one-regex look at the usual commit never hides a finding."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from send_mergereq.checks import CHECKS, list_address
from send_mergereq.checks.finding import CheckContext
from send_mergereq.checks.fused import fused_clean, fused_merge_clean
from send_mergereq.history import parse_commit

PLAIN = b"tree " + b"1" * 40 + b"\nparent " + b"2" * 40 + b"\n"
WHO = b"author Ada Author <ada@example.org> 1 +0000\ncommitter M <m@x> 1 +0000\n\n"
FUSED_CORPUS = [
    PLAIN + WHO + b"Subject\n\nBody.\n\nSigned-off-by: Ada Author <ADA@example.org>\nCc: x\n",
    PLAIN + WHO + b"Subject\n\nSigned-off-by: Ada Author <ada@example.org>\n\nlate\n",
    PLAIN + WHO + b"Subject\nSigned-off-by: Ada Author <ada@example.org>\n",
    PLAIN + WHO + b"S\n\nSigned-off-by: Other <o@x>\nReviewed-by: <ada@example.org>\n",
    PLAIN
    + WHO.replace(b"Ada Author", b"Ada via X")  # munged by the profile's list
    + b"S\n\nSigned-off-by: A <ada@example.org>\n",
    PLAIN + WHO + b"Caf\xc3\xa9\n\nSigned-off-by: Ada Author <ada@example.org>  \n\n",
]


@settings(max_examples=300)
@given(st.sampled_from(FUSED_CORPUS), st.binary(max_size=40))
def test_fused_clean_never_hides_a_finding(base: bytes, noise: bytes) -> None:
    ctx = CheckContext(list_addresses=("qemu-*@nongnu.org",), list_name_suffixes=("via X",))
    for candidate in (base, base + noise, noise + base, base.replace(b"Body", noise)):
        if fused_clean(candidate, ctx):
            commit = parse_commit("c" * 40, candidate)
            for module in CHECKS.values():  # the shared look, then the check's own vouch
                path, opts = module.FAST_PATH, module.Options()
                if path is not None and (path.vouch is None or path.vouch(candidate, ctx, opts)):
                    assert list(module.check(commit, ctx, opts)) == [], module.ID
    assert fused_clean(FUSED_CORPUS[0], ctx) and not fused_clean(FUSED_CORPUS[1], ctx)


MERGE = b"tree " + b"1" * 40 + b"\nparent " + b"2" * 40 + b"\nparent " + b"3" * 40 + b"\n"
MERGE_CORPUS = [
    MERGE + WHO + b"Merge branch 'x'\n",
    MERGE + WHO.replace(b"\n\n", b"\nmergetag object x\n type commit\n\n") + b"Merge tag\n",
    MERGE + WHO.replace(b"\n\n", b"\nencoding latin1\n\n") + b"Merge\n",
    MERGE + WHO.replace(b"Ada Author", b"Ada via X") + b"Merge\n",  # the profile's list
    MERGE + WHO + b"Merge caf\xe9\n",
]


@settings(max_examples=300)
@given(st.sampled_from(MERGE_CORPUS), st.binary(max_size=40))
def test_fused_merge_clean_never_hides_a_finding(base: bytes, noise: bytes) -> None:
    """With signed-tags off, a merge it calls clean has no finding from the other checks."""
    ctx = CheckContext(list_addresses=("qemu-*@nongnu.org",), list_name_suffixes=("via X",))
    for candidate in (base, base + noise, noise + base, base.replace(b"Merge", noise)):
        if fused_merge_clean(candidate, ctx):
            commit = parse_commit("c" * 40, candidate)
            for module in CHECKS.values():
                if module.FAST_PATH and module.FAST_PATH.merges and not module.FAST_PATH.vouch:
                    assert list(module.check(commit, ctx, module.Options())) == [], module.ID
    assert fused_merge_clean(MERGE_CORPUS[0], ctx) and fused_merge_clean(MERGE_CORPUS[1], ctx)
    assert not any(fused_merge_clean(m, ctx) for m in MERGE_CORPUS[2:])


def test_a_merge_clean_without_signed_tags_is_still_counted() -> None:
    from send_mergereq.checks.runner import EnabledCheck, run_checks

    enabled = [EnabledCheck(m, m.Options()) for m in CHECKS.values() if m.ID != "signed-tags"]
    objects = [("a" * 40, MERGE_CORPUS[0]), ("b" * 40, FUSED_CORPUS[0])]
    result = run_checks(objects, enabled, CheckContext(), lambda tags: {})
    assert (result.commits, result.merges, result.findings) == (2, 1, ())


# the one-regex definition fused_clean had: the faster steps must say exactly the same
_TRAILER = rb"[A-Za-z0-9-]+[ \t]*:[^\n]*"
_ONE_REGEX = re.compile(
    rb"tree [0-9a-f]{40,64}\n(?:parent [0-9a-f]{40,64}\n)?"
    rb"author ([^<>\n]*<([^<>\s]+)>)[^<>\n]*\ncommitter [^\n]*\n\n"
    rb"(?s:.*)\n\n(?:" + _TRAILER + rb"\n)*"
    rb"(?i:signed-off-by)[ \t]*:[^\n]*<(?i:\2)>[ \t\r]*(?:\n" + _TRAILER + rb")*\s*\Z"
)
PIECES = [b"\n", b"\n\n", b" ", b"\t", b"\r", b"\x0b", b"x", b"Cc: y", b"Signed-off-by: A ",
          b"signed-off-by :", b"<ada@example.org>", b"<ADA@example.org>", b"<o@x>", b"<", b">",
          b"-", b"#", b"\xc3\xa9", b"\xe9", b"Reviewed-by: <ada@example.org>"]  # fmt: skip


@settings(max_examples=1500)
@given(st.sampled_from(FUSED_CORPUS), st.lists(st.sampled_from(PIECES), max_size=12))
def test_fused_clean_says_what_the_one_regex_said(base: bytes, pieces: list[bytes]) -> None:
    ctx = CheckContext()
    noise = b"".join(pieces)
    for raw in (base + noise, base.replace(b"Subject", noise), base.rstrip(b"\n") + noise):
        match = _ONE_REGEX.match(raw)
        one_regex = match is not None and b"\0" not in raw
        if one_regex and not raw.isascii():
            one_regex = raw.decode("utf-8", errors="replace").encode() == raw
        if match is not None and one_regex:
            one_regex = not list_address.suspect_ident(match[1], ctx)
        assert fused_clean(raw, ctx) == one_regex, raw
