"""``runner.fused_clean``: the one-regex look at the usual commit never hides a finding."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from send_mergereq.checks import CHECKS
from send_mergereq.checks.finding import CheckContext
from send_mergereq.checks.runner import fused_clean, fused_merge_clean
from send_mergereq.history import parse_commit

PLAIN = b"tree " + b"1" * 40 + b"\nparent " + b"2" * 40 + b"\n"
WHO = b"author Ada Author <ada@example.org> 1 +0000\ncommitter M <m@x> 1 +0000\n\n"
FUSED_CORPUS = [
    PLAIN + WHO + b"Subject\n\nBody.\n\nSigned-off-by: Ada Author <ADA@example.org>\nCc: x\n",
    PLAIN + WHO + b"Subject\n\nSigned-off-by: Ada Author <ada@example.org>\n\nlate\n",
    PLAIN + WHO + b"Subject\nSigned-off-by: Ada Author <ada@example.org>\n",
    PLAIN + WHO + b"S\n\nSigned-off-by: Other <o@x>\nReviewed-by: <ada@example.org>\n",
    PLAIN
    + WHO.replace(b"Ada Author", b"Ada via Qemu-devel")
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
            for module in CHECKS.values():
                assert list(module.check(commit, ctx, module.Options())) == [], module.ID
    assert fused_clean(FUSED_CORPUS[0], ctx) and not fused_clean(FUSED_CORPUS[1], ctx)


MERGE = b"tree " + b"1" * 40 + b"\nparent " + b"2" * 40 + b"\nparent " + b"3" * 40 + b"\n"
MERGE_CORPUS = [
    MERGE + WHO + b"Merge branch 'x'\n",
    MERGE + WHO.replace(b"\n\n", b"\nmergetag object x\n type commit\n\n") + b"Merge tag\n",
    MERGE + WHO.replace(b"\n\n", b"\nencoding latin1\n\n") + b"Merge\n",
    MERGE + WHO.replace(b"Ada Author", b"Ada via Qemu-devel") + b"Merge\n",
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
                if module.ID != "signed-tags":
                    assert list(module.check(commit, ctx, module.Options())) == [], module.ID
    assert fused_merge_clean(MERGE_CORPUS[0], ctx) and fused_merge_clean(MERGE_CORPUS[1], ctx)
    assert not any(fused_merge_clean(m, ctx) for m in MERGE_CORPUS[2:])


def test_a_merge_clean_without_signed_tags_is_still_counted() -> None:
    from send_mergereq.checks.runner import EnabledCheck, run_checks

    enabled = [EnabledCheck(m, m.Options()) for m in CHECKS.values() if m.ID != "signed-tags"]
    objects = [("a" * 40, MERGE_CORPUS[0]), ("b" * 40, FUSED_CORPUS[0])]
    result = run_checks(objects, enabled, CheckContext(), lambda tags: {})
    assert (result.commits, result.merges, result.findings) == (2, 1, ())
