"""signed-tags on real merges of real signed tags, verified by real git verify-tag."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from keys import (
    Keys,
    git_config_env,
    make_signed_merge,
    pull_request,
    rewrite_commit,
    sign_tag,
    stored_tag,
    with_mergetag,
)
from send_mergereq.checks import CHECKS, signed_tags
from send_mergereq.checks.finding import CheckContext, Finding, Severity, TagVerification
from send_mergereq.checks.runner import EnabledCheck, run_checks
from send_mergereq.checks.tags import tag_object
from send_mergereq.git import output as git
from send_mergereq.history import RawCommit, parse_commit
from send_mergereq.scan.range_check import default_verifier
from send_mergereq.scan.signatures import verify_tags

OPTS = signed_tags.Options()


def read(repo: Path, sha: str) -> RawCommit:
    return parse_commit(sha, git(repo, "cat-file", "commit", sha))


def findings(repo: Path, sha: str, trusted: tuple[str, ...] = ()) -> list[Finding]:
    commit = read(repo, sha)
    results = verify_tags(repo, commit.mergetags)
    ctx = CheckContext(trusted_signers=trusted, verify_tag=results.__getitem__)
    found = list(signed_tags.check(commit, ctx, OPTS))
    for finding in found:  # every finding says what is wrong and what to do next
        assert finding.check == "signed-tags"
        assert finding.commit == sha
        assert finding.message
        assert finding.hint
    return found


def only(found: list[Finding]) -> Finding:
    assert len(found) == 1, [f.message for f in found]
    return found[0]


@pytest.fixture
def repo(make_repo):  # type: ignore[no-untyped-def]
    return make_repo().path


def test_registered() -> None:
    assert CHECKS["signed-tags"] is signed_tags
    assert signed_tags.Options().severity is Severity.ERROR


def test_non_merges_are_not_its_business(repo: Path, maintainer: Keys) -> None:
    assert findings(repo, git(repo, "rev-parse", "HEAD").decode().strip()) == []


def test_trusted_key_passes(repo: Path, maintainer: Keys) -> None:
    assert findings(repo, make_signed_merge(repo, "pull-good", maintainer.good)) == []


def test_ssh_signed_tag_passes(repo: Path, maintainer: Keys) -> None:
    assert findings(repo, make_signed_merge(repo, "pull-ssh", maintainer.ssh)) == []


def test_plain_branch_merge_is_not_a_signed_tag(repo: Path, maintainer: Keys) -> None:
    tip = pull_request(repo, "branch")
    git(repo, "merge", "-q", "--no-ff", "--no-edit", "pr/branch")
    sha = git(repo, "rev-parse", "HEAD").decode().strip()
    found = only(findings(repo, sha))
    assert found.severity is Severity.ERROR
    assert f"merged {tip[:12]} without a signed tag" in found.message
    assert "git pull <url> <tag>" in found.hint
    assert "git request-pull" in found.hint


def test_unsigned_annotated_tag_is_named(repo: Path, maintainer: Keys) -> None:
    sha = make_signed_merge(repo, "pull-annotated", None)
    found = only(findings(repo, sha))
    assert "merged tag 'pull-annotated'" in found.message
    assert "not signed" in found.message


def test_lightweight_tag_is_not_called_annotated(repo: Path, maintainer: Keys) -> None:
    tip = pull_request(repo, "pull-light")
    git(repo, "tag", "pull-light", tip)
    git(repo, "merge", "-q", "--no-ff", "--no-edit", "pull-light")
    found = only(findings(repo, git(repo, "rev-parse", "HEAD").decode().strip()))
    assert f"merged tag 'pull-light' ({tip[:12]}), which is not signed" in found.message
    assert "a lightweight or unsigned annotated tag" in found.message


def test_unsigned_tag_in_a_mergetag_header(repo: Path, maintainer: Keys) -> None:
    plain = make_signed_merge(repo, "pull-unsigned", None)
    sha = rewrite_commit(repo, plain, with_mergetag(stored_tag(repo, "pull-unsigned")))
    found = only(findings(repo, sha))
    assert "tag 'pull-unsigned' is an annotated tag without a signature" in found.message
    assert "git tag -s pull-unsigned" in found.hint


def test_tampered_mergetag_is_a_bad_signature(repo: Path, maintainer: Keys) -> None:
    merge = make_signed_merge(repo, "pull-tamper", maintainer.good)
    sha = rewrite_commit(
        repo, merge, lambda raw: raw.replace(b" Pull request pull-tamper", b" Pull request evil")
    )
    found = only(findings(repo, sha))
    assert "signature does not verify" in found.message
    assert "BADSIG" in found.message
    assert "fetch the tag again" in found.hint


def _garble_signature(raw: bytes) -> bytes:
    """Replace the body of the mergetag's armoured signature with junk."""
    head, begin, rest = raw.partition(b" -----BEGIN PGP SIGNATURE-----\n")
    _, end, tail = rest.partition(b" -----END PGP SIGNATURE-----")
    return head + begin + b" \n iQIzBAABCgAdFiEEgarbledgarbledgarbled==\n =AAAA\n" + end + tail


def test_damaged_signature_block_is_a_bad_signature(repo: Path, maintainer: Keys) -> None:
    """gpg finds no OpenPGP data in a garbled signature (NODATA): the signature is damaged,
    which is no fault of the maintainer's gpg setup."""
    merge = make_signed_merge(repo, "pull-garbled", maintainer.good)
    found = only(findings(repo, rewrite_commit(repo, merge, _garble_signature)))
    assert found.message.startswith("tag 'pull-garbled': the signature is damaged")
    assert "NODATA" in found.message
    assert "fetch the tag again" in found.hint and "gpg.program" not in found.hint


def test_key_missing_from_keyring_says_how_to_import_it(repo: Path, maintainer: Keys) -> None:
    found = only(findings(repo, make_signed_merge(repo, "pull-stranger", maintainer.stranger)))
    assert "not in your keyring" in found.message
    assert "gpg --recv-keys" in found.hint
    assert maintainer.stranger.long_id in found.hint


def test_ssh_key_not_allowed_says_where_to_add_it(repo: Path, maintainer: Keys) -> None:
    found = only(findings(repo, make_signed_merge(repo, "pull-sam", maintainer.ssh_stranger)))
    assert maintainer.ssh_stranger.fingerprint in found.message
    assert "gpg.ssh.allowedSignersFile" in found.hint


def test_expired_key_says_how_to_refresh_it(repo: Path, maintainer: Keys) -> None:
    found = only(findings(repo, make_signed_merge(repo, "pull-expired", maintainer.expired)))
    assert "good signature by Eve Expired" in found.message
    assert "the key has expired" in found.message
    assert f"gpg --refresh-keys {maintainer.expired.fingerprint}" in found.hint


def test_revoked_key(repo: Path, maintainer: Keys) -> None:
    found = only(findings(repo, make_signed_merge(repo, "pull-revoked", maintainer.revoked)))
    assert "has been revoked" in found.message
    assert "current key" in found.hint


def test_key_below_git_min_trust_level(
    repo: Path, maintainer: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = make_signed_merge(repo, "pull-trust", maintainer.good)
    for key, value in git_config_env(**{"gpg.minTrustLevel": "marginal"}).items():
        monkeypatch.setenv(key, value)
    found = only(findings(repo, sha))
    assert "git refuses the key's trust level" in found.message
    assert "gpg --lsign-key" in found.hint


def test_ssh_without_allowed_signers_file(
    repo: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GNUPGHOME", str(keys.verify_home))
    found = only(findings(repo, make_signed_merge(repo, "pull-unset", keys.ssh)))
    assert "could not be verified" in found.message
    assert "git config gpg.ssh.allowedSignersFile" in found.hint


@pytest.mark.parametrize(
    "pin",
    ["fingerprint", "spaced", "long_id", "0xlong_id"],
)
def test_pinned_gpg_signer_passes_by_any_of_its_names(
    repo: Path, maintainer: Keys, pin: str
) -> None:
    fpr = maintainer.good.fingerprint
    pins = {
        "fingerprint": fpr.lower(),
        "spaced": " ".join(fpr[i : i + 4] for i in range(0, 40, 4)),
        "long_id": maintainer.good.long_id,
        "0xlong_id": "0x" + maintainer.good.long_id,
    }
    sha = make_signed_merge(repo, "pull-pinned", maintainer.good)
    assert findings(repo, sha, trusted=("someone@else.example", pins[pin])) == []


def test_signer_not_pinned_is_untrusted(repo: Path, maintainer: Keys) -> None:
    sha = make_signed_merge(repo, "pull-unpinned", maintainer.good)
    found = only(findings(repo, sha, trusted=(maintainer.revoked.fingerprint,)))
    assert "not among this project's trusted signers" in found.message
    assert maintainer.good.uid in found.message
    assert f"add '{maintainer.good.fingerprint}' to trusted-signers" in found.hint


def test_short_key_id_is_not_a_pin(repo: Path, maintainer: Keys) -> None:
    sha = make_signed_merge(repo, "pull-short", maintainer.good)
    found = only(findings(repo, sha, trusted=(maintainer.good.fingerprint[-8:],)))
    assert "trusted signers" in found.message


@pytest.mark.parametrize("by", ["principal", "fingerprint"])
def test_pinned_ssh_signer(repo: Path, maintainer: Keys, by: str) -> None:
    pin = maintainer.ssh.principal if by == "principal" else maintainer.ssh.fingerprint
    sha = make_signed_merge(repo, f"pull-ssh-{by}", maintainer.ssh)
    assert findings(repo, sha, trusted=(pin,)) == []
    assert "trusted signers" in only(findings(repo, sha, trusted=("nobody@example.org",))).message


def test_tag_naming_another_commit(repo: Path, maintainer: Keys) -> None:
    merge = make_signed_merge(repo, "pull-elsewhere", maintainer.good)
    other = pull_request(repo, "other")
    tagged = read(repo, merge).parents[1]
    sha = rewrite_commit(
        repo,
        merge,
        lambda raw: raw.replace(f"parent {tagged}".encode(), f"parent {other}".encode()),
    )
    found = only(findings(repo, sha))
    assert f"tag 'pull-elsewhere' names {tagged[:12]}, not a commit this merge merged" in (
        found.message
    )
    assert other[:12] in found.message


def test_tag_of_a_tree_is_not_a_commit(repo: Path, maintainer: Keys) -> None:
    """A correctly signed tag whose ``type`` is not commit (signed by hand with gpg -bsa)."""
    merge = make_signed_merge(repo, "pull-typed", maintainer.good)
    parent = read(repo, merge).parents[1]
    payload = (
        f"object {parent}\ntype tree\ntag pull-typed\n"
        "tagger Max Maintainer <max@example.org> 1700000000 +0000\n\nOdd tag\n"
    ).encode()
    signature = subprocess.run(
        ["gpg", "--batch", "-bsa", "-u", maintainer.good.fingerprint],
        input=payload,
        env={"GNUPGHOME": str(maintainer.good.home), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        check=True,
    ).stdout
    tag = (payload + signature).removesuffix(b"\n")

    def swap(raw: bytes) -> bytes:
        head, _, message = raw.partition(b"\n\n")
        kept = head.split(b"\nmergetag ", 1)[0]
        return with_mergetag(tag)(kept + b"\n\n" + message)

    found = only(findings(repo, rewrite_commit(repo, merge, swap)))
    assert "tag 'pull-typed' tags a tree, not a commit" in found.message


def test_octopus_needs_a_tag_per_merged_parent(repo: Path, maintainer: Keys) -> None:
    pull_request(repo, "oct-a")
    sign_tag(repo, "oct-a", maintainer.good, "pr/oct-a")
    plain = pull_request(repo, "oct-b")
    git(repo, "merge", "-q", "--no-ff", "--no-edit", "oct-a", "pr/oct-b")
    found = only(findings(repo, git(repo, "rev-parse", "HEAD").decode().strip()))
    assert f"merged {plain[:12]} without a signed tag" in found.message


def test_octopus_of_signed_tags_passes(repo: Path, maintainer: Keys) -> None:
    for name, key in (("oct-c", maintainer.good), ("oct-d", maintainer.ssh)):
        pull_request(repo, name)
        sign_tag(repo, name, key, f"pr/{name}")
    git(repo, "merge", "-q", "--no-ff", "--no-edit", "oct-c", "oct-d")
    assert findings(repo, git(repo, "rev-parse", "HEAD").decode().strip()) == []


def test_check_asks_ctx_for_each_mergetag_header(repo: Path, maintainer: Keys) -> None:
    """The check itself runs nothing: it asks ``ctx.verify_tag`` about the header value."""
    sha = make_signed_merge(repo, "pull-ctx", maintainer.stranger)
    commit = read(repo, sha)
    seen: list[bytes] = []

    def verify(tag: bytes) -> TagVerification:
        seen.append(tag)
        return verify_tags(repo, [tag])[tag]

    found = list(signed_tags.check(commit, CheckContext(verify_tag=verify), OPTS))
    assert seen == list(commit.mergetags)
    assert tag_object(seen[0]).startswith(b"object ")
    assert len(found) == 1


def test_through_the_runner_in_one_batch(repo: Path, maintainer: Keys) -> None:
    """The runner defers tagged merges and verifies all their tags with one call."""
    good = make_signed_merge(repo, "pull-r1", maintainer.good)
    bad = make_signed_merge(repo, "pull-r2", maintainer.stranger)
    ids = git(repo, "rev-list", "master..staging").decode().split()
    commits = [read(repo, sha) for sha in ids]
    calls: list[int] = []
    real = default_verifier(repo)

    def counting(tags):  # type: ignore[no-untyped-def]
        calls.append(len(tags))
        return real(tags)

    result = run_checks(commits, [EnabledCheck(signed_tags, OPTS)], CheckContext(), counting)
    assert calls == [2]
    assert [f.commit for f in result.findings] == [bad]
    assert good in ids


def test_unknown_ssh_key_finding_carries_its_allowed_signers_line(
    repo: Path, maintainer: Keys
) -> None:
    """The SSH signature holds the public key: the digest can offer the exact line to add
    (principal: the tagger's email), the key the same one ssh-keygen made."""
    found = only(findings(repo, make_signed_merge(repo, "pull-sam2", maintainer.ssh_stranger)))
    assert found.kind == "unknown-ssh-key"
    ref = "refs/tags/pull-sam2"
    tagger = git(repo, "for-each-ref", "--format=%(taggeremail:trim)", ref).decode().strip()
    assert found.about == f"{tagger} {maintainer.ssh_stranger.public_line}"
    allowed = repo / "allowed_signers_test"
    allowed.write_text(found.about + "\n")
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-tag",
         "pull-sam2"],
        capture_output=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr  # the offered line makes the tag verify


def test_unknown_gpg_key_finding_is_about_its_fingerprint(repo: Path, maintainer: Keys) -> None:
    found = only(findings(repo, make_signed_merge(repo, "pull-sam3", maintainer.stranger)))
    assert (found.kind, found.about) == ("unknown-key", maintainer.stranger.fingerprint)
