"""The one door to git: every git command send-mergereq runs goes through here.

Two ways in, each where it serves:

- **plain ``git`` processes** for everything a ``--dry-run`` does (find the
  repository, read config, resolve refs, read the policy blob, stream the raw
  commits) and for commands that need bytes on stdin, a secret or a scratch
  object store in the environment, or a timeout (``credential fill``, ``push``,
  ``verify-tag``). The raw stream is one ``git rev-list --header`` walk
  per part of the range, each object rebuilt and verified by its id
  (``walk_commits``), with ``git cat-file --batch`` for the few git's rendering
  alters. A dry run never
  imports GitPython: its import alone costs about 70 ms of the 0.4 s budget.
- **GitPython** (imported on first use) for the repository as the send half
  sees it: the push remote's URL and ancestry when landing.

Nothing here knows about GitLab or tokens: callers hand in the environment.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from send_mergereq.errors import ConfigError, GitError

if TYPE_CHECKING:
    import git as gitpython

_GIT_PREFIX = re.compile(r"[a-z]+: ")  # "fatal: ", "error: ", "remote: ": a line of its own
NEVER_PROMPT = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}


@dataclass(frozen=True)
class Completed:
    """A finished git command: its exit status and both streams, as bytes."""

    returncode: int
    stdout: bytes
    stderr: bytes

    def reason(self) -> str:
        """git's last line of complaint (``fatal: …``), or the exit status."""
        said = self.stderr.decode("utf-8", errors="replace").strip().splitlines()
        return said[-1] if said else f"exit status {self.returncode}"

    def whole_reason(self, limit: int = 800) -> str:
        """Every line git said, on one line (a sentence git wrapped joined back with a
        space, separate complaints with ``; ``), cut at ``limit`` characters; the caller
        escapes it before the terminal."""
        said = self.stderr.decode("utf-8", errors="replace").splitlines()
        text = ""
        for line in (line.strip() for line in said):
            if line and text:
                wrapped = line[:1].islower() and not _GIT_PREFIX.match(line)
                text += " " if text[-1] in ".!?:;," or wrapped else "; "
            text += line
        if not text:
            return f"exit status {self.returncode}"
        return text if len(text) <= limit else text[: limit - 1] + "\u2026"


# -- GitPython: the repository, refs, ancestry, remotes, config ---------------------------


@functools.lru_cache(maxsize=8)
def _repo(path: Path) -> gitpython.Repo:
    import git as gitpython  # GitPython; imported on first use (never by a dry run)

    try:
        return gitpython.Repo(path, search_parent_directories=True)
    except (gitpython.InvalidGitRepositoryError, gitpython.NoSuchPathError):
        hint = "run it inside your clone"
        raise ConfigError(f"{path}: not a git repository", hint=hint) from None


def repo_root(path: Path) -> Path:
    """The top of the work tree (or the git dir of a bare repository) containing ``path``."""
    # --show-cdup prints nothing in a bare repository (where --show-toplevel fails)
    done = run(path, "rev-parse", "--is-bare-repository", "--absolute-git-dir", "--show-cdup")
    if done.returncode != 0:
        raise ConfigError(f"{path}: not a git repository", hint="run it inside your clone")
    bare, git_dir, *cdup = done.stdout.decode().splitlines()
    return Path(git_dir if bare == "true" else path / "".join(cdup)).resolve()


def query(repo: Path, *args: str) -> str | None:
    """stdout of a git query (``git ARGS``), or None when git says no (unset key, no ref)."""
    done = run(repo, *args)
    return done.stdout.decode("utf-8", "replace").strip() if done.returncode == 0 else None


def resolve_commit(repo: Path, ref: str) -> str | None:
    """The commit id ``ref`` names, or None."""
    return query(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")


def adds_nothing(repo: Path, tip: str, exclude: str) -> bool:
    """Whether ``exclude..tip`` is empty: ``tip`` adds no commit over ``exclude``."""
    return query(repo, "rev-list", "--max-count=1", tip, f"^{exclude}") == ""


def is_ancestor(repo: Path, ancestor: str, head: str) -> bool:
    """Whether ``ancestor`` is ``head`` or an ancestor of it; False too when either is not
    in the repository (then ``head``, which is, cannot contain it)."""
    import git as gitpython

    try:
        # GitPython takes any revision here (it runs git merge-base --is-ancestor)
        return bool(_repo(repo).is_ancestor(ancestor, head))  # type: ignore[arg-type]
    except gitpython.GitCommandError:
        return False


def push_url(repo: Path, remote: str) -> str | None:
    """The URL ``git push REMOTE`` uses (``pushurl`` and ``insteadOf`` applied), or None."""
    import git as gitpython

    try:
        url = _repo(repo).git.remote("get-url", "--push", "--", remote)
    except gitpython.GitCommandError:
        return None
    return str(url).strip() or None


def config_entries(repo: Path, pattern: str) -> list[tuple[str, str]]:
    """``(key, value)`` for every config entry whose key matches ``pattern``, in git's order
    (all of git's layers; keys as git prints them, section and name lowercased)."""
    done = run(repo, "config", "-z", "--get-regexp", pattern)
    if done.returncode == 1:  # no key matched
        return []
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        raise ConfigError(f"git config: {said[0] if said else 'unreadable'}")
    entries = []
    for entry in done.stdout.split(b"\0"):
        if entry:
            key, _, value = entry.decode("utf-8", errors="replace").partition("\n")
            entries.append((key, value))
    return entries


def existing_refs(repo: Path, candidates: list[str]) -> dict[str, str]:
    """Of the full ref names ``candidates``, those that exist: name -> the ref it points
    to when it is symbolic (``refs/remotes/origin/HEAD``), else ``""``."""
    out = query(repo, "for-each-ref", "--format=%(refname)%00%(symref)", *candidates) or ""
    return dict(line.split("\0", 1) for line in out.splitlines() if "\0" in line)


# -- plain subprocess: bytes, streams, secrets in the environment -------------------------


def run(
    repo: Path,
    *args: str,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    group: bool = False,
) -> Completed:
    """Run ``git -C REPO ARGS``; never raises for git's own failure (see ``returncode``).

    ``group``: git runs in a process group of its own, and the whole group (the gpg or
    ssh-keygen git started too) is killed when it runs past ``timeout`` or this process
    is interrupted; never an orphan left waiting.

    :raises GitError: git could not be started, or it ran past ``timeout`` seconds.
    """
    if group:
        return _run_group(["git", "-C", str(repo), *args], input, env, timeout)
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), *args],
            input=input,
            capture_output=True,
            check=False,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL if input is None else None,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} timed out after {timeout:.0f}s") from None
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror or exc}") from None
    return Completed(proc.returncode, proc.stdout, proc.stderr)


def _run_group(
    argv: list[str], input: bytes | None, env: Mapping[str, str] | None, timeout: float | None
) -> Completed:
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=None if env is None else dict(env),
            start_new_session=True,
        )
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror or exc}") from None
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise GitError(f"git {argv[3]} timed out after {timeout:.0f}s") from None
    except BaseException:
        _kill_group(proc)
        raise
    _kill_group(proc)  # anything git left behind in its group
    return Completed(proc.returncode, out, err)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the process group ``proc`` leads (it is gone already: nothing to do)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired, ValueError, OSError):
        proc.communicate(timeout=5.0)


def fetch_branch(
    repo: Path, remote: str, branch: str, env: Mapping[str, str], timeout: float = 120.0
) -> Completed:
    """``git fetch REMOTE +refs/heads/BRANCH:refs/remotes/REMOTE/BRANCH``: one ref, no tags,
    no other branch; ``env`` is the session's (the token for its own GitLab)."""
    spec = f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"
    args = ("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--", remote, spec)
    return run(repo, *args, env=env, timeout=timeout)


_REDIRECT = re.compile(rb"The requested URL returned error: (30[12378])\b")


def refused_redirect(done: Completed) -> int | None:
    """The HTTP status of a redirect git did not follow (``http.followRedirects=false``:
    ``fatal: unable to access '…': The requested URL returned error: 301``), or None."""
    found = _REDIRECT.search(done.stderr) if done.returncode != 0 else None
    return int(found[1]) if found else None


def has_commit(repo: Path, sha: str) -> bool:
    """Whether commit ``sha`` is in the repository's object store."""
    return run(repo, "cat-file", "-e", f"{sha}^{{commit}}").returncode == 0


def output(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    """stdout of ``git ARGS``; a GitError with git's own reason when it fails."""
    done = run(repo, *args, input=input)
    if done.returncode != 0:
        raise GitError(f"git {args[0]} failed: {done.reason()}")
    return done.stdout


def blob_size(repo: Path, spec: str) -> int | None:
    """The size in bytes of the blob ``spec`` (``REV:PATH``) names, without reading it;
    None when it names no blob."""
    done = run(repo, "cat-file", "--batch-check", input=spec.encode() + b"\n")
    parts = done.stdout.split()
    if done.returncode != 0 or len(parts) != 3 or parts[1] != b"blob":
        return None
    return int(parts[2])


def read_blob(repo: Path, spec: str) -> bytes | None:
    """The blob ``spec`` (``REV:PATH``) names, or None when it names no blob."""
    done = run(repo, "cat-file", "--batch", input=spec.encode() + b"\n")
    header, _, body = done.stdout.partition(b"\n")
    parts = header.split()
    if done.returncode != 0 or len(parts) != 3 or parts[1] != b"blob":
        return None
    return body[: int(parts[2])]


def object_store(repo: Path) -> tuple[Path, str]:
    """The repository's object directory and hash algorithm (sha1 or sha256)."""
    done = run(repo, "rev-parse", "--git-path", "objects", "--show-object-format")
    lines = done.stdout.decode(errors="replace").splitlines()
    if done.returncode != 0 or len(lines) != 2:
        raise GitError(done.stderr.decode(errors="replace").strip() or "not a git repository")
    objects = Path(lines[0]) if Path(lines[0]).is_absolute() else repo / lines[0]
    return objects.resolve(), lines[1]


def credential_fill(request: bytes, env: Mapping[str, str], cwd: Path | None) -> bytes | None:
    """``git credential fill``'s answer to ``request``; never prompts (None when git has
    nothing, fails, or takes longer than 30 s)."""
    quiet = {**env, **NEVER_PROMPT}
    try:
        proc = subprocess.run(
            ["git", "credential", "fill"],
            input=request,
            capture_output=True,
            check=False,
            env=quiet,
            cwd=cwd,
            timeout=30.0,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def walk_commits(
    repo: Path, tip: str, excludes: Sequence[str], env: Mapping[str, str] | None = None
) -> Iterator[list[tuple[bytes, str, bytes]]]:
    """Stream ``(ids, id, raw object)`` for every commit of ``TIP ^EXCLUDE…``, newest
    first, in batches (one per megabyte read), the objects exactly as stored, in ONE git
    walk; ``ids`` is the commit's line of ``rev-list --parents`` (its id, then the
    parents git walks).

    ``git rev-list --header --encoding=none`` prints each commit it walked: the ids, the
    header lines byte for byte, then the message with every line indented by four
    spaces, NUL-terminated. That rendering of the message is lossy (trailing whitespace
    and leading blank lines dropped, a NUL ends it, a final newline added), so each
    rebuilt object is hashed as git hashes objects: when that is not the commit's own id,
    the stored object is read with one ``git cat-file --batch`` started on first need
    (63 of 106,977 commits on u-boot). A walk that excludes anything prints nothing
    before it is complete; git then prints fast, and this reads it in chunks.

    :raises GitError: git could not walk the range (one line, naming git's complaint).
    """
    walk = subprocess.Popen(
        [
            "git",
            "-C",
            str(repo),
            "rev-list",
            "--parents",
            "--header",
            "--encoding=none",
            tip,
            *(f"^{sha}" for sha in excludes),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=None if env is None else dict(env),
    )
    assert walk.stdout is not None and walk.stderr is not None
    exact = _StoredObjects(repo, env)
    try:
        pending = b""
        while data := walk.stdout.read(_CHUNK):
            cut = data.rfind(b"\0") + 1
            if not cut:
                pending += data
                continue
            yield _rebuilt(pending + data[:cut], exact)
            pending = data[cut:]
        walk.wait()
        if walk.returncode == 0 and pending:
            raise GitError("git rev-list: its output ended inside a commit")
    finally:
        exact.close()
        _stop_stream(walk)
    _raise_stream_failure(walk, "git rev-list")


_CHUNK = 1 << 20
_DIGESTS = {40: hashlib.sha1, 64: hashlib.sha256}  # hex id length -> object format


def _rebuilt(records: bytes, exact: _StoredObjects) -> list[tuple[bytes, str, bytes]]:
    """``(ids, id, raw object)`` for each NUL-terminated ``rev-list --header`` record of
    ``records``: the indent undone (for all of them at once), verified by the id, else
    read from the store (all of a batch's at once). (Once per commit of the range: keep
    it lean.)"""
    found: list[tuple[bytes, str, bytes]] = []
    unverified: list[int] = []
    append = found.append
    for record in records.replace(b"\n    ", b"\n").split(b"\0")[:-1]:
        nl = record.find(b"\n")
        ids = record[:nl] if nl >= 0 else record
        space = ids.find(b" ")
        sha = (ids if space < 0 else ids[:space]).decode("ascii", errors="replace")
        digest = _DIGESTS.get(len(sha))
        if digest is None or nl < 0:
            raise GitError(f"git rev-list: unexpected output {record[:80]!r}")
        raw = record[nl + 1 :]
        hashed = digest(b"commit %d\0" % len(raw))
        hashed.update(raw)  # not the header and object joined: a copy of every object
        if hashed.hexdigest() != sha:
            unverified.append(len(found))
        # a shallow clone's boundary commit is a root to git: no parents (see _as_root)
        elif space < 0 and b"\nparent " in raw:
            raw = _as_root(raw)
        append((ids, sha, raw))
    stored = exact.read([found[n][1] for n in unverified]) if unverified else []
    for n, raw in zip(unverified, stored, strict=True):
        ids, sha, _ = found[n]
        found[n] = (ids, sha, _as_root(raw) if b" " not in ids and b"\nparent " in raw else raw)
    return found


class _StoredObjects:
    """One ``git cat-file --batch`` for the objects ``walk_commits`` cannot rebuild,
    started on first use."""

    _SLICE = 256  # ids written before their objects are read: well within the pipes

    def __init__(self, repo: Path, env: Mapping[str, str] | None = None) -> None:
        self.repo, self.env = repo, env
        self.proc: subprocess.Popen[bytes] | None = None

    def read(self, shas: Sequence[str]) -> list[bytes]:
        """The stored objects ``shas`` name, in order."""
        if self.proc is None:
            self.proc = subprocess.Popen(
                ["git", "-C", str(self.repo), "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=None if self.env is None else dict(self.env),
            )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        found: list[bytes] = []
        for start in range(0, len(shas), self._SLICE):
            wanted = shas[start : start + self._SLICE]
            self.proc.stdin.write(b"".join(sha.encode() + b"\n" for sha in wanted))
            self.proc.stdin.flush()
            found += [self._answer(sha) for sha in wanted]
        return found

    def _answer(self, sha: str) -> bytes:
        assert self.proc is not None and self.proc.stdout is not None
        header = self.proc.stdout.readline()
        parts = header.split()
        if len(parts) != 3 or parts[1] != b"commit" or not parts[2].isdigit():
            raise GitError(f"git cat-file: unexpected answer {header!r} for {sha}")
        size = int(parts[2])
        return self.proc.stdout.read(size + 1)[:size]

    def close(self) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None and self.proc.stdout is not None
            self.proc.stdin.close()
            self.proc.stdout.close()
            self.proc.wait()


def commit_dates(repo: Path, shas: Sequence[str]) -> list[int]:
    """The committer date (seconds) of each of ``shas``, in order (``log.showSignature``
    would add gpg's lines: turned off)."""
    said = output(repo, "show", "-s", "--no-show-signature", "--format=%ct", *shas)
    return [int(line) for line in said.split() if line.isdigit()]


def range_subjects(repo: Path, tip: str, exclude: str) -> Iterator[tuple[str, str]]:
    """``(id, subject)`` of every commit of ``TIP ^EXCLUDE``, newest first, streamed (a
    range of a million commits is never held whole). ``log.showSignature`` would add gpg's
    lines to the output: turned off.

    :raises GitError: git could not list the range (one line, naming git's complaint).
    """
    argv = ["git", "-C", str(repo), "log", "--no-show-signature", "-z", "--format=%H %s"]
    try:
        listing = subprocess.Popen(
            [*argv, "--end-of-options", tip, f"^{exclude}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror or exc}") from None
    assert listing.stdout is not None and listing.stderr is not None
    try:
        pending = b""
        while data := listing.stdout.read(_CHUNK):
            *records, pending = (pending + data).split(b"\0")
            for record in records:
                sha, _, subject = record.decode("utf-8", errors="replace").partition(" ")
                yield sha, subject
        if pending:
            sha, _, subject = pending.decode("utf-8", errors="replace").partition(" ")
            yield sha, subject
    finally:
        _stop_stream(listing)
    _raise_stream_failure(listing, "git log")


def _stop_stream(proc: subprocess.Popen[bytes]) -> None:
    """A streamed git's output closed, the process stopped if the caller stopped early."""
    assert proc.stdout is not None
    proc.stdout.close()
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def _raise_stream_failure(proc: subprocess.Popen[bytes], what: str) -> None:
    """:raises GitError: the stopped ``proc`` failed (one line, naming git's complaint)."""
    if proc.returncode != 0:
        assert proc.stderr is not None
        said = proc.stderr.read().decode(errors="replace").split("\n")
        raise GitError(f"{what} failed: {'; '.join(line for line in said if line.strip())}")


def subjects(repo: Path, shas: Sequence[str]) -> dict[str, str]:
    """The subject of each commit of ``shas`` (ids read from stdin; none walked beyond them;
    ``log.showSignature`` turned off)."""
    args = ("log", "--no-walk=unsorted", "--no-show-signature", "-z", "--format=%H %s", "--stdin")
    said = output(repo, *args, input="".join(f"{sha}\n" for sha in shas).encode())
    found = {}
    for record in said.split(b"\0"):
        sha, _, subject = record.decode("utf-8", errors="replace").partition(" ")
        if sha:
            found[sha] = subject
    return found


def tagged_commits(repo: Path) -> list[tuple[str, int, bool]]:
    """``(commit id, committer date, annotated)`` of every tag that names a commit
    (annotated tags peeled), one ``git for-each-ref``."""
    fmt = "%(objecttype) %(objectname) %(committerdate:unix) %(*objecttype) %(*objectname)"
    said = output(repo, "for-each-ref", f"--format={fmt} %(*committerdate:unix)", "refs/tags")
    found = []
    for line in said.decode(errors="replace").splitlines():
        kind, sha, date, peeled_kind, peeled, peeled_date = (line.split(" ") + [""] * 6)[:6]
        if kind == "commit" and date.isdigit():
            found.append((sha, int(date), False))
        elif peeled_kind == "commit" and peeled_date.isdigit():
            found.append((peeled, int(peeled_date), True))
    return found


def is_shallow(repo: Path) -> bool:
    return query(repo, "rev-parse", "--is-shallow-repository") == "true"


def _as_root(raw: bytes) -> bytes:
    """A shallow boundary commit as git shows it: without its ``parent`` headers (git
    grafts it into a root; rev-list counts it as no merge)."""
    head, sep, message = raw.partition(b"\n\n")
    kept = [line for line in head.split(b"\n") if not line.startswith(b"parent ")]
    return b"\n".join(kept) + sep + message


def environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with ``extra`` over it (for ``run(env=…)``)."""
    return {**os.environ, **extra}


# -- apply: fetch a pull request's tag, merge without a work tree, move a branch safely ----

ZERO_ID = "0" * 40
_FETCH_TIMEOUT = 300.0  # seconds for one pull request's fetch


def fetch_tag(repo: Path, url: str, tag: str, into: str, *, protocols: str) -> None:
    """Fetch only ``refs/tags/TAG`` from ``url`` into the private ref ``into``: no remote
    added, no config, no FETCH_HEAD, no other tag, never a prompt, and only over the
    transports in ``protocols`` (``GIT_ALLOW_PROTOCOL``, e.g. ``https:ssh``).

    :raises GitError: with git's own reason when the fetch fails.
    """
    if url.startswith("-") or tag.startswith("-"):
        raise GitError(f"cannot fetch {tag!r} from {url!r}: not a URL and a tag name")
    refspec = f"+refs/tags/{tag}:{into}"
    done = run(
        repo,
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--no-recurse-submodules",
        "--",
        url,
        refspec,
        env=environment({**NEVER_PROMPT, "GIT_ALLOW_PROTOCOL": protocols}),
        timeout=_FETCH_TIMEOUT,
    )
    if done.returncode != 0:
        raise GitError(
            f"fetch of tag {tag!r} from {url} failed: git said: {done.whole_reason()}",
            hint=f"the tag may not be pushed yet (ask the submaintainer to 'git push {url} "
            f"tag {tag}'), or the URL is mistyped in the email (check it, or pass --url "
            "and --tag)",
        )


def object_type(repo: Path, ref: str, env: Mapping[str, str] | None = None) -> str | None:
    """``commit``, ``tag``, ``tree`` or ``blob`` for what ``ref`` names, or None."""
    done = run(repo, "cat-file", "-t", "--end-of-options", ref, env=env)
    return done.stdout.decode().strip() if done.returncode == 0 else None


def read_object(repo: Path, kind: str, ref: str, env: Mapping[str, str] | None = None) -> bytes:
    """The raw object ``ref`` names, of type ``kind`` (``git cat-file KIND REF``)."""
    done = run(repo, "cat-file", kind, ref, env=env)
    if done.returncode != 0:
        raise GitError(f"git cat-file {kind} {ref} failed: {done.reason()}")
    return done.stdout


@dataclass(frozen=True)
class TreeMerge:
    """``git merge-tree --write-tree``'s answer: the merged tree (with conflict markers when
    not clean) and the paths that conflict."""

    tree: str
    conflicts: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.conflicts


def merge_tree(
    repo: Path, ours: str, theirs: str, env: Mapping[str, str] | None = None
) -> TreeMerge:
    """Merge two commits' trees without touching a work tree or index (git >= 2.38)."""
    done = run(
        repo, "merge-tree", "--write-tree", "-z", "--name-only", "--no-messages", ours, theirs,
        env=env,
    )  # fmt: skip
    if done.returncode not in (0, 1):
        raise GitError(f"git merge-tree failed: {done.reason()}")
    fields = done.stdout.split(b"\0")
    tree = fields[0].decode().strip()
    conflicts: list[str] = []
    if done.returncode == 1:
        for name in fields[1:]:
            if not name:
                break
            path = name.decode("utf-8", errors="replace")
            if path not in conflicts:
                conflicts.append(path)
    return TreeMerge(tree, tuple(conflicts))


def write_commit(repo: Path, raw: bytes, env: Mapping[str, str] | None = None) -> str:
    """Store ``raw`` as a commit object (``git hash-object -t commit -w``); git checks
    it is well-formed. Returns its id."""
    done = run(repo, "hash-object", "-t", "commit", "-w", "--stdin", input=raw, env=env)
    if done.returncode != 0:
        raise GitError(f"git hash-object failed: {done.reason()}")
    return done.stdout.decode().strip()


def commit_objects(
    repo: Path,
    tip: str,
    exclude: str | Sequence[str] | None,
    env: Mapping[str, str] | None = None,
) -> list[tuple[str, bytes]]:
    """``(id, raw object)`` for every commit in ``exclude..tip`` (all of ``tip``'s history
    when ``exclude`` is None; ``tip ^A ^B`` for several), newest first (``walk_commits``,
    in ``env``)."""
    excludes = [exclude] if isinstance(exclude, str) else list(exclude or [])
    return [(sha, raw) for batch in walk_commits(repo, tip, excludes, env) for _, sha, raw in batch]


def ident(repo: Path, which: str) -> bytes:
    """``GIT_AUTHOR_IDENT`` or ``GIT_COMMITTER_IDENT`` as git would write it now."""
    done = run(repo, "var", which)
    if done.returncode != 0:
        raise GitError(f"git var {which} failed: {done.reason()}", hint="set user.name/email")
    return done.stdout.rstrip(b"\n")


def update_ref(repo: Path, ref: str, new: str, old: str | None, message: str) -> None:
    """Move ``ref`` to ``new`` only if it still points at ``old`` (None: only if it does
    not exist yet): ``git update-ref -m MESSAGE REF NEW OLD``, a compare-and-swap."""
    done = run(repo, "update-ref", "-m", message, ref, new, old or ZERO_ID, group=True)
    if done.returncode != 0:
        raise GitError(
            f"could not move {ref}: {done.reason()}",
            hint="the branch moved during the run; nothing of this pull request was applied",
        )


def worktrees_on(repo: Path, ref: str) -> list[Path]:
    """The work trees (main and linked) that have ``ref`` checked out."""
    done = run(repo, "worktree", "list", "--porcelain")
    found: list[Path] = []
    where: Path | None = None
    for line in done.stdout.decode("utf-8", errors="replace").splitlines():
        if line.startswith("worktree "):
            where = Path(line.removeprefix("worktree "))
        elif line == f"branch {ref}" and where is not None:
            found.append(where)
    return found


def is_dirty(worktree: Path) -> bool:
    """Whether the index or a tracked file differs from HEAD in ``worktree``."""
    args = ("--no-optional-locks", "status", "--porcelain", "-z", "--untracked-files=no")
    done = run(worktree, *args)  # no index.lock taken to refresh the index
    if done.returncode != 0:
        raise GitError(f"git status in {worktree} failed: {done.reason()}")
    return bool(done.stdout)


def checkout_move(worktree: Path, old: str, new: str) -> None:
    """Update ``worktree``'s index and files from commit ``old`` to ``new`` as a merge
    that fast-forwards would (``git read-tree -m -u OLD NEW``); refuses to lose changes.
    git runs in a process group of its own: a Ctrl-C to the terminal does not cut it off
    halfway (``apply/critical.py`` defers this process's signals meanwhile)."""
    done = run(worktree, "read-tree", "-m", "-u", old, new, group=True)
    if done.returncode != 0:
        said = done.whole_reason()
        lock = re.search(r"Unable to create '(.+?\.lock)'", said)
        hint = None
        if lock is not None:  # a git killed mid-update (SIGKILL, a crash) left it
            hint = (
                f"if no git is running in {worktree}, remove {lock.group(1)}; then check "
                "'git status' there: files the interrupted update wrote are left "
                "untracked and would block it; then run it again"
            )
        raise GitError(f"could not update the work tree {worktree}: {said}", hint=hint)


def add_note(repo: Path, notes_ref: str, sha: str, text: str) -> None:
    """Attach ``text`` to commit ``sha`` as a note under ``notes_ref`` (replacing one
    there): ``git notes --ref NOTES_REF add -f -F - SHA``."""
    args = ("notes", "--ref", notes_ref, "add", "-f", "-F", "-", "--end-of-options", sha)
    done = run(repo, *args, input=text.encode("utf-8"))
    if done.returncode != 0:
        raise GitError(f"git notes add on {sha[:12]} failed: {done.reason()}")


def read_note(repo: Path, notes_ref: str, sha: str) -> str | None:
    """The note on ``sha`` under ``notes_ref``, or None when it has none."""
    done = run(repo, "notes", "--ref", notes_ref, "show", "--end-of-options", sha)
    return done.stdout.decode("utf-8", errors="replace") if done.returncode == 0 else None


def config_value(repo: Path, key: str, *, boolean: bool = False) -> str | None:
    """One config value as git reads it (``--type=bool`` for a boolean), or None if unset."""
    args = ["config", *(["--type=bool"] if boolean else []), "--get", key]
    return query(repo, *args)


def verify_tag_text(repo: Path, ref: str, timeout: float) -> str:
    """What ``git verify-tag REF`` tells a person (gpg's or ssh-keygen's words, not the
    status lines): ``git merge`` copies it into a signed tag's merge message.

    :raises GitError: it ran past ``timeout`` seconds (git and its gpg are killed).
    """
    done = run(repo, "verify-tag", "--end-of-options", ref, timeout=timeout, group=True)
    said = done.stderr.decode("utf-8", errors="replace")
    return said if said.strip() else "gpg verification failed.\n"


def run_signer(argv: list[str], payload: bytes, *, timeout: float) -> Completed:
    """Run the signing program git's config names (``gpg.program``, ``gpg.ssh.program``)
    on ``payload``, as git itself does for ``commit -S``.

    :raises GitError: the program could not be started, or ran past ``timeout``.
    """
    try:
        proc = subprocess.run(
            argv, input=payload, capture_output=True, check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"{argv[0]} timed out after {timeout:.0f}s") from None
    except OSError as exc:
        raise GitError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    return Completed(proc.returncode, proc.stdout, proc.stderr)


def run_pager(argv: list[str], text: bytes, env: Mapping[str, str]) -> bool:
    """Feed ``text`` to the pager ``argv`` on this terminal and wait for it, as git runs
    ``core.pager``; False when it cannot be started (the caller then prints the text).
    Ctrl-C belongs to the pager while it runs; quitting it early is fine."""
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, env=dict(env))
    except OSError:
        return False
    assert proc.stdin is not None
    try:
        proc.stdin.write(text)
        proc.stdin.close()
    except OSError:  # a broken pipe: the reader quit (q in less) before the end
        pass
    while True:
        try:
            proc.wait()  # its exit status says nothing about the report
            return True
        except KeyboardInterrupt:
            continue


# -- triage: the pull requests of a tested staging ----------------------------------------


def first_parent_chain(repo: Path, target: str, branch: str) -> list[str]:
    """The commits ``branch`` adds over ``target`` along its first parents, oldest first
    (``git rev-list --first-parent --reverse BRANCH ^TARGET``); both are commit ids."""
    out = output(repo, "rev-list", "--first-parent", "--reverse", branch, f"^{target}")
    return out.decode("ascii", errors="replace").split()


def count_commits(repo: Path, tip: str, exclude: str) -> int:
    """How many commits ``exclude..tip`` holds (``git rev-list --count``); commit ids."""
    return int(output(repo, "rev-list", "--count", tip, f"^{exclude}").strip() or b"0")


def changed_paths(repo: Path, old: str | None, new: str) -> list[str]:
    """The paths that differ from commit ``old`` to commit ``new`` (from the empty tree
    when ``old`` is None), as ``git diff --name-only OLD NEW`` lists them, renames as a
    deletion and an addition."""
    base = [old] if old is not None else ["--root"]
    args = ("diff-tree", "-r", "-z", "--name-only", "--no-renames", "--no-commit-id")
    out = output(repo, *args, *base, new)
    return [p.decode("utf-8", errors="replace") for p in out.split(b"\0") if p]


# -- scan: the first-parent chain a long range is cut along ---------------------------------


def first_parents(repo: Path, tip: str, exclude: str) -> list[tuple[str, bool]]:
    """``(id, is a merge)`` of each commit of ``TIP ^EXCLUDE`` on the first-parent chain
    of ``tip``, newest first (``git rev-list --first-parent --parents``); commit ids."""
    out = output(repo, "rev-list", "--first-parent", "--parents", tip, f"^{exclude}")
    chain = [line.split(b" ") for line in out.splitlines() if line]
    return [(ids[0].decode("ascii", errors="replace"), len(ids) > 2) for ids in chain]


def gpg_program(repo: Path) -> str | None:
    """The program git verifies OpenPGP signatures with (``gpg.openpgp.program``, else
    ``gpg.program``, else ``gpg``), or None when git's own trust check applies
    (``gpg.minTrustLevel`` set): then only ``git verify-tag`` answers as git would."""
    if config_value(repo, "gpg.minTrustLevel") is not None:
        return None
    return config_value(repo, "gpg.openpgp.program") or config_value(repo, "gpg.program") or "gpg"


def run_verifier(argv: list[str], cwd: Path, env: Mapping[str, str], timeout: float) -> Completed:
    """Run git's signature verifier (``gpg_program``) as git would, in ``cwd``, in a
    process group of its own killed past ``timeout`` seconds.

    :raises GitError: it could not be started, or ran past ``timeout``.
    """
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            start_new_session=True,
        )
    except OSError as exc:
        raise GitError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise GitError(f"{argv[0]} timed out after {timeout:.0f}s") from None
    except BaseException:
        _kill_group(proc)
        raise
    _kill_group(proc)
    return Completed(proc.returncode, out, err)
