from __future__ import annotations

import subprocess
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitrepo import merge_a_side_branch, shallow_clone
from send_mergereq import history
from send_mergereq.errors import ConfigError, GitError
from send_mergereq.history import parse_commit
from send_mergereq.scan.walk import read_commits, resolve_range

TREE = b"4b825dc642cb6eb9a060e54bf8d69288fbe4904b"
PARENT = b"1" * 40


def _raw(author: bytes, message: bytes, extra: bytes = b"", parents: int = 1) -> bytes:
    head = b"tree " + TREE + b"\n" + b"parent " + PARENT + b"\n" * 1
    head += (b"parent " + b"2" * 40 + b"\n") * (parents - 1)
    head += b"author " + author + b"\ncommitter " + author + b"\n" + extra
    return head + b"\n" + message


def test_plain_commit_fields() -> None:
    commit = parse_commit("a" * 40, _raw(b"A <a@x> 1 +0000", b"Subject\n\nBody\n", parents=2))
    assert commit.tree == TREE.decode()
    assert commit.parents == (PARENT.decode(), "2" * 40)
    assert commit.is_merge and commit.subject == "Subject"
    assert (commit.author_name, commit.author_email) == (b"A", b"a@x")
    assert commit.message == b"Subject\n\nBody\n"
    assert [key for key, _ in commit.headers] == [
        b"tree",
        b"parent",
        b"parent",
        b"author",
        b"committer",
    ]


def test_extra_headers_and_continuation_lines() -> None:
    extra = b"encoding ISO-8859-1\nmergetag object abc\n type commit\n \n body\n"
    extra += b"gpgsig -----BEGIN\n sig\n"
    commit = parse_commit("a" * 40, _raw(b"A <a@x> 1 +0000", b"M\n", extra))
    assert commit.encoding == b"ISO-8859-1"
    assert commit.mergetags == (b"object abc\ntype commit\n\nbody",)
    assert commit.gpgsig == b"-----BEGIN\nsig"


@given(
    author=st.binary(max_size=40).filter(lambda b: b"\n" not in b),
    message=st.binary(max_size=80),
    parents=st.integers(min_value=1, max_value=3),
)
def test_fast_path_agrees_with_the_general_path(
    author: bytes, message: bytes, parents: int
) -> None:
    fast = parse_commit("a" * 40, _raw(author, message, parents=parents))
    slow = parse_commit("a" * 40, _raw(author, message, b"x-extra 1\n", parents))
    for name in ("tree", "parents", "author", "committer", "message", "encoding", "mergetags"):
        assert getattr(fast, name) == getattr(slow, name), name
    assert slow.headers[:-1] == fast.headers


@given(st.binary(max_size=300))
def test_any_bytes_parse_without_crashing(raw: bytes) -> None:
    commit = parse_commit("a" * 40, raw)
    assert commit.raw == raw


def test_read_commits_streams_raw_bytes_in_one_walk(
    make_repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo()
    latin = _raw(b"J\xe9r\xf4me <j@x> 1700000000 +0000", b"Caf\xe9\n", b"encoding ISO-8859-1\n")
    latin = latin.replace(TREE, repo.tree().encode()).replace(PARENT, repo.head().encode())
    sha = repo.raw_commit(latin, branch="staging")
    for n in range(30):
        repo.commit(f"Commit {n}")
    spawned: list[list[str]] = []
    real_popen = subprocess.Popen

    def counting_popen(args: list[str], **kwargs: Any) -> Any:
        spawned.append(args)
        return real_popen(args, **kwargs)

    rng = resolve_range(repo.path, "master", "staging")
    monkeypatch.setattr(subprocess, "Popen", counting_popen)
    commits = list(read_commits(repo.path, rng))
    assert len(spawned) == 1  # one rev-list --header walk, whatever the size of the range
    assert len(commits) == 31
    assert next(c for c in commits if c.sha == sha).raw == latin  # not re-encoded


def test_resolve_range_errors(make_repo: Any) -> None:
    repo = make_repo()
    with pytest.raises(ConfigError, match="is empty"):
        resolve_range(repo.path, "master", "staging")
    with pytest.raises(ConfigError, match="branch 'nope': no such commit"):
        resolve_range(repo.path, "master", "nope")
    with pytest.raises(ConfigError, match="is not a ref"):
        resolve_range(repo.path, "--all", "staging")


def test_a_vanished_commit_is_a_git_error(make_repo: Any) -> None:
    repo = make_repo()
    repo.commit("One")
    rng = resolve_range(repo.path, "master", "staging")
    gone = history.CommitRange("master", "staging", rng.target_sha, "f" * 40)
    with pytest.raises(GitError, match="rev-list failed"):
        list(read_commits(repo.path, gone))


def test_a_history_git_cannot_walk_is_one_line(make_repo: Any) -> None:
    """A parent that is a blob: git says two lines ("bad parents", "revision walk setup
    failed"); the error is one line naming the commit."""
    repo = make_repo()
    blob = repo.git("hash-object", "-w", "--stdin", input=b"not a commit\n")
    raw = f"tree {repo.tree()}\nparent {repo.head()}\nparent {blob}\n".encode()
    raw += b"author A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\nBad\n"
    sha = repo.raw_commit(raw, branch="staging")
    rng = history.CommitRange("master", "staging", repo.git("rev-parse", "master"), sha)
    with pytest.raises(GitError) as err:
        list(read_commits(repo.path, rng))
    assert "\n" not in err.value.message and "revision walk setup failed" in err.value.message


def test_a_shallow_clone_s_boundary_commits_have_the_parents_git_shows(
    make_repo: Any, tmp_path: Any
) -> None:
    """In a shallow clone git treats the boundary commits as roots (rev-list --merges skips
    a boundary merge); the range must be read the same way, or the counts differ."""
    repo = make_repo()
    merge_a_side_branch(repo)
    repo.commit("D")
    clone = shallow_clone(repo.path, tmp_path / "shallow", 3, master_depth=1)
    rng = resolve_range(clone, "master", "staging")
    commits = list(read_commits(clone, rng))
    shown = subprocess.run(
        ["git", "-C", str(clone), "rev-list", "--parents", "master..staging"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    assert [(c.sha, *c.parents) for c in commits] == [tuple(line.split()) for line in shown[:-1]]
    assert len(commits) == 3 and not any(c.is_merge for c in commits)  # the merge is the boundary
    assert commits[-1].raw.count(b"\nparent ") == 0


@given(st.lists(st.sampled_from([b"tree ab", b"parent 1", b"parent", b" parent 2", b"x"])))
def test_parent_count_agrees_with_parse_commit(lines: list[bytes]) -> None:
    """The runner's cheap count decides what is a merge (signed-tags' ``clean``): it must
    see the parents the parser sees, also in a malformed object that starts with one."""
    head = b"\n".join(lines)
    assert history.parent_count(head) == len(parse_commit("a" * 40, head + b"\n\nM\n").parents)
