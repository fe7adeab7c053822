from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from keys import Keys, make_signed_merge
from send_mergereq.checks import CHECKS, list_address, signoff, utf8
from send_mergereq.checks.finding import (
    CheckContext,
    Finding,
    Severity,
    TagStatus,
    TagVerification,
)
from send_mergereq.checks.runner import EnabledCheck, run_checks
from send_mergereq.history import RawCommit, parse_commit
from send_mergereq.scan.range_check import check_range, default_verifier
from send_mergereq.scan.walk import resolve_range, whole

GOOD = TagVerification(TagStatus.GOOD, signer="ABCD")


def enabled(**severities: Severity) -> list[EnabledCheck]:
    return [
        EnabledCheck(module, module.Options(severities.get(cid.replace("-", "_"), Severity.ERROR)))
        for cid, module in CHECKS.items()
    ]


def raw(
    sha: str, message: bytes, parents: int = 1, mergetag: bytes | None = None
) -> tuple[str, bytes]:
    head = b"tree " + b"0" * 40 + b"\n" + b"parent " + b"1" * 40 + b"\n" * 1
    head += b"parent " + b"2" * 40 + b"\n" if parents > 1 else b""
    head += b"author Ada Author <ada@example.org> 1 +0000\n"
    head += b"committer Ada Author <ada@example.org> 1 +0000\n"
    if mergetag:
        head += b"mergetag " + mergetag.replace(b"\n", b"\n ") + b"\n"
    return sha, head + b"\n" + message


class FakeVerifier:
    """Records the batches it is asked for; answers GOOD for every tag."""

    def __init__(self) -> None:
        self.calls: list[list[bytes]] = []

    def __call__(self, tags: Sequence[bytes]) -> Mapping[bytes, TagVerification]:
        self.calls.append(list(tags))
        return dict.fromkeys(tags, GOOD)


def _tag(target: str) -> bytes:
    signature = "-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----"
    head = f"object {target}\ntype commit\ntag v1\ntagger T <t@x> 1 +0000\n"
    return f"{head}\nPull\n{signature}".encode()


def test_findings_come_in_stream_order_with_deferred_merges_in_place() -> None:
    seen: list[str] = []

    class Recorder:
        ID, SUMMARY, Options = "rec", "records", signoff.Options
        USES_TAGS = True

        @staticmethod
        def check(commit: RawCommit, ctx: CheckContext, opts: object) -> Iterator[Finding]:
            seen.append(commit.sha)
            yield Finding("rec", Severity.WARNING, commit.sha, ctx.verify_tag(b"x").status)

    commits = [
        raw("a" * 40, b"one\n"),
        raw("b" * 40, b"Merge\n", parents=2, mergetag=_tag("2" * 40)),
        raw("c" * 40, b"three\n"),
    ]
    verifier = FakeVerifier()
    result = run_checks(
        commits, [EnabledCheck(Recorder, signoff.Options())], CheckContext(), verifier
    )  # type: ignore[arg-type]
    assert seen == ["a" * 40, "c" * 40, "b" * 40]  # the merge ran after the stream
    assert [f.commit[0] for f in result.findings] == ["a", "b", "c"]
    assert len(verifier.calls) == 1
    assert (result.commits, result.merges) == (3, 1)


def test_verifier_is_not_called_without_tags_or_without_a_tag_check() -> None:
    verifier = FakeVerifier()
    commits = [raw("a" * 40, b"one\n"), raw("b" * 40, b"M\n", 2, _tag("2" * 40))]
    checks = [EnabledCheck(signoff, signoff.Options()), EnabledCheck(utf8, utf8.Options())]
    run_checks(commits, checks, CheckContext(), verifier)
    assert verifier.calls == []


def test_signed_tag_merges_are_verified_in_one_batch() -> None:
    verifier = FakeVerifier()
    tags = [_tag("2" * 40), _tag("2" * 40).replace(b"v1", b"v2")]
    commits = [raw(str(n) * 40, b"Merge\n", 2, tag) for n, tag in enumerate(tags)]
    result = run_checks(commits, enabled(), CheckContext(), verifier)
    assert verifier.calls == [tags]
    assert [f.check for f in result.findings] == []


def test_off_checks_do_not_run() -> None:
    commits = [raw("a" * 40, b"no signoff\n")]
    on = run_checks(commits, enabled(), CheckContext(), FakeVerifier())
    off = run_checks(commits, enabled(signoff=Severity.OFF), CheckContext(), FakeVerifier())
    assert [f.check for f in on.findings] == ["signoff"]
    assert off.findings == ()


def test_subjects_are_kept_only_for_commits_with_findings() -> None:
    commits = [
        raw("a" * 40, b"bad one\n"),
        raw("b" * 40, b"ok\n\nSigned-off-by: A <ada@example.org>\n"),
    ]
    result = run_checks(commits, enabled(), CheckContext(), FakeVerifier())
    assert result.subjects == {"a" * 40: "bad one"}


def test_real_repository_with_a_real_signed_merge(make_repo, maintainer: Keys) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo()
    repo.commit("Local fix")
    repo.commit("No sign-off", signoff=None)
    merge = make_signed_merge(repo.path, "pull-good", maintainer.good)
    rng = resolve_range(repo.path, "master", "staging")
    ctx = CheckContext(list_addresses=("qemu-devel@nongnu.org",))
    verifier = default_verifier(Path(repo.path))
    result = check_range(repo.path, rng, enabled(), ctx, verifier, parts=[whole(rng)])
    assert (result.commits, result.merges) == (4, 1)
    assert [(f.check, result.subjects[f.commit]) for f in result.findings] == [
        ("signoff", "No sign-off")
    ]
    assert merge not in {f.commit for f in result.findings}


def test_list_address_check_sees_the_context() -> None:
    commit = raw("a" * 40, b"x\n\nSigned-off-by: A <ada@example.org>\n")
    ctx = CheckContext(list_addresses=("ada@example.org",))
    result = run_checks(
        [commit], [EnabledCheck(list_address, list_address.Options())], ctx, FakeVerifier()
    )
    assert [f.check for f in result.findings] == ["list-address"]


def test_commits_every_check_calls_clean_are_not_checked() -> None:
    calls: list[str] = []

    class Vouching:
        ID, SUMMARY, Options = "vouch", "vouches", signoff.Options

        @staticmethod
        def clean(head: bytes, message: bytes, ctx: CheckContext, opts: object) -> bool:
            return b"dirty" not in message

        @staticmethod
        def check(commit: RawCommit, ctx: CheckContext, opts: object) -> Iterator[Finding]:
            calls.append(commit.subject)
            yield Finding("vouch", Severity.ERROR, commit.sha, "dirty")

    commits = [raw("a" * 40, b"fine\n"), raw("b" * 40, b"dirty\n")]
    result = run_checks(
        commits, [EnabledCheck(Vouching, signoff.Options())], CheckContext(), FakeVerifier()
    )  # type: ignore[arg-type]
    assert calls == ["dirty"] and [f.commit for f in result.findings] == ["b" * 40]


RAW_CORPUS = [
    raw("a" * 40, b"ok\n\nSigned-off-by: Ada Author <ada@example.org>\n")[1],
    raw("a" * 40, b"no signoff\n")[1],
    raw("a" * 40, b"M\n", parents=2)[1],
    raw("a" * 40, b"M\n", 2, _tag("2" * 40))[1],
    raw("a" * 40, b"caf\xe9\n\nSigned-off-by: Ada Author <ada@example.org>\n")[1],
    raw("a" * 40, b"x\n\nSigned-off-by: Ada <ADA@example.org>\nFoo: bar\n")[1],
    raw("a" * 40, b"x\n\nSigned-off-by: Ada Author <ada@example.org>\n\nlate\n")[1],
    b"tree x\nparent y\nauthor Jane via Qemu-devel <qemu-devel@nongnu.org> 1 +0000\n\nx\n",
    b"tree x\nparent y\nauthor Jane\tvia\tqemu-devel <qemu-devel@x.org> 1 +0000\n\nx\n",
    b"tree x\nparent y\nauthor Jane  via   X <j@x.org> 1 +0000\n\nx\n",
    b"tree x\nparent y\nauthor A <a@x> 1 +0000\nencoding latin1\n\nx\n\nSigned-off-by: A <a@x>\n",
    b"tree x\nauthor A <a@x> 1 +0000",
    b"",
]


@settings(max_examples=300)
@given(
    st.sampled_from(RAW_CORPUS),
    st.binary(max_size=60),
    st.sampled_from([b"", b"\n\nSigned-off-by: A <a@x>\n", b"\nencoding x", b"\nparent z"]),
)
def test_clean_never_hides_a_finding(base: bytes, noise: bytes, tail: bytes) -> None:
    ctx = CheckContext(list_addresses=("qemu-*@nongnu.org",), list_name_suffixes=("via X",))
    for candidate in (base, base + noise, base + tail, noise + base, base.replace(b"x", noise)):
        commit = parse_commit("c" * 40, candidate)
        head, blank, message = candidate.partition(b"\n\n")
        for module in CHECKS.values():
            opts = module.Options()
            if blank and module.clean(head, message, ctx, opts):  # type: ignore[attr-defined]
                assert list(module.check(commit, ctx, opts)) == [], (module.ID, candidate)


@settings(max_examples=300)
@given(st.binary(max_size=400), st.sampled_from(RAW_CORPUS))
def test_junk_objects_are_findings_never_crashes(junk: bytes, base: bytes) -> None:
    ctx = CheckContext(list_addresses=("*@nongnu.org",), list_name_suffixes=("via Qemu-devel",))
    for raw_object in (junk, base + junk, junk + base):
        result = run_checks([("d" * 40, raw_object)], enabled(), ctx, FakeVerifier())
        assert result.commits == 1
        assert all(f.message and f.hint for f in result.findings)
