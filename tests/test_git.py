"""git/, the one door to git: what the send half asks of GitPython, on real repositories."""

from __future__ import annotations

from typing import Any

from gitrepo import Repo
from send_mergereq import git


def test_is_ancestor_is_false_for_a_commit_the_repo_does_not_have(make_repo: Any) -> None:
    repo: Repo = make_repo()
    base = repo.head()
    top = repo.commit("on staging")
    assert git.is_ancestor(repo.path, base, top) and not git.is_ancestor(repo.path, top, base)
    assert not git.is_ancestor(repo.path, "f" * 40, top)


def test_push_url_applies_pushurl_and_insteadof(make_repo: Any) -> None:
    repo: Repo = make_repo()
    repo.git("remote", "add", "origin", "gl:group/proj.git")
    repo.git("config", "url.https://gitlab.example/.insteadOf", "gl:")
    assert git.push_url(repo.path, "origin") == "https://gitlab.example/group/proj.git"
    repo.git("config", "remote.origin.pushurl", "git@gitlab.example:group/proj.git")
    assert git.push_url(repo.path, "origin") == "git@gitlab.example:group/proj.git"
    assert git.push_url(repo.path, "nowhere") is None


def test_adds_nothing_is_the_empty_range(make_repo: Any) -> None:
    repo: Repo = make_repo()
    base = repo.head()
    top = repo.commit("on staging")
    assert git.adds_nothing(repo.path, base, top)
    assert not git.adds_nothing(repo.path, top, base)


def test_read_blob_and_config_entries(make_repo: Any) -> None:
    repo: Repo = make_repo()
    repo.git("config", "sendmergereq.check", "signoff=warning")
    repo.git("config", "--add", "sendmergereq.check", "utf8=off")
    assert git.config_entries(repo.path, r"^sendmergereq\.") == [
        ("sendmergereq.check", "signoff=warning"),
        ("sendmergereq.check", "utf8=off"),
    ]
    assert git.config_entries(repo.path, r"^nothing\.") == []
    assert git.read_blob(repo.path, "master:nope.toml") is None


def test_commits_and_dates_in_one_git_or_none(make_repo: Any) -> None:
    """Both ends of a range and their committer dates at once; None (each end is then
    resolved alone, with its own error) for anything that is not one commit per ref."""
    repo: Repo = make_repo()
    repo.commit("One more")
    head, first = repo.git("rev-parse", "HEAD", "HEAD~1").split()
    dates = [int(d) for d in repo.git("show", "-s", "--format=%ct", first, head).split()]
    found = git.commits_and_dates(repo.path, ["HEAD~1", "HEAD"])
    assert found == [(first, dates[0]), (head, dates[1])]
    for refs in (["HEAD", "no-such-ref"], ["HEAD", "HEAD"], ["HEAD~1..HEAD", "HEAD"],
                 ["HEAD^@", "HEAD"], ["--all", "HEAD"], ["HEAD^{tree}", "HEAD"]):  # fmt: skip
        assert git.commits_and_dates(repo.path, refs) is None, refs


def test_a_stream_reads_a_walk_through_a_wide_pipe(make_repo: Any) -> None:
    """git writes a walk's megabytes into a pipe of ``_PIPE_SIZE`` bytes, not 64 KiB (a
    sixteenth of the wake-ups), and what it wrote is read whole."""
    import fcntl

    from send_mergereq.git.process import _PIPE_SIZE, Stream

    repo: Repo = make_repo()
    for n in range(3):
        repo.commit(f"c{n}")
    walk = Stream(repo.path, ["rev-list", "HEAD"])
    try:
        assert fcntl.fcntl(walk.stdout.fileno(), fcntl.F_GETPIPE_SZ) == _PIPE_SIZE > 65536
        assert len(walk.stdout.read().split()) == 4  # the fixture's first commit too
    finally:
        walk.stop()
    assert walk.wait() == 0
