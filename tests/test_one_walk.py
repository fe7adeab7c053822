"""``git.walk_commits`` (one ``rev-list --header`` walk, verified by object id) gives the
same ``(id, raw object)`` pairs as ``git rev-list`` then ``git cat-file --batch`` read
here, in the same order, on commits git's ``--header`` rendering would alter."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from gitrepo import Repo, merge_a_side_branch, run_git, shallow_clone
from keys import Keys, make_signed_merge
from send_mergereq import git
from send_mergereq.errors import GitError

SOB = b"\n\nSigned-off-by: Ada Author <ada@example.org>\n"
ODD_MESSAGES = [
    b"Plain" + SOB,
    b"No final newline\n\nSigned-off-by: Ada Author <ada@example.org>",
    b"Trailing spaces   \n\nbody \t\n  \n" + SOB,
    b"Hidden after NUL" + SOB + b"\0Signed-off-by: Ada Author <ada@example.org>\n",
    b"NUL\0 in the subject" + SOB,
    b"\n\nLeading blank lines" + SOB,
    b"\n",
    b"",
    b"Indented\n\n    code line\n        deeper\n\tTab\n    " + SOB,
    b"Caf\xe9 latin-1 \xff\xfe" + SOB,
    b"CRLF\r\n\r\nSigned-off-by: Ada Author <ada@example.org>\r\n",
    b"Trailing blank lines" + SOB + b"\n\n\n",
    b"Form feed\x0c and vertical tab\x0b" + SOB,
]
GPGSIG = (
    b"gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n"
    b"     four spaces inside a header continuation\n -----END PGP SIGNATURE-----\n"
)


def plant(repo: Repo, message: bytes, headers: bytes = b"", parents: int = 1) -> str:
    head = repo.head()
    raw = b"tree %s\n" % repo.tree().encode() + b"parent %s\n" % head.encode() * parents
    raw += b"author Ada Author <ada@example.org> 1700000000 +0000\n"
    raw += b"committer Max Maintainer <max@example.org> 1700000000 +0000\n" + headers
    sha = repo.raw_commit(raw + b"\n" + message, branch="staging")
    run_git(repo.path, "reset", "-q", "--soft", sha)
    return sha


def walked(path: Path, tip: str, exclude: str) -> list[tuple[str, bytes]]:
    return [(sha, raw) for batch in git.walk_commits(path, tip, [exclude]) for _, sha, raw in batch]


def stored(path: Path, tip: str, exclude: str) -> list[tuple[str, bytes]]:
    """The reference: the ids ``rev-list --parents`` lists, each object from ``cat-file``
    (a commit git lists without parents, a shallow boundary, without its parent lines)."""
    lines = run_git(path, "rev-list", "--parents", tip, f"^{exclude}").splitlines()
    out = subprocess.run(
        ["git", "-C", str(path), "cat-file", "--batch"],
        input="".join(line.split()[0] + "\n" for line in lines).encode(),
        capture_output=True,
        check=True,
    ).stdout
    pairs = []
    for line in lines:
        header, _, out = out.partition(b"\n")
        size = int(header.split()[2])
        raw, out = out[:size], out[size + 1 :]
        if " " not in line:
            head, sep, message = raw.partition(b"\n\n")
            kept = [h for h in head.split(b"\n") if not h.startswith(b"parent ")]
            raw = b"\n".join(kept) + sep + message
        pairs.append((line.split()[0], raw))
    return pairs


def both(path: Path, tip: str = "staging", exclude: str = "master") -> list[tuple[str, bytes]]:
    tip_sha, exclude_sha = run_git(path, "rev-parse", tip, exclude).split()
    plain = stored(path, tip_sha, exclude_sha)
    assert walked(path, tip_sha, exclude_sha) == plain
    return plain


def test_odd_commits_read_the_same_as_cat_file(
    make_repo: Any, maintainer: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo()
    planted = [plant(repo, message) for message in ODD_MESSAGES]
    planted.append(plant(repo, b"Latin-1 declared: caf\xe9" + SOB, b"encoding ISO-8859-1\n"))
    planted.append(plant(repo, b"Signed commit" + SOB, GPGSIG))
    planted.append(plant(repo, b"Odd header\n", b"x-extra value  \nx-empty\n"))
    make_signed_merge(repo.path, "pull-1", maintainer.good)
    for n in range(20):
        repo.commit(f"Filler {n}", "A body line.\n\nCc: Someone <s@example.org>")
    reads: list[str] = []
    real_read = git.walk._StoredObjects.read

    def counting(self: Any, shas: list[str]) -> list[bytes]:
        reads.extend(shas)
        return real_read(self, shas)

    monkeypatch.setattr(git.walk._StoredObjects, "read", counting)
    pairs = both(repo.path)
    objects = dict(pairs)
    assert len(pairs) == len(planted) + 2 + 20  # + the pull request and its merge
    assert all(sha in objects for sha in planted)
    assert any(b"\nmergetag " in raw for raw in objects.values())
    assert b"\0Signed-off-by" in objects[planted[3]]
    assert objects[planted[1]].endswith(b"<ada@example.org>")  # no newline added
    # the commits git renders lossily are read from the store, the others are not (git's
    # isspace is " \t\r\n"); a header line of four spaces (14) is rebuilt, not read
    assert sorted(planted.index(sha) for sha in reads) == [1, 2, 3, 4, 5, 6, 7, 8, 10, 11]


def test_objects_hash_only_what_exact_has_not_proven(
    make_repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk's records are hashed once: ``objects`` takes what ``exact`` found (the checks
    ask for both on a commit the chunk's look did not vouch for), and hashes only the
    records it had to rebuild; a lossy one is still read from the store."""
    repo = make_repo()
    lossy = plant(repo, b"Trailing spaces   \n" + SOB)
    for n in range(5):
        repo.commit(f"Commit {n}", "A body line.")
    tip, base = run_git(repo.path, "rev-parse", "staging", "master").split()
    [chunk] = list(git.walk_chunks(repo.path, tip, [base]))
    calls: list[bytes] = []
    real = git.walk._hashes_to

    def counted(record: bytes, *args: Any) -> bool:
        calls.append(record[:40])
        return real(record, *args)

    monkeypatch.setattr(git.walk, "_hashes_to", counted)
    exact = chunk.exact()
    assert len(calls) == chunk.count == 6 and exact.count(False) == 1
    calls.clear()
    found = chunk.objects(range(chunk.count))
    assert calls == [lossy.encode(), lossy.encode()]  # as shown, then rebuilt
    assert [(sha, raw) for _, sha, raw in found] == stored(repo.path, tip, base)


def test_a_commit_with_a_nul_is_read_whole_in_a_long_range(make_repo: Any) -> None:
    """Records are split on NUL: a NUL in a message must not split a record (git ends
    the rendered message at it), also where a chunk of the stream ends."""
    repo = make_repo()
    for n in range(300):
        if n % 50 == 7:
            plant(repo, b"NUL %d\0 %s" % (n, b"x" * 5000) + SOB)
        else:
            repo.commit(f"Commit {n}", "word " * 400)
    pairs = both(repo.path)
    assert len(pairs) == 300 and sum(b"\0" in raw for _, raw in pairs) == 6


def test_a_shallow_clone_s_boundary_reads_as_a_root(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo()
    merge_a_side_branch(repo)
    clone = shallow_clone(repo.path, tmp_path / "shallow", 2, master_depth=1)
    pairs = both(clone)
    boundary = pairs[-1][1]
    assert len(pairs) == 2 and b"\nparent " not in boundary.partition(b"\n\n")[0]


def test_a_sha256_repository(tmp_path: Path) -> None:
    path = tmp_path / "sha256"
    run_git(tmp_path, "init", "-q", "--object-format=sha256", "-b", "master", str(path))
    repo = Repo(path)
    repo.commit("Initial commit", filename="README")
    repo.git("checkout", "-q", "-b", "staging")
    repo.commit("Plain")
    plant(repo, b"Trailing space \n" + SOB)
    plant(repo, b"NUL\0" + SOB)
    pairs = both(path)
    assert len(pairs) == 3 and all(len(sha) == 64 for sha, _ in pairs)


def test_a_missing_tip_is_a_git_error(make_repo: Any) -> None:
    repo = make_repo()
    repo.commit("One")
    with pytest.raises(GitError, match="rev-list failed"):
        walked(repo.path, "f" * 40, repo.git("rev-parse", "master"))


def test_stopping_early_leaves_no_process(make_repo: Any) -> None:
    repo = make_repo()
    for n in range(5):
        repo.commit(f"Commit {n}")
    stream = git.walk_commits(repo.path, repo.head(), [repo.git("rev-parse", "master")])
    assert next(stream)[0][1] == repo.head()
    stream.close()  # the walk is killed and waited for: nothing left behind


def test_commit_objects_keep_the_parents_of_a_merge(make_repo: Any) -> None:
    """``apply`` reads a pull request's commits with ``commit_objects``: a merge inside it is
    a merge (it once came back without its parent lines, and no check saw it as one)."""
    repo = make_repo()
    repo.git("checkout", "-q", "-b", "side", "master")
    repo.commit("Side")
    repo.git("checkout", "-q", "staging")
    repo.commit("Main")
    repo.git("merge", "-q", "--no-ff", "--no-edit", "side")
    tip, base = repo.head(), repo.git("rev-parse", "master")
    pairs = git.commit_objects(repo.path, tip, base)
    assert pairs == stored(repo.path, tip, base) and pairs[0][1].count(b"\nparent ") == 2
    assert len(git.commit_objects(repo.path, tip, None)) == 4  # with the root


def test_a_short_walk_and_a_long_one_hash_alike() -> None:
    """A small chunk is hashed by Python's built-in SHA-1 and SHA-256 (no OpenSSL to load
    for a short run), a large one by OpenSSL's: the same digests."""
    import hashlib

    from send_mergereq.git.walk import _SMALL, _digest

    data = b"commit 5\0hello"
    for size, reference in ((40, hashlib.sha1), (64, hashlib.sha256)):
        small, large = _digest(size, 100), _digest(size, _SMALL)
        assert small is not None and large is not None and small is not large
        assert small(data).hexdigest() == large(data).hexdigest() == reference(data).hexdigest()
    assert _digest(12, 100) is None
