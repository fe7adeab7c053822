"""scan/gpg_batch.py: many OpenPGP tags verified by one gpg give, tag for tag, what
``git verify-tag`` gives, with real keys (tests/keys.py); a bad signature in the middle
does not cost the tags after it their verdict."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from keys import Keys, make_signed_merge
from send_mergereq.checks.finding import TagStatus
from send_mergereq.checks.tags import tag_object
from send_mergereq.git import output as git
from send_mergereq.history import parse_commit
from send_mergereq.scan import gpg_batch, signatures
from send_mergereq.scan.signatures import verify_tags


def one_tag(repo: Path, sha: str) -> bytes:
    (tag,) = parse_commit(sha, git(repo, "cat-file", "commit", sha)).mergetags
    return tag


@pytest.fixture
def tags(make_repo: Any, maintainer: Keys) -> tuple[Path, list[bytes]]:
    """good, stranger, a tampered good one, expired, revoked, good again: in one batch."""
    repo = make_repo().path
    made = [
        one_tag(repo, make_signed_merge(repo, f"pull-{name}", key))
        for name, key in [
            ("good", maintainer.good),
            ("stranger", maintainer.stranger),
            ("tampered", maintainer.good),
            ("expired", maintainer.expired),
            ("revoked", maintainer.revoked),
            ("good2", maintainer.good),
        ]
    ]
    made[2] = made[2].replace(b"Pull request pull-tampered", b"Pull request pull-tamperED")
    return repo, made


EXPECTED = [
    TagStatus.GOOD,
    TagStatus.UNKNOWN_KEY,
    TagStatus.BAD,
    TagStatus.EXPIRED_KEY,
    TagStatus.REVOKED_KEY,
    TagStatus.GOOD,
]


def test_one_gpg_says_what_git_verify_tag_says_of_each(
    tags: tuple[Path, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, made = tags
    calls: list[list[str]] = []
    real_run = signatures.git.run_verifier

    def counted(argv: list[str], *args: Any) -> Any:
        calls.append(argv)
        return real_run(argv, *args)

    monkeypatch.setattr(signatures.git, "run_verifier", counted)
    batched = verify_tags(repo, made, batch=True)
    # the bad signature stops gpg: one more run for the three after it
    assert len(calls) == 2 and calls[1][-3:] == ["3", "4", "5"]
    assert [batched[t].status for t in made] == EXPECTED
    monkeypatch.setattr(signatures.git, "gpg_program", lambda repo: None)  # git verify-tag
    one_by_one = verify_tags(repo, made, batch=True)
    assert len(calls) == 2  # no batch
    assert verify_tags(repo, made[:1]) == {made[0]: one_by_one[made[0]]}  # apply's way
    assert len(calls) == 2
    for tag in made:
        ours, git_says = batched[tag], one_by_one[tag]
        assert (ours.status, ours.signer, ours.uid, ours.key_ids) == (
            git_says.status,
            git_says.signer,
            git_says.uid,
            git_says.key_ids,
        )


def test_min_trust_level_leaves_every_tag_to_git(
    tags: tuple[Path, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``gpg.minTrustLevel`` is git's own check: no batch then."""
    repo, made = tags
    git(repo, "config", "gpg.minTrustLevel", "ultimate")
    monkeypatch.setattr(signatures.git, "run_verifier", pytest.fail)
    found = verify_tags(repo, made[:2], batch=True)
    assert found[made[0]].status is TagStatus.UNTRUSTED_KEY  # good, but not ultimately trusted
    assert found[made[1]].status is TagStatus.UNKNOWN_KEY


def test_the_gpg_program_is_read_as_git_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One ``git config`` for the three keys, each as git reads it: ``gpg.program`` and
    ``gpg.openpgp.program`` set one program, the last in git's order wins (git
    verify-tag runs it); the settings' one ``git config`` carries the same answer."""
    from send_mergereq.config import Flags, load_settings
    from send_mergereq.git import gpg_program

    repo = tmp_path / "r"
    git(tmp_path, "init", "-q", "-b", "master", str(repo))
    git(repo, "-c", "user.name=A", "-c", "user.email=a@example.org", "commit", "-q",
        "--allow-empty", "-m", "root")  # fmt: skip
    global_config = tmp_path / "global"
    global_config.write_text("")

    def program() -> str | None:
        said = gpg_program(repo)
        flags = Flags(target="master")
        assert load_settings(repo, "master", flags, os.environ).gpg_program == said
        return said

    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(global_config))
    assert program() == "gpg"
    git(repo, "config", "gpg.program", "gpg-a")
    assert program() == "gpg-a"
    git(repo, "config", "--add", "gpg.program", "my gpg")  # the last value wins
    assert program() == "my gpg"
    git(repo, "config", "gpg.openpgp.program", "gpg-b")  # after gpg.program: wins
    assert program() == "gpg-b"
    global_config.write_text("[gpg]\n\tprogram = gpg-c\n")  # read before the repo's
    assert program() == "gpg-b"
    global_config.write_text('[gpg "openpgp"]\n\tprogram = gpg-c\n')
    git(repo, "config", "--unset", "gpg.openpgp.program")
    assert program() == "my gpg"  # the repo's gpg.program comes after the global one
    git(repo, "config", "gpg.x509.program", "gpgsm")  # not OpenPGP's
    assert program() == "my gpg"
    git(repo, "config", "gpg.minTrustLevel", "fully")
    assert program() is None


def test_the_signed_message_holds_the_payload_git_verifies(
    tags: tuple[Path, list[bytes]],
) -> None:
    _, made = tags
    tag = tag_object(made[0])
    message = gpg_batch.signed_message(tag)
    payload = tag[: tag.rindex(b"-----BEGIN PGP SIGNATURE-----")]
    assert message is not None and message.endswith(payload)
    assert gpg_batch.signed_message(payload) is None  # unsigned
    ssh = payload + b"-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"
    assert gpg_batch.signed_message(ssh) is None  # left to git verify-tag
    damaged = tag.replace(b"\n=", b"\n=!!")[:-30] + b"\n-----END PGP SIGNATURE-----\n"
    assert gpg_batch.signed_message(damaged + b"trailing words\n") is None


def test_split_status_frames_each_file_and_goes_on_after_a_stop() -> None:
    said = (
        "[GNUPG:] FILE_START 1 0\n[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG AB Ada\n"
        "[GNUPG:] VALIDSIG F 2026-01-01 1 0 4 0 22 8 00 F\n[GNUPG:] FILE_DONE\n"
        "[GNUPG:] FILE_START 1 1\n[GNUPG:] NEWSIG\n[GNUPG:] NODATA 1\n[GNUPG:] FILE_DONE\n"
        "[GNUPG:] FILE_START 1 2\n[GNUPG:] NEWSIG\n[GNUPG:] BADSIG AB Ada\n"
        "[GNUPG:] FAILURE gpg-exit 33554433\n"
    )
    found, after = gpg_batch.split_status(said, 5)
    assert sorted(found) == [0, 2] and after == 3  # 1: no verdict, left to git verify-tag
    assert found[0][0] == 0 and "GOODSIG" in found[0][1] and "BADSIG" not in found[0][1]
    assert found[2][0] == 1 and "BADSIG" in found[2][1]
    assert gpg_batch.split_status("gpg: invalid option\n", 5) == ({}, 5)  # stop: all to git


def test_the_range_verifier_reads_the_gpg_program_once_for_all_its_batches(
    tags: tuple[Path, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process verifies its tags in several batches (``scan/tags_beside.py``): one
    ``git config`` for them all, not one a batch; and what it read is what a batch uses."""
    from send_mergereq.scan.range_check import default_verifier

    repo, made = tags
    real_program, reads = signatures.git.gpg_program, []

    def counted(where: Path) -> str | None:
        reads.append(where)
        return real_program(where)

    monkeypatch.setattr(signatures.git, "gpg_program", counted)
    verify = default_verifier(repo)
    found = {**verify(made[:3]), **verify(made[3:5]), **verify(made[5:])}
    assert reads == [repo]
    assert [found[t].status for t in made] == EXPECTED
    # a verifier of its own (another run) reads it again: minTrustLevel now set
    git(repo, "config", "gpg.minTrustLevel", "ultimate")
    monkeypatch.setattr(signatures.git, "run_verifier", pytest.fail)
    assert default_verifier(repo)(made[:1])[made[0]].status is TagStatus.UNTRUSTED_KEY
    assert reads == [repo, repo]


def test_the_range_verifier_takes_the_gpg_program_it_is_given(
    tags: tuple[Path, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given the program (a run's settings read it with the rest of git's config), no
    process of the run reads git's config again: None (``gpg.minTrustLevel`` set)
    leaves every tag to git verify-tag."""
    from send_mergereq.scan.range_check import default_verifier

    repo, made = tags
    monkeypatch.setattr(signatures.git, "gpg_program", pytest.fail)
    found = default_verifier(repo, lambda _: "gpg")(made)
    assert [found[t].status for t in made] == EXPECTED  # gpg as the batch
    git(repo, "config", "gpg.minTrustLevel", "ultimate")
    monkeypatch.setattr(signatures.git, "run_verifier", pytest.fail)  # no batch
    verify = default_verifier(repo, lambda _: None)
    assert verify(made[:1])[made[0]].status is TagStatus.UNTRUSTED_KEY
