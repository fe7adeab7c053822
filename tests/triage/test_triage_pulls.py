"""triage/pulls.py on real repositories: the first-parent steps of TARGET..BRANCH, oldest
first, with tag, signer, commit count and files of each pull request."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from triage_helpers import pull

from gitrepo import Repo
from keys import Keys
from send_mergereq.apply import notes
from send_mergereq.apply.pulls import MailHeaders, PullRequest
from send_mergereq.checks.finding import TagVerification
from send_mergereq.errors import GitError
from send_mergereq.scan.signatures import verify_tags
from send_mergereq.triage.pulls import pulls_in


def test_merges_and_plain_commits_oldest_first(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo()
    block = pull(repo, "pull-block", {"block/qcow2.c": "a", "tests/qemu-iotests/042": "b"})
    fix = repo.commit("staging: a fix of the maintainer's own", filename="MAINTAINERS")
    net = pull(repo, "pull-net", {"net/tap.c": "c"}, commits=3)
    pulls = pulls_in(repo.path, "master", "staging")
    assert [(p.k, p.merge, p.is_merge, p.tag) for p in pulls] == [
        (1, block, True, "pull-block"),
        (2, fix, False, ""),
        (3, net, True, "pull-net"),
    ]
    assert pulls[0].files == ("block/qcow2.c", "tests/qemu-iotests/042")
    assert pulls[0].commits == 1
    assert (pulls[1].files, pulls[1].commits, pulls[1].label) == (
        ("MAINTAINERS",),
        1,
        f"{fix[:12]} (staging: a fix of the maintainer's own)",
    )
    assert (pulls[2].files, pulls[2].commits) == (("net/tap.c",), 3)
    assert all(p.signer == "" and p.signature == "" for p in pulls)  # nothing verified
    assert pulls[2].document() == {
        "k": 3,
        "tag": "pull-net",
        "url": None,
        "signer": None,
        "signature": None,
        "merge": net,
        "is_merge": True,
        "subject": "Merge tag 'pull-net' into staging",
        "commits": 3,
        "files": ["net/tap.c"],
    }


def test_files_are_what_the_merge_adds_over_its_first_parent(
    make_repo: Callable[..., Repo],
) -> None:
    """The second pull request branched off master before the first landed: its files are
    only its own, not the first's (diff from the first parent, not from master)."""
    repo = make_repo()
    pull(repo, "pull-a", {"hw/arm/virt.c": "a"})
    pull(repo, "pull-b", {"hw/riscv/virt.c": "b"})
    assert [p.files for p in pulls_in(repo.path, "master", "staging")] == [
        ("hw/arm/virt.c",),
        ("hw/riscv/virt.c",),
    ]


def test_signers_through_verify_tags(make_repo: Callable[..., Repo], maintainer: Keys) -> None:
    repo = make_repo()
    pull(repo, "pull-good", {"a.c": "a"}, maintainer.good)
    pull(repo, "pull-ssh", {"b.c": "b"}, maintainer.ssh)
    pull(repo, "pull-stranger", {"c.c": "c"}, maintainer.stranger)
    pull(repo, "pull-unsigned", {"d.c": "d"})
    pulls = pulls_in(repo.path, "master", "staging", lambda tags: verify_tags(repo.path, tags))
    assert [(p.tag, p.signer, p.signature) for p in pulls] == [
        ("pull-good", "Sue Submaintainer <sue@example.org>", "good"),
        ("pull-ssh", "sue@example.org", "good"),
        ("pull-stranger", "", "unknown-key"),
        ("pull-unsigned", "", "unsigned"),
    ]


def test_verification_is_one_batch_of_the_merges_tags(
    make_repo: Callable[..., Repo], keys: Keys
) -> None:
    repo = make_repo()
    pull(repo, "pull-a", {"a.c": "a"}, keys.good)
    repo.commit("plain", filename="p.c")
    pull(repo, "pull-b", {"b.c": "b"}, keys.good)
    batches: list[list[bytes]] = []

    def verify(tags: Sequence[bytes]) -> dict[bytes, TagVerification]:
        batches.append(list(tags))
        return {}

    pulls = pulls_in(repo.path, "master", "staging", verify)
    assert len(batches) == 1
    assert [b.split(b"\n")[2] for b in batches[0]] == [b"tag pull-a", b"tag pull-b"]
    assert [p.signature for p in pulls] == ["", "", ""]  # the verifier said nothing


def test_url_from_apply_note_else_from_the_merge_subject(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo()
    noted = pull(repo, "pull-noted", {"a.c": "a"})
    request = PullRequest(
        url="https://git.example.org/sue/qemu.git",
        tag="pull-noted",
        base="0" * 40,
        head="1" * 40,
        source="pulls.mbox, message 1",
        mail=MailHeaders(message_id="<1@example.org>", subject="[PULL 0/1] noted"),
    )
    notes.record(repo.path, noted, request)
    # A merge made by hand from a URL says it in its subject; a tag without mergetag too.
    repo.git("checkout", "-q", "-b", "side", "master")
    (repo.path / "side").mkdir()
    repo.commit("side work", filename="side/x.c")
    repo.git("checkout", "-q", "staging")
    message = "Merge tag 'pull-old' of https://git.example.org/old/qemu.git into staging"
    repo.git("merge", "-q", "--no-ff", "-m", message, "side")
    pulls = pulls_in(repo.path, "master", "staging")
    assert [(p.tag, p.url) for p in pulls] == [
        ("pull-noted", "https://git.example.org/sue/qemu.git"),
        ("pull-old", "https://git.example.org/old/qemu.git"),
    ]
    assert pulls[1].files == ("side/x.c",)


def test_nothing_over_the_target_and_unknown_refs(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo()
    assert pulls_in(repo.path, "master", "staging") == []
    with pytest.raises(GitError) as caught:
        pulls_in(repo.path, "master", "no-such-branch")
    assert "'no-such-branch' is not a commit" in caught.value.message


def test_a_hostile_ref_name_is_not_an_option(
    make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo()
    with pytest.raises(GitError):
        pulls_in(repo.path, "master", f"--output={tmp_path / 'owned'}")
    assert not (tmp_path / "owned").exists()


def test_a_branch_that_is_no_staging_over_the_target_is_refused(
    make_repo: Callable[..., Repo], monkeypatch: pytest.MonkeyPatch
) -> None:
    from send_mergereq.triage import pulls as module

    repo = make_repo()
    for n in range(3):
        repo.commit(f"c{n}")
    monkeypatch.setattr(module, "MAX_STEPS", 2)
    with pytest.raises(GitError) as caught:
        pulls_in(repo.path, "master", "staging")
    assert caught.value.message == (
        "staging adds 3 first-parent commits over master, more than the 2 a staging of pull "
        "requests has"
    )
    assert caught.value.hint == "is master the branch staging was built on?"
