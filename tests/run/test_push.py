from __future__ import annotations

import base64
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitrepo import Repo, run_git
from http_recorder import recording_http
from send_mergereq.errors import ConfigError, GitError, sanitize_text
from send_mergereq.gitlab.credentials import Secret, Token
from send_mergereq.gitlab.location import GitLabLocation
from send_mergereq.gitlab.session import Session
from send_mergereq.run.push import push_branch, refuse_unsafe_push, remote_tracking_sha

CANARY = "glpat-CANARY-push-0123456789"
ENV = dict(os.environ)  # no token: the bare remote is a file:// URL


@pytest.fixture
def pair(make_repo, tmp_path: Path) -> tuple[Repo, Path]:  # type: ignore[no-untyped-def]
    """A clone-like repo with ``staging`` ahead of master and a bare ``origin`` over file://."""
    repo: Repo = make_repo()
    bare = tmp_path / "origin.git"
    run_git(tmp_path, "init", "-q", "--bare", str(bare))
    repo.git("remote", "add", "origin", f"file://{bare}")
    repo.git("push", "-q", "origin", "master")
    repo.commit("Add feature")
    return repo, bare


def test_new_branch_is_pushed_with_must_not_exist_lease(pair: tuple[Repo, Path]) -> None:
    repo, bare = pair
    head = repo.head()
    result = push_branch(repo.path, remote="origin", branch="staging", sha=head, env=ENV)
    assert result.status == "new"
    assert result.old_sha is None
    assert run_git(bare, "rev-parse", "refs/heads/staging") == head
    # git updated the remote-tracking ref, as a plain git push would
    assert remote_tracking_sha(repo.path, "origin", "staging") == head


def test_fast_forward_then_up_to_date(pair: tuple[Repo, Path]) -> None:
    repo, bare = pair
    first = repo.head()
    push_branch(repo.path, remote="origin", branch="staging", sha=first, env=ENV)
    second = repo.commit("More")
    result = push_branch(repo.path, remote="origin", branch="staging", sha=second, env=ENV)
    assert (result.status, result.old_sha) == ("fast-forward", first)
    again = push_branch(repo.path, remote="origin", branch="staging", sha=second, env=ENV)
    assert again.up_to_date
    assert run_git(bare, "rev-parse", "refs/heads/staging") == second


def test_rewritten_branch_is_forced_under_the_lease(pair: tuple[Repo, Path]) -> None:
    repo, bare = pair
    push_branch(repo.path, remote="origin", branch="staging", sha=repo.head(), env=ENV)
    repo.git("commit", "-q", "--amend", "-m", "Add feature, reworded")
    result = push_branch(repo.path, remote="origin", branch="staging", sha=repo.head(), env=ENV)
    assert result.status == "forced"
    assert run_git(bare, "rev-parse", "refs/heads/staging") == repo.head()


def test_push_pushes_the_checked_commit_not_the_moved_branch(pair: tuple[Repo, Path]) -> None:
    repo, bare = pair
    checked = repo.head()
    repo.commit("Committed after the checks ran")
    push_branch(repo.path, remote="origin", branch="staging", sha=checked, env=ENV)
    assert run_git(bare, "rev-parse", "refs/heads/staging") == checked


def test_someone_elses_push_is_not_overwritten(pair: tuple[Repo, Path], tmp_path: Path) -> None:
    repo, bare = pair
    push_branch(repo.path, remote="origin", branch="staging", sha=repo.head(), env=ENV)
    other = tmp_path / "other"
    run_git(tmp_path, "clone", "-q", "-b", "staging", f"file://{bare}", str(other))
    (other / "theirs.txt").write_text("theirs\n")
    run_git(other, "add", "theirs.txt")
    run_git(other, "commit", "-q", "-m", "Their work")
    run_git(other, "push", "-q", "origin", "staging")
    theirs = run_git(other, "rev-parse", "HEAD")

    repo.git("commit", "-q", "--amend", "-m", "Rewritten here")
    with pytest.raises(GitError) as err:
        push_branch(repo.path, remote="origin", branch="staging", sha=repo.head(), env=ENV)
    assert "stale info" in err.value.message
    assert err.value.exit_code == 6
    assert err.value.hint is not None
    assert "git fetch origin" in err.value.hint
    assert run_git(bare, "rev-parse", "refs/heads/staging") == theirs


def test_existing_remote_branch_never_fetched_is_not_overwritten(pair: tuple[Repo, Path]) -> None:
    repo, bare = pair
    run_git(bare, "update-ref", "refs/heads/staging", repo.git("rev-parse", "master"))
    with pytest.raises(GitError, match="stale info"):
        push_branch(repo.path, remote="origin", branch="staging", sha=repo.head(), env=ENV)


def test_server_hook_rejection_carries_the_remote_message(pair: tuple[Repo, Path]) -> None:
    repo, bare = pair
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\necho 'GitLab: You are not allowed to push code here.' >&2\nexit 1\n"
    )
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(GitError) as err:
        push_branch(repo.path, remote="origin", branch="staging", sha=repo.head(), env=ENV)
    assert "pre-receive hook declined" in err.value.message
    assert "You are not allowed to push code here." in err.value.message


def test_unreachable_remote_is_git_error_with_gits_reason(pair: tuple[Repo, Path]) -> None:
    repo, _ = pair
    repo.git("remote", "set-url", "origin", "file:///nonexistent/repo.git")
    with pytest.raises(GitError, match=r"rejected: fatal: .*nonexistent"):
        push_branch(repo.path, remote="origin", branch="staging", sha=repo.head(), env=ENV)


@pytest.fixture
def recording_server() -> Iterator[tuple[str, list[dict[str, str]]]]:
    with recording_http() as server:
        yield server


def test_token_reaches_git_only_through_env(
    pair: tuple[Repo, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    recording_server: tuple[str, list[dict[str, str]]],
) -> None:
    """git sends the token as a header to the HTTP remote; argv and .git/config never hold it."""
    repo, _ = pair
    base, seen = recording_server
    real_git = shutil.which("git")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "git-argv.log"
    wrapper = bindir / "git"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\nexec {real_git} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    repo.git("remote", "set-url", "origin", f"{base}/group/proj.git")

    with pytest.raises(GitError) as err:
        session = Session(
            repo.path, "origin", GitLabLocation(base, "group/proj"), Token(Secret(CANARY), "test")
        )
        push_branch(
            repo.path, remote="origin", branch="staging", sha=repo.head(), env=session.git_env()
        )
    assert "403" in err.value.message
    encoded = base64.b64encode(f"oauth2:{CANARY}".encode()).decode()
    assert seen, "git never reached the server"
    assert seen[0]["Authorization"] == f"Basic {encoded}"
    assert "git-receive-pack" in seen[0]["path"]
    argv = log.read_text()
    assert "push --porcelain" in argv
    for secret in (CANARY, encoded):
        assert secret not in argv
        assert secret not in (repo.path / ".git" / "config").read_text()
        assert secret not in err.value.message
        assert secret not in str(err.value.hint)


def test_refuse_target_and_protected() -> None:
    with pytest.raises(ConfigError, match="target branch"):
        refuse_unsafe_push("master", "master", protected=False, project="g/p")
    with pytest.raises(ConfigError, match="protected branch of g/p"):
        refuse_unsafe_push("staging", "master", protected=True, project="g/p")
    refuse_unsafe_push("staging", "master", protected=False, project="g/p")


def test_sanitize_text_masks_userinfo_in_git_messages() -> None:
    text = f"fatal: Authentication failed for 'https://oauth2:{CANARY}@gitlab.example.org/g/p.git/'"
    assert CANARY not in sanitize_text(text)
    assert "https://********@gitlab.example.org/g/p.git/" in sanitize_text(text)
