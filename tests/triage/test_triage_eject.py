"""triage/eject.py on real repositories: staging rebuilt without a pull request, the others
remade from the same tags in the original order."""

from __future__ import annotations

from collections.abc import Callable

from triage_helpers import pull

from gitrepo import Repo
from keys import Keys
from send_mergereq.history import parse_commit
from send_mergereq.triage.eject import find_pull, rebuild
from send_mergereq.triage.pulls import pulls_in


def raw(repo: Repo, sha: str) -> bytes:
    return repo.git("cat-file", "commit", sha).encode() + b"\n"


def test_eject_the_middle_one(make_repo: Callable[..., Repo], keys: Keys) -> None:
    repo = make_repo()
    block = pull(repo, "pull-block", {"block/qcow2.c": "b"}, keys.good, commits=2)
    pull(repo, "pull-net", {"net/tap.c": "n"}, keys.good)
    arm = pull(repo, "pull-arm", {"hw/arm/virt.c": "a"}, keys.good)
    staging = repo.head()
    pulls = pulls_in(repo.path, "master", "staging")
    net = find_pull(pulls, "pull-net")
    assert net is not None
    master = repo.git("rev-parse", "master")
    done = rebuild(repo.path, master, pulls, [net])
    assert [p.tag for p in done.ejected] == ["pull-net"] and done.left_out == ()
    assert [(p.tag, sha == p.merge) for p, sha in done.kept] == [
        ("pull-block", True),  # before the ejected one: the very same commit
        ("pull-arm", False),  # remade
    ]
    # Nothing moved: the rebuilt branch is only objects until the command moves it.
    assert repo.git("rev-parse", "staging") == staging
    repo.git("branch", "rebuilt", done.tip)
    again = pulls_in(repo.path, "master", "rebuilt")
    assert [(p.tag, p.commits, p.files) for p in again] == [
        ("pull-block", 2, ("block/qcow2.c",)),
        ("pull-arm", 1, ("hw/arm/virt.c",)),
    ]
    assert "net/tap.c" not in repo.git("ls-tree", "-r", "--name-only", "rebuilt")
    old, new = parse_commit(arm, raw(repo, arm)), parse_commit(done.tip, raw(repo, done.tip))
    assert new.parents == (block, old.parents[1])
    assert new.mergetags == old.mergetags  # the same signed tag, carried over
    assert new.message == old.message


def test_eject_the_first_remakes_the_rest_on_the_target(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo()
    first = pull(repo, "pull-a", {"a/x.c": "a"})
    pull(repo, "pull-b", {"b/x.c": "b"})
    pulls = pulls_in(repo.path, "master", "staging")
    master = repo.git("rev-parse", "master")
    (a,) = [p for p in pulls if p.merge == first]
    assert find_pull(pulls, first[:9]) == a
    done = rebuild(repo.path, master, pulls, [a])
    assert [p.tag for p, _ in done.kept] == ["pull-b"]
    assert parse_commit(done.tip, raw(repo, done.tip)).parents[0] == master
    # ejecting everything leaves the target
    assert rebuild(repo.path, master, pulls, pulls).tip == master


def test_a_pull_request_that_now_conflicts_is_left_out_and_named(
    make_repo: Callable[..., Repo],
) -> None:
    """B was built on A and rewrote A's line; C made the same change on its own. With B, C
    merges cleanly; without B, C conflicts with A."""
    repo = make_repo()
    (repo.path / "f.c").write_text("1\n2\n3\n")
    repo.git("checkout", "-q", "master")
    repo.git("add", "f.c")
    repo.git("commit", "-q", "--no-gpg-sign", "-m", "f")
    repo.git("checkout", "-q", "-B", "staging", "master")
    pull(repo, "pull-a", {"f.c": "1\nA\n3"})  # line 2: "A 0"
    repo.git("checkout", "-q", "-b", "pr/pull-b", "staging")
    (repo.path / "f.c").write_text("1\nC\n3\n")
    repo.git("commit", "-q", "--no-gpg-sign", "-am", "b")
    repo.git("tag", "-a", "-m", "b", "pull-b")
    repo.git("checkout", "-q", "staging")
    repo.git("merge", "-q", "--no-ff", "--no-edit", "pull-b")
    repo.git("checkout", "-q", "-b", "pr/pull-c", "master")
    (repo.path / "f.c").write_text("1\nC\n3\n")
    (repo.path / "c.c").write_text("c\n")
    repo.git("add", "f.c", "c.c")
    repo.git("commit", "-q", "--no-gpg-sign", "-m", "c")
    repo.git("tag", "-a", "-m", "c", "pull-c")
    repo.git("checkout", "-q", "staging")
    repo.git("merge", "-q", "--no-ff", "--no-edit", "pull-c")
    pulls = pulls_in(repo.path, "master", "staging")
    b = find_pull(pulls, "pull-b")
    assert b is not None
    done = rebuild(repo.path, repo.git("rev-parse", "master"), pulls, [b])
    assert [p.tag for p, _ in done.kept] == ["pull-a"]
    ((left, reason, conflicts),) = [(x.pull.tag, x.reason, x.conflicts) for x in done.left_out]
    assert (left, reason, conflicts) == ("pull-c", "it no longer merges cleanly", ("f.c",))
    assert done.tip == pulls[0].merge


def test_a_pull_request_built_on_the_ejected_one_is_left_out(
    make_repo: Callable[..., Repo],
) -> None:
    repo = make_repo()
    pull(repo, "pull-a", {"a.c": "a"})
    repo.git("checkout", "-q", "-b", "pr/pull-b2", "pr/pull-a")
    (repo.path / "b.c").write_text("b\n")
    repo.git("add", "b.c")
    repo.git("commit", "-q", "--no-gpg-sign", "-m", "b on a")
    repo.git("tag", "-a", "-m", "b", "pull-b2")
    repo.git("checkout", "-q", "staging")
    repo.git("merge", "-q", "--no-ff", "--no-edit", "pull-b2")
    repo.commit("a fix of my own", filename="own.c")
    pulls = pulls_in(repo.path, "master", "staging")
    a = find_pull(pulls, "pull-a")
    assert a is not None
    done = rebuild(repo.path, repo.git("rev-parse", "master"), pulls, [a])
    assert done.kept == ()
    assert [(x.pull.label, x.reason) for x in done.left_out] == [
        ("pull-b2", f"its branch contains the ejected {repo.git('rev-parse', 'pr/pull-a')[:12]}"),
        (pulls[2].label, "a commit of its own after an ejected one: cherry-pick it by hand"),
    ]


def test_remade_merges_are_signed_when_the_config_signs(
    make_repo: Callable[..., Repo], keys: Keys
) -> None:
    repo = make_repo()
    pull(repo, "pull-a", {"a.c": "a"})
    pull(repo, "pull-b", {"b.c": "b"})
    pulls = pulls_in(repo.path, "master", "staging")
    repo.git("config", "commit.gpgsign", "true")
    repo.git("config", "gpg.format", "ssh")
    repo.git("config", "user.signingkey", str(keys.ssh.private))
    repo.git("config", "gpg.ssh.allowedSignersFile", str(keys.allowed_signers))
    done = rebuild(repo.path, repo.git("rev-parse", "master"), pulls, pulls[:1])
    repo.git("verify-commit", done.tip)  # raises unless the signature is good


def test_find_pull_by_tag_or_unambiguous_sha() -> None:
    from send_mergereq.triage.pulls import Pull

    pulls = [Pull(1, "abcdef1234" + "0" * 30, "s", True, tag="pull-a"),
             Pull(2, "abcdef1299" + "0" * 30, "s", True, tag="pull-b")]  # fmt: skip
    assert find_pull(pulls, "pull-b") == pulls[1]
    assert find_pull(pulls, "abcdef12") is None  # both
    assert find_pull(pulls, "ABCDEF129") == pulls[1]
    assert find_pull(pulls, "abc") is None and find_pull(pulls, "pull-z") is None
