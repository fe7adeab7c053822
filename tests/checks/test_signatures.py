"""signatures.verify_tags against real gpg and ssh keys, through real git verify-tag."""

from __future__ import annotations

from pathlib import Path

import pytest

from keys import Keys, git_config_env, make_signed_merge, pull_request, sign_tag, stored_tag
from send_mergereq.checks.finding import TagStatus
from send_mergereq.checks.tags import parse_tag, tag_object
from send_mergereq.git import output as git
from send_mergereq.history import parse_commit
from send_mergereq.scan.signatures import verify_tags


def mergetags(repo: Path, sha: str) -> tuple[bytes, ...]:
    return parse_commit(sha, git(repo, "cat-file", "commit", sha)).mergetags


def one_tag(repo: Path, sha: str) -> bytes:
    (tag,) = mergetags(repo, sha)
    return tag


def loose_objects(repo: Path) -> set[Path]:
    return {p for p in (repo / ".git" / "objects").rglob("*") if p.is_file()}


@pytest.fixture
def repo(make_repo):  # type: ignore[no-untyped-def]
    return make_repo().path


def test_good_gpg_signature_names_the_primary_key_and_uid(repo: Path, maintainer: Keys) -> None:
    tag = one_tag(repo, make_signed_merge(repo, "pull-good", maintainer.good))
    result = verify_tags(repo, [tag])[tag]
    assert result.status is TagStatus.GOOD
    assert result.signer == maintainer.good.fingerprint
    assert result.uid == maintainer.good.uid
    assert maintainer.good.long_id in result.key_ids


def test_mergetag_rebuilds_the_exact_tag_object(repo: Path, maintainer: Keys) -> None:
    tag = one_tag(repo, make_signed_merge(repo, "pull-exact", maintainer.good))
    stored = git(repo, "cat-file", "tag", "pull-exact")
    assert tag_object(tag) == stored
    assert parse_tag(tag_object(tag)).signed


def test_key_missing_from_the_keyring_is_unknown(repo: Path, maintainer: Keys) -> None:
    tag = one_tag(repo, make_signed_merge(repo, "pull-stranger", maintainer.stranger))
    result = verify_tags(repo, [tag])[tag]
    assert result.status is TagStatus.UNKNOWN_KEY
    assert result.signer in (maintainer.stranger.fingerprint, maintainer.stranger.long_id)


def test_tampered_tag_is_bad(repo: Path, maintainer: Keys) -> None:
    tag = one_tag(repo, make_signed_merge(repo, "pull-tamper", maintainer.good))
    forged = tag.replace(b"Pull request pull-tamper", b"Pull request pull-tamperED")
    result = verify_tags(repo, [forged])[forged]
    assert result.status is TagStatus.BAD
    assert "BADSIG" in result.detail


def test_expired_key(repo: Path, maintainer: Keys) -> None:
    tag = one_tag(repo, make_signed_merge(repo, "pull-expired", maintainer.expired))
    result = verify_tags(repo, [tag])[tag]
    assert result.status is TagStatus.EXPIRED_KEY
    assert result.signer == maintainer.expired.fingerprint
    assert result.uid == maintainer.expired.uid


def test_revoked_key(repo: Path, maintainer: Keys) -> None:
    tag = one_tag(repo, make_signed_merge(repo, "pull-revoked", maintainer.revoked))
    result = verify_tags(repo, [tag])[tag]
    assert result.status is TagStatus.REVOKED_KEY
    assert result.signer == maintainer.revoked.fingerprint


def test_good_signature_below_git_min_trust_level_is_refused(
    repo: Path, maintainer: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = one_tag(repo, make_signed_merge(repo, "pull-trust", maintainer.good))
    assert verify_tags(repo, [tag])[tag].status is TagStatus.GOOD  # undefined trust is fine
    for key, value in git_config_env(**{"gpg.minTrustLevel": "fully"}).items():
        monkeypatch.setenv(key, value)
    result = verify_tags(repo, [tag])[tag]
    assert result.status is TagStatus.UNTRUSTED_KEY
    assert result.detail.startswith("TRUST_")


def test_ssh_signature_from_an_allowed_signer(repo: Path, maintainer: Keys) -> None:
    tag = one_tag(repo, make_signed_merge(repo, "pull-ssh", maintainer.ssh))
    result = verify_tags(repo, [tag])[tag]
    assert result.status is TagStatus.GOOD
    assert result.signer == maintainer.ssh.principal
    assert result.key_ids == (maintainer.ssh.fingerprint,)


def test_ssh_key_not_in_allowed_signers_is_unknown(repo: Path, maintainer: Keys) -> None:
    tag = one_tag(repo, make_signed_merge(repo, "pull-ssh-stranger", maintainer.ssh_stranger))
    result = verify_tags(repo, [tag])[tag]
    assert result.status is TagStatus.UNKNOWN_KEY
    assert result.signer == maintainer.ssh_stranger.fingerprint


def test_tampered_ssh_tag_is_bad(repo: Path, maintainer: Keys) -> None:
    tag = one_tag(repo, make_signed_merge(repo, "pull-ssh-tamper", maintainer.ssh))
    forged = tag.replace(b"tag pull-ssh-tamper", b"tag pull-ssh-tamperED")
    result = verify_tags(repo, [forged])[forged]
    assert result.status is TagStatus.BAD
    assert "signature" in result.detail.lower()


def test_ssh_without_allowed_signers_file_says_so(
    repo: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GNUPGHOME", str(keys.verify_home))  # no gpg.ssh.allowedSignersFile
    tag = one_tag(repo, make_signed_merge(repo, "pull-ssh-unset", keys.ssh))
    result = verify_tags(repo, [tag])[tag]
    assert result.status is TagStatus.ERROR
    assert "gpg.ssh.allowedSignersFile" in result.detail


def test_unsigned_tag_is_answered_without_running_gpg(
    repo: Path, maintainer: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_signed_merge(repo, "pull-unsigned", None)  # git records no mergetag for it
    tag = stored_tag(repo, "pull-unsigned")
    for key, value in git_config_env(**{"gpg.program": str(repo / "no-such-gpg")}).items():
        monkeypatch.setenv(key, value)
    assert verify_tags(repo, [tag])[tag].status is TagStatus.UNSIGNED


def test_broken_verifier_is_an_error_not_an_exception(
    repo: Path, maintainer: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = one_tag(repo, make_signed_merge(repo, "pull-nogpg", maintainer.good))
    for key, value in git_config_env(**{"gpg.program": str(repo / "no-such-gpg")}).items():
        monkeypatch.setenv(key, value)
    result = verify_tags(repo, [tag])[tag]
    assert result.status is TagStatus.ERROR
    assert result.detail


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"\xff\xfe\x00garbage",
        b"garbage\n-----BEGIN PGP SIGNATURE-----\nnot base64 \xff\n-----END PGP SIGNATURE-----",
        b"object 0\ntype commit\ntag x\n\nmsg\n-----BEGIN SSH SIGNATURE-----\n\x00\x01",
        b"object 0\n\n-----BEGIN SIGNED MESSAGE-----\nno\n-----END SIGNED MESSAGE-----",
    ],
)
def test_weird_tags_never_raise(repo: Path, maintainer: Keys, junk: bytes) -> None:
    result = verify_tags(repo, [junk])[junk]
    expected = TagStatus.UNSIGNED if not parse_tag(junk).signed else None
    assert result.status is not TagStatus.GOOD
    if expected:
        assert result.status is expected
    else:
        assert result.status in (TagStatus.BAD, TagStatus.ERROR)
        assert result.detail


def test_batch_answers_every_tag_once_and_writes_nothing_to_the_repo(
    repo: Path, maintainer: Keys
) -> None:
    signers = [maintainer.good, maintainer.stranger, maintainer.ssh]
    shas = [make_signed_merge(repo, f"pull-{n}", key) for n, key in enumerate(signers)]
    make_signed_merge(repo, "pull-plain", None)
    tags = [*(one_tag(repo, sha) for sha in shas), stored_tag(repo, "pull-plain")]
    before = loose_objects(repo)
    results = verify_tags(repo, [*tags, tags[0]])
    assert loose_objects(repo) == before
    assert list(results) == tags
    assert [r.status for r in results.values()] == [
        TagStatus.GOOD,
        TagStatus.UNKNOWN_KEY,
        TagStatus.GOOD,
        TagStatus.UNSIGNED,
    ]


def test_octopus_merge_carries_one_tag_per_merged_parent(repo: Path, maintainer: Keys) -> None:
    for name, key in (("oct-a", maintainer.good), ("oct-b", maintainer.ssh)):
        pull_request(repo, name)
        sign_tag(repo, name, key, f"pr/{name}")
    git(repo, "merge", "-q", "--no-ff", "--no-edit", "oct-a", "oct-b")
    tags = mergetags(repo, git(repo, "rev-parse", "HEAD").decode().strip())
    assert len(tags) == 2
    assert {r.status for r in verify_tags(repo, tags).values()} == {TagStatus.GOOD}


def test_not_a_repository_is_an_error_for_each_signed_tag(
    tmp_path: Path, repo: Path, maintainer: Keys
) -> None:
    tag = one_tag(repo, make_signed_merge(repo, "pull-norepo", maintainer.good))
    result = verify_tags(tmp_path / "nowhere", [tag])[tag]
    assert result.status is TagStatus.ERROR
    assert "nowhere" in result.detail


def test_no_tags_no_work(tmp_path: Path) -> None:
    assert verify_tags(tmp_path, []) == {}


def test_sha256_repository(tmp_path: Path, maintainer: Keys) -> None:
    repo = tmp_path / "sha256"
    git(tmp_path, "init", "-q", "--object-format=sha256", "-b", "master", str(repo))
    git(repo, "commit", "-q", "--allow-empty", "-m", "Initial commit")
    git(repo, "branch", "staging")
    tag = one_tag(repo, make_signed_merge(repo, "pull-256", maintainer.good))
    assert len(parse_tag(tag_object(tag)).object) == 64
    assert verify_tags(repo, [tag])[tag].status is TagStatus.GOOD


def test_verifications_at_once_keep_their_order_and_say_what_failed() -> None:
    """``_at_once``: every index once, in order, at most ``most`` at a time; an exception
    in one is raised to the caller, after the threads have stopped."""
    import threading
    import time

    from send_mergereq.checks.finding import TagStatus, TagVerification
    from send_mergereq.scan.signatures import _at_once

    running, most_seen, lock = [0], [0], threading.Lock()

    def work(n: int) -> TagVerification:
        with lock:
            running[0] += 1
            most_seen[0] = max(most_seen[0], running[0])
        time.sleep(0.002 * (n % 3))  # finish out of order
        with lock:
            running[0] -= 1
        return TagVerification(TagStatus.GOOD, detail=str(n))

    found = _at_once(work, range(2, 30), 4)
    assert [v.detail for v in found] == [str(n) for n in range(2, 30)]
    assert 1 < most_seen[0] <= 4
    assert _at_once(work, range(0), 4) == []

    def failing(n: int) -> TagVerification:
        if n == 5:
            raise OSError("no more processes")
        return work(n)

    with pytest.raises(OSError, match="no more processes"):
        _at_once(failing, range(10), 3)


def test_the_scratch_directory_is_made_in_memory_when_it_has_room(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``/dev/shm`` (a file a tag, made in memory, not on the disk /tmp is on) when TMPDIR
    names no place, it can be written in and it has room; else the system's choice."""
    import os
    from types import SimpleNamespace

    from send_mergereq.scan import signatures

    def room(free: int) -> object:
        return lambda path: SimpleNamespace(f_bavail=free // 4096, f_frsize=4096)

    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setattr(os, "access", lambda path, mode: True)
    monkeypatch.setattr(os, "statvfs", room(64 << 20))
    assert signatures.scratch_parent(10 << 20) == signatures.MEMORY == "/dev/shm"
    assert signatures.scratch_parent(40 << 20) is None  # twice the tags and a megabyte
    monkeypatch.setenv("TMPDIR", "/elsewhere")
    assert signatures.scratch_parent(1) is None  # the user's choice
    monkeypatch.delenv("TMPDIR")
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    assert signatures.scratch_parent(1) is None

    def gone(path: str) -> object:
        raise FileNotFoundError(path)

    monkeypatch.setattr(os, "statvfs", gone)  # not Linux: no /dev/shm
    assert signatures.scratch_parent(1) is None


def test_the_tags_are_verified_in_the_memory_scratch_and_leave_nothing_there(
    repo: Path, maintainer: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from send_mergereq.scan import signatures

    memory = tmp_path / "shm"
    memory.mkdir()
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setattr(signatures, "MEMORY", str(memory))
    made: list[tuple[Path, int, list[str]]] = []
    real = signatures._remove

    def recorded(top: Path) -> None:
        if top.exists():  # what it held (the batch's files), before it is removed
            made.append((top, top.stat().st_mode & 0o777, sorted(p.name for p in top.iterdir())))
        real(top)

    monkeypatch.setattr(signatures, "_remove", recorded)
    tags = [
        one_tag(repo, make_signed_merge(repo, f"pull-memory-{n}", key))
        for n, key in enumerate([maintainer.good, maintainer.stranger])
    ]
    found = verify_tags(repo, tags, batch=True)
    assert [(top.parent, mode, held) for top, mode, held in made] == [(memory, 0o700, ["batch"])]
    assert made[0][0].name.startswith("send-mergereq-tags-")
    assert [found[t].status for t in tags] == [TagStatus.GOOD, TagStatus.UNKNOWN_KEY]
    assert list(memory.iterdir()) == []


def test_the_scratch_elsewhere_is_in_the_systems_temporary_directory_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TMPDIR set: the scratch is made there (``tempfile``'s choice), private, and removed
    with everything in it, a folder of loose objects too."""
    from send_mergereq.scan import signatures

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # tempfile reads TMPDIR anew
    with signatures.scratch(100) as top:
        assert top.parent == tmp_path and top.stat().st_mode & 0o777 == 0o700
        (top / "ab").mkdir()
        (top / "ab" / "cdef").write_bytes(b"x")
        (top / "batch").mkdir()
        (top / "batch" / "0").write_bytes(b"y")
    assert list(tmp_path.iterdir()) == []
