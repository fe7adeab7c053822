"""bisect/ejection.py on real repositories: staging rebuilt without a pull request and moved
by compare-and-swap, a clean checked-out work tree following it, a dirty one refused, and
exit 8 when no other pull request could be kept."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from triage_helpers import pull

from gitrepo import Repo
from keys import Keys
from send_mergereq.bisect.ejection import eject
from send_mergereq.errors import ConfigError, ExitCode


def test_eject_moves_staging_and_its_work_tree(make_repo: Callable[..., Repo], keys: Keys) -> None:
    repo = make_repo()
    pull(repo, "pull-block", {"block/qcow2.c": "b"}, keys.good)
    pull(repo, "pull-net", {"net/tap.c": "n"}, keys.good)
    arm = pull(repo, "pull-arm", {"hw/arm/virt.c": "a"}, keys.good)
    old = repo.head()
    note = ("send-mergereq apply: the pull request's email\n\n"
            "Message-Id: <arm@example.org>\nFrom: Ann Arm <ann@arm.example.org>\n")  # fmt: skip
    repo.git("notes", "--ref", "refs/notes/send-mergereq", "add", "-m", note, arm)

    done = eject(repo.path, "master", "staging", "pull-net")

    assert done.exit_code is ExitCode.OK and done.moved and done.old == old
    assert repo.git("rev-parse", "staging") == done.new
    assert not (repo.path / "net" / "tap.c").exists()  # checked out and clean: it followed
    assert repo.git("status", "--porcelain") == ""
    merges = repo.git("rev-list", "--first-parent", "master..staging").split()
    assert len(merges) == 2
    for merge in merges:
        assert "\nmergetag object " in repo.git("cat-file", "commit", merge)
    assert "ejected pull-net" in done.lines()[0]
    # the remade arm merge keeps apply's record of its email (a later --reply threads)
    from send_mergereq.apply import notes

    (remade,) = [sha for kept, sha in done.rebuilt.kept if kept.merge == arm]
    assert remade != arm
    headers = notes.recorded(repo.path, remade)
    assert headers is not None and headers.message_id == "<arm@example.org>"
    assert done.document()["left_out"] == []
    reflog = repo.git("reflog", "-1", "--format=%gs", "staging")
    assert reflog == "send-mergereq eject: pull-net"
    # the undo it prints takes the work tree back too (update-ref left it at the ejected tree)
    (undo,) = [line for line in done.lines() if "undo:" in line]
    command = undo.split("undo: ", 1)[1]
    assert command == f"git checkout staging && git reset --keep {old[:12]}"
    repo.git("reset", "--keep", old[:12])
    assert (repo.path / "net" / "tap.c").exists() and repo.git("status", "--porcelain") == ""


def test_a_dirty_checkout_is_refused_and_nothing_moves(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo()
    pull(repo, "pull-a", {"a/x.c": "a"})
    pull(repo, "pull-b", {"b/x.c": "b"})
    old = repo.head()
    (repo.path / "a" / "x.c").write_text("edited\n")
    with pytest.raises(ConfigError, match=r"checked out .* with uncommitted changes"):
        eject(repo.path, "master", "staging", "pull-a")
    assert repo.head() == old


def test_nothing_rebuilt_is_exit_8_and_the_branch_stays(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo()
    pull(repo, "pull-a", {"shared.c": "a"})
    # pull-b builds on pull-a (its branch contains it): it cannot stay without it
    repo.git("checkout", "-q", "-b", "pr/b", "pr/pull-a")
    (repo.path / "b.c").write_text("b\n")
    repo.git("add", "b.c")
    repo.git("commit", "-q", "--no-gpg-sign", "-m", "b")
    repo.git("tag", "-a", "-m", "b", "pull-b")
    repo.git("checkout", "-q", "staging")
    repo.git("merge", "-q", "--no-ff", "--no-edit", "pull-b")
    old = repo.head()

    done = eject(repo.path, "master", "staging", "pull-a")

    assert done.exit_code is ExitCode.NOT_MERGED == 8
    assert not done.moved and repo.head() == old
    assert [lo.pull.tag for lo in done.rebuilt.left_out] == ["pull-b"]
    assert "nothing could be rebuilt" in done.lines()[-1]


def test_an_unknown_pull_request_is_named_with_the_ones_there(
    make_repo: Callable[..., Repo],
) -> None:
    repo = make_repo()
    pull(repo, "pull-a", {"a/x.c": "a"})
    with pytest.raises(ConfigError) as caught:
        eject(repo.path, "master", "staging", "pull-zzz")
    assert caught.value.hint is not None and "pull-a" in caught.value.hint
