from __future__ import annotations

from send_mergereq.checks.finding import TagStatus, TagVerification
from send_mergereq.history import RawCommit, parse_commit
from send_mergereq.mr.describe import description, signed_by, summarize, title, who_signed

TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
BASE = "0" * 40


def sha(n: int) -> str:
    return f"{n:040x}"


def commit(n: int, parents: list[str], subject: str, mergetag: bytes | None = None) -> RawCommit:
    head = [f"tree {TREE}".encode()] + [f"parent {p}".encode() for p in parents]
    head += [b"author Ada Author <ada@example.org> 1700000000 +0000",
             b"committer Max Maintainer <max@example.org> 1700000000 +0000"]  # fmt: skip
    if mergetag is not None:
        lines = mergetag.split(b"\n")
        head.append(b"mergetag " + lines[0])
        head += [b" " + line for line in lines[1:]]
    raw = b"\n".join(head) + b"\n\n" + subject.encode() + b"\n"
    return parse_commit(sha(n), raw)


def signed_tag(name: str, target: str, subject: str, tagger: str) -> bytes:
    return (
        f"object {target}\ntype commit\ntag {name}\n"
        f"tagger {tagger} 1700000000 +0100\n\n{subject}\n\nMore text.\n"
        "-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEE\n=abcd\n-----END PGP SIGNATURE-----"
    ).encode()


def staging() -> list[RawCommit]:
    """master(BASE) <- direct 1 <- merge pull-a (2 commits) <- merge pull-b <- direct 2."""
    a1 = commit(10, [BASE], "hw/arm: fix a thing")
    a2 = commit(11, [a1.sha], "hw/arm: fix another thing")
    b1 = commit(20, [BASE], "block: tidy up")
    d1 = commit(1, [BASE], "MAINTAINERS: update my address")
    tag_a = signed_tag("pull-target-arm-20261125", a2.sha, "target-arm queue",
                       "Peter Maydell <peter.maydell@linaro.org>")  # fmt: skip
    m1 = commit(2, [d1.sha, a2.sha], "Merge tag 'pull-target-arm-20261125'", tag_a)
    tag_b = signed_tag("pull-block-2026-11-25", b1.sha, "Block layer patches",
                       "Kevin Wolf <kwolf@redhat.com>")  # fmt: skip
    m2 = commit(3, [m1.sha, b1.sha], "Merge tag 'pull-block-2026-11-25'", tag_b)
    d2 = commit(4, [m2.sha], "Update version for v9.2.0-rc2 release")
    return [d2, m2, b1, m1, a2, a1, d1]  # newest first, as scan.walk.read_commits gives them


def test_summary_walks_first_parents_oldest_first() -> None:
    summary = summarize(staging(), sha(4))
    assert [p.tag for p in summary.pulls] == ["pull-target-arm-20261125", "pull-block-2026-11-25"]
    first = summary.pulls[0]
    assert first.tagger == "Peter Maydell <peter.maydell@linaro.org>"
    assert first.signer == "" and first.verification is None  # no verification given
    assert first.subject == "target-arm queue"
    assert first.signed
    assert [d.subject for d in summary.direct] == [
        "MAINTAINERS: update my address",
        "Update version for v9.2.0-rc2 release",
    ]


def test_title_names_the_tags() -> None:
    summary = summarize(staging(), sha(4))
    assert title(summary, "staging") == (
        "Merge staging: 2 pull requests "
        "(pull-target-arm-20261125, pull-block-2026-11-25), 2 commits"
    )


def test_title_with_many_tags_stays_short() -> None:
    commits = []
    parent = BASE
    for i in range(5):
        side = commit(100 + i, [BASE], f"side {i}")
        merge = commit(200 + i, [parent, side.sha], f"Merge tag 'pull-{i}'",
                       signed_tag(f"pull-{i}", side.sha, f"queue {i}", "A <a@x>"))  # fmt: skip
        commits += [side, merge]
        parent = merge.sha
    summary = summarize(commits, parent)
    assert title(summary, "staging") == (
        "Merge staging: 5 pull requests (pull-0, pull-1, pull-2, +2 more)"
    )


def test_description_lists_pulls_signers_and_direct_commits() -> None:
    summary = summarize(staging(), sha(4))
    text = description(summary, "staging", "master", 7)
    assert "Pull requests merged into `staging`:" in text
    assert (
        "- **pull-target-arm-20261125** tagged by Peter Maydell &lt;peter.maydell@linaro.org&gt;: "
        f"target-arm queue (`{sha(2)[:12]}`)"
    ) in text
    assert f"- `{sha(1)[:12]}` MAINTAINERS: update my address" in text
    assert "Range `master..staging`: 7 commits." in text
    assert description(summary, "staging", "master", 7) == text  # stable: no needless updates


def test_untagged_merge_is_listed_as_such() -> None:
    side = commit(10, [BASE], "side")
    merge = commit(11, [BASE, side.sha], "Merge branch 'side'")
    summary = summarize([merge, side], merge.sha)
    assert summary.pulls[0].tag == "Merge branch 'side'"
    assert not summary.pulls[0].signed
    assert "(not a signed tag)" in description(summary, "staging", "master", 2)
    assert title(summary, "staging") == "Merge staging: 1 pull request (Merge branch 'side')"


def test_only_direct_commits() -> None:
    one = commit(1, [BASE], "fix")
    summary = summarize([one], one.sha)
    assert title(summary, "staging") == "Merge staging: 1 commit"
    assert "Pull requests" not in description(summary, "staging", "master", 1)


FPR = "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"


def _verified(**by_tag: TagVerification) -> dict[bytes, TagVerification]:
    """The verification of each of staging()'s tags, by tag name."""
    tags = {c.mergetags[0]: c for c in staging() if c.mergetags}
    return {raw: by_tag[name] for raw in tags for name in by_tag if f"tag {name}\n".encode() in raw}


def test_the_signer_is_the_keys_owner_and_the_tagger_is_said_when_someone_else() -> None:
    """Alice's key on a tag Peter made: signed by Alice, by key, tagged by Peter."""
    alice = TagVerification(TagStatus.GOOD, FPR, uid="Alice Signer <alice@example.org>")
    kevin = TagVerification(TagStatus.GOOD, FPR, uid="Kevin Wolf <KWolf@redhat.com>")
    verified = _verified(**{"pull-target-arm-20261125": alice, "pull-block-2026-11-25": kevin})

    text = description(summarize(staging(), sha(4), verified), "staging", "master", 7)

    assert (
        "- **pull-target-arm-20261125** signed by Alice Signer &lt;alice@example.org&gt; "
        f"(key {FPR}), tagged by Peter Maydell &lt;peter.maydell@linaro.org&gt;: "
        "target-arm queue"
    ) in text
    assert (  # the same address, in another case: one person, said once
        f"- **pull-block-2026-11-25** signed by Kevin Wolf &lt;KWolf@redhat.com&gt; (key {FPR}): "
        "Block layer patches"
    ) in text


def test_an_ssh_signer_is_its_principal_with_the_keys_fingerprint() -> None:
    ssh = TagVerification(TagStatus.GOOD, "peter.maydell@linaro.org", key_ids=("SHA256:abc",))
    pull = summarize(staging(), sha(4), _verified(**{"pull-target-arm-20261125": ssh})).pulls[0]
    assert signed_by(pull) == "signed by peter.maydell@linaro.org (key SHA256:abc)"


def test_a_signature_that_did_not_verify_says_the_key_and_why() -> None:
    unknown = TagVerification(TagStatus.UNKNOWN_KEY, FPR)
    pull = summarize(staging(), sha(4), _verified(**{"pull-target-arm-20261125": unknown})).pulls[0]
    assert signed_by(pull) == (
        f"signed with key {FPR} (not verified: unknown key), "
        "tagged by Peter Maydell <peter.maydell@linaro.org>"
    )


def test_who_signed_without_a_verification_names_only_the_tagger() -> None:
    assert who_signed(None, "Carol Tagger <carol@example.org>") == (
        "tagged by Carol Tagger <carol@example.org>"
    )
    bad = TagVerification(TagStatus.BAD, FPR, uid="Alice Signer <alice@example.org>")
    assert who_signed(bad, "") == f"signed with key {FPR} (not verified: bad signature)"
