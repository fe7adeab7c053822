"""Resolve ``TARGET..BRANCH`` and read its commits as raw bytes in one stream.

``git rev-list`` lists the range and pipes straight into ``git cat-file
--batch``: two processes for the whole range, never one per commit, and the
objects come back byte for byte (``git log``/``rev-list --header`` re-encode
messages that declare an ``encoding``, which would hide the very bytes the
``utf8`` check looks for).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from send_mergereq.errors import ConfigError, GitError


@dataclass(frozen=True)
class RawCommit:
    """One commit object exactly as stored, with its headers split out (still bytes)."""

    sha: str
    raw: bytes
    tree: str
    parents: tuple[str, ...]
    author: bytes
    committer: bytes
    message: bytes
    encoding: bytes | None = None
    mergetags: tuple[bytes, ...] = ()
    gpgsig: bytes | None = None
    headers: tuple[tuple[bytes, bytes], ...] = field(default=(), repr=False)

    @property
    def short(self) -> str:
        return self.sha[:12]

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    @property
    def subject(self) -> str:
        """The first line of the message, decoded for display only (never for checking)."""
        first = self.message.split(b"\n", 1)[0].strip()
        return first.decode("utf-8", errors="replace")

    @property
    def author_name(self) -> bytes:
        return ident_name(self.author)

    @property
    def author_email(self) -> bytes:
        return ident_email(self.author)


def ident_name(ident: bytes) -> bytes:
    lt = ident.find(b"<")
    return (ident[:lt] if lt >= 0 else ident).strip()


def ident_email(ident: bytes) -> bytes:
    lt, gt = ident.find(b"<"), ident.rfind(b">")
    return ident[lt + 1 : gt].strip() if 0 <= lt < gt else b""


def header_value(head: bytes, key: bytes) -> bytes | None:
    """The first one-line header ``key`` in the header block ``head`` of a raw commit,
    found without parsing it all."""
    if head.startswith(key + b" "):
        start = 0
    else:
        found = head.find(b"\n" + key + b" ")
        if found < 0:
            return None
        start = found + 1
    value_start = start + len(key) + 1
    stop = head.find(b"\n", value_start)
    return head[value_start : stop if stop >= 0 else len(head)]


def parent_count(head: bytes) -> int:
    """How many ``parent`` headers the header block ``head`` has (``tree`` comes first,
    but a malformed object may start with a parent)."""
    if b"parent\n" in head or head.endswith(b"parent"):  # a bare "parent" line: rare
        return sum(line.partition(b" ")[0] == b"parent" for line in head.split(b"\n"))
    return head.count(b"\nparent ") + head.startswith(b"parent ")


def _split_headers(head: bytes) -> list[tuple[bytes, bytes]]:
    """Header lines as ``(key, value)``; a line starting with a space continues the last."""
    headers: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\n"):
        if line[:1] == b" " and headers:
            key, value = headers[-1]
            headers[-1] = (key, value + b"\n" + line[1:])
        elif line:
            key, _, value = line.partition(b" ")
            headers.append((key, value))
    return headers


_PLAIN_HEAD = re.compile(
    rb"tree ([0-9a-f]{40,64})\n((?:parent [0-9a-f]{40,64}\n)*)author ([^\n]*)\ncommitter ([^\n]*)"
)


def _parse_plain(sha: str, raw: bytes, head: bytes, message: bytes) -> RawCommit | None:
    """The usual commit (tree, parents, author, committer and nothing else) read with one
    regex; None for anything else."""
    match = _PLAIN_HEAD.fullmatch(head)
    if match is None:
        return None
    tree, parent_lines, author, committer = match.groups()
    ids = parent_lines[7:-1].split(b"\nparent ") if parent_lines else []
    headers = ((b"tree", tree), *[(b"parent", p) for p in ids])
    headers += ((b"author", author), (b"committer", committer))
    parents = tuple(parent_lines[7:-1].decode().split("\nparent ")) if parent_lines else ()
    return RawCommit(sha, raw, tree.decode(), parents, author, committer, message, headers=headers)


def parse_commit(sha: str, raw: bytes) -> RawCommit:
    """Split a raw commit object into headers and message without decoding anything.

    A malformed object (no tree, truncated header) still parses: missing fields are
    empty, so a check reports it instead of the run crashing. Only the first of a
    repeated single-valued header counts. (This runs once per commit of the range:
    keep it lean.)
    """
    head, sep, message = raw.partition(b"\n\n")
    if not sep:
        head, message = raw, b""
    plain = _parse_plain(sha, raw, head, message)
    if plain is not None:
        return plain
    headers = _split_headers(head)
    tree = author = committer = encoding = gpgsig = None
    parents: list[str] = []
    mergetags: list[bytes] = []
    for key, value in headers:
        if key == b"parent":
            parents.append(value.decode("ascii", errors="replace"))
        elif key == b"mergetag":
            mergetags.append(value)
        elif key == b"tree":
            tree = tree or value
        elif key == b"author":
            author = author or value
        elif key == b"committer":
            committer = committer or value
        elif key == b"encoding":
            encoding = encoding or value
        elif key == b"gpgsig":
            gpgsig = gpgsig or value
    return RawCommit(
        sha=sha,
        raw=raw,
        tree=(tree or b"").decode("ascii", errors="replace"),
        parents=tuple(parents),
        author=author or b"",
        committer=committer or b"",
        message=message,
        encoding=encoding,
        mergetags=tuple(mergetags),
        gpgsig=gpgsig,
        headers=tuple(headers),
    )


@dataclass(frozen=True)
class CommitRange:
    """``target..branch`` resolved to commit ids."""

    target: str
    branch: str
    target_sha: str
    branch_sha: str

    @property
    def spec(self) -> str:
        return f"{self.target}..{self.branch}"


def git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    """Run one git command in ``repo``; raise GitError with git's own message."""
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], input=input, capture_output=True, check=False
    )
    if proc.returncode != 0:
        reason = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {reason[-1] if reason else proc.returncode}")
    return proc.stdout


def repo_root(path: Path) -> Path:
    """The top of the work tree (or the git dir of a bare repository) containing ``path``."""
    # --show-cdup prints nothing in a bare repository (where --show-toplevel fails)
    args = ["rev-parse", "--is-bare-repository", "--absolute-git-dir", "--show-cdup"]
    proc = subprocess.run(
        ["git", "-C", str(path), *args],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ConfigError(f"{path}: not a git repository", hint="run it inside your clone")
    bare, git_dir, *cdup = proc.stdout.decode().splitlines()
    return Path(git_dir if bare == "true" else path / "".join(cdup)).resolve()


def resolve_commit(repo: Path, ref: str, what: str) -> str:
    """The commit id ``ref`` names, or a ConfigError naming the ref."""
    if ref.startswith("-"):
        raise ConfigError(f"{what} {ref!r} is not a ref")
    proc = subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            f"{ref}^{{commit}}",
        ],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ConfigError(f"{what} {ref!r}: no such commit in {repo}")
    return proc.stdout.decode().strip()


def resolve_range(repo: Path, target: str, branch: str) -> CommitRange:
    """Resolve both ends; an empty range is a usage error (nothing to send)."""
    target_sha = resolve_commit(repo, target, "target")
    branch_sha = resolve_commit(repo, branch, "branch")
    rng = CommitRange(target, branch, target_sha, branch_sha)
    if target_sha == branch_sha or _is_ancestor(repo, branch_sha, target_sha):
        raise ConfigError(
            f"{rng.spec} is empty: {branch} adds nothing over {target}",
            hint="merge the pull requests into the branch first, or check --target",
        )
    return rng


def _is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    proc = subprocess.run(
        ["git", "-C", str(repo), "merge-base", "--is-ancestor", ancestor, descendant],
        capture_output=True,
        check=False,
    )
    return proc.returncode == 0


def read_commits(repo: Path, rng: CommitRange) -> Iterator[RawCommit]:
    """Stream every commit of the range, newest first, parsed (see ``read_raw``)."""
    for sha, raw in read_raw(repo, rng):
        yield parse_commit(sha, raw)


def read_raw(repo: Path, rng: CommitRange) -> Iterator[tuple[str, bytes]]:
    """Stream ``(id, raw object)`` for every commit of the range, newest first.

    ``git rev-list`` writes ids straight into ``git cat-file --batch`` through an
    OS pipe; Python only reads the objects as they come. (``--buffer``: no flush per
    object. The parents rev-list sees come back as ``%(rest)``: a shallow clone's
    boundary commits are roots to git, see ``_as_root``.)
    """
    revs = subprocess.Popen(
        ["git", "-C", str(repo), "rev-list", "--parents", rng.branch_sha, f"^{rng.target_sha}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    cat = subprocess.Popen(
        ["git", "-C", str(repo), "cat-file", f"--batch={_BATCH_FORMAT}", "--buffer"],
        stdin=revs.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=1 << 20,
    )
    assert revs.stdout is not None and cat.stdout is not None
    revs.stdout.close()  # cat-file owns the read end now
    try:
        yield from _parse_batch(cat.stdout)
    finally:
        cat.stdout.close()
        for proc in (cat, revs):
            proc.wait()
    if revs.returncode != 0:
        assert revs.stderr is not None
        said = revs.stderr.read().decode(errors="replace").split("\n")
        raise GitError(f"git rev-list failed: {'; '.join(line for line in said if line.strip())}")


def _as_root(raw: bytes) -> bytes:
    """A shallow boundary commit as git shows it: without its ``parent`` headers (git
    grafts it into a root; rev-list counts it as no merge)."""
    head, sep, message = raw.partition(b"\n\n")
    kept = [line for line in head.split(b"\n") if not line.startswith(b"parent ")]
    return b"\n".join(kept) + sep + message


_BATCH_FORMAT = "%(objectname) %(objecttype) %(objectsize) %(rest)"


def _parse_batch(out: IO[bytes]) -> Iterator[tuple[str, bytes]]:
    while True:
        header = out.readline()
        if not header:
            return
        parts = header.split()
        if len(parts) < 3 or not parts[2].isdigit():
            raise GitError(f"git cat-file: unexpected answer {header!r}")
        sha, kind, size = parts[0].decode(), parts[1], int(parts[2])
        body = out.read(size + 1)[:size]  # the object, then one LF
        if kind == b"commit":
            yield sha, (_as_root(body) if len(parts) == 3 and b"\nparent " in body else body)
