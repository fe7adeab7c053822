"""run/target.py: the remote-tracking ref of the target follows a landing."""

from __future__ import annotations

from pathlib import Path

from gitrepo import Repo, run_git
from send_mergereq.gitlab.credentials import Secret, Token
from send_mergereq.gitlab.location import GitLabLocation
from send_mergereq.gitlab.session import Session
from send_mergereq.run.target import record_landing

TOKEN = Token(Secret("glpat-CANARY-target-0123456789"), "test")


def _with_origin(make_repo, tmp_path: Path) -> tuple[Repo, Path, Session]:  # type: ignore[no-untyped-def]
    repo: Repo = make_repo()
    bare = tmp_path / "origin.git"
    run_git(tmp_path, "init", "-q", "--bare", str(bare))
    repo.git("remote", "add", "origin", f"file://{bare}")
    repo.git("push", "-q", "origin", "master")
    location = GitLabLocation("https://gitlab.example.org", "group/proj")
    return repo, bare, Session(repo.path, "origin", location, TOKEN)


def test_a_fast_forward_moves_the_tracking_ref_with_update_ref(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo, _, session = _with_origin(make_repo, tmp_path)
    old = repo.git("rev-parse", "refs/remotes/origin/master")
    new = repo.commit("on staging")

    record_landing(session, "master", None, new)

    assert repo.git("rev-parse", "refs/remotes/origin/master") == new != old
    said = repo.git("reflog", "-n1", "--format=%gs", "refs/remotes/origin/master")
    assert said == "send-mergereq: landed"


def test_a_merge_commit_only_gitlab_has_is_fetched(make_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo, bare, session = _with_origin(make_repo, tmp_path)
    other = tmp_path / "other"
    run_git(tmp_path, "clone", "-q", str(bare), str(other))
    run_git(other, "commit", "-q", "--allow-empty", "--no-gpg-sign", "-m", "Merge on GitLab")
    run_git(other, "push", "-q", "origin", "HEAD:master")
    merged = run_git(other, "rev-parse", "HEAD")

    record_landing(session, "master", None, merged)

    assert repo.git("rev-parse", "refs/remotes/origin/master") == merged


def test_a_tracking_ref_that_moved_meanwhile_is_not_overwritten_blindly(
    make_repo, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    repo, bare, session = _with_origin(make_repo, tmp_path)
    stale = repo.git("rev-parse", "refs/remotes/origin/master")
    new = repo.commit("on staging")

    record_landing(session, "master", stale, new)  # expected at ``stale``: it is
    assert repo.git("rev-parse", "refs/remotes/origin/master") == new
    other = repo.commit("another")
    record_landing(session, "master", stale, other)  # no longer at ``stale``: fetched
    assert repo.git("rev-parse", "refs/remotes/origin/master") == run_git(
        bare, "rev-parse", "master"
    )
