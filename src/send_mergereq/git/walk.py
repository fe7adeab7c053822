"""Reading a range: every commit object of it streamed in ONE ``git rev-list --header``
walk (rebuilt and verified by its id, the few git renders lossily read from the store),
and the subjects, dates and tagged commits of a range.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from send_mergereq.errors import GitError
from send_mergereq.git.ahead import start_walk, taken
from send_mergereq.git.process import Batch, Stream, output


def walk_chunks(
    repo: Path, tip: str, excludes: Sequence[str], env: Mapping[str, str] | None = None
) -> Iterator[Chunk]:
    """Every commit of ``TIP ^EXCLUDE…``, newest first, in ONE git walk, as ``Chunk``s
    (one per megabyte read) of records ``IDS\\nOBJECT\\0``: ``IDS`` is the commit's line of
    ``rev-list --parents`` (its id, then the parents git walks).

    ``git rev-list --header --encoding=none`` prints each commit it walked: the ids, the
    header lines byte for byte, then the message with every line indented by four
    spaces, NUL-terminated. The indent is undone for a whole chunk at once, which also
    takes four spaces from a header line that has them (a ``mergetag`` whose tag message
    indents a line): such a record is rebuilt, its message alone undone. The rendering of
    the message is lossy (trailing whitespace and leading blank lines dropped, a NUL
    ends it, a final newline added), so a record is the stored object only when its hash
    is the commit's id (``Chunk.exact``); the others are read from the store by one
    ``git cat-file --batch`` started on first need (``Chunk.objects``; u-boot: 23
    rebuilt, 63 of 105,693 read from the store). A walk that excludes anything prints
    nothing before it is complete; git then prints fast, and this reads it in chunks.

    :raises GitError: git could not walk the range (one line, naming git's complaint).
    """
    started = taken(repo, tip, excludes) if env is None else None
    walk = started or start_walk(repo, tip, excludes, env)
    stored = _StoredObjects(repo, env)
    try:
        pending = b""
        while data := walk.stdout.read(_CHUNK):
            cut = data.rfind(b"\0") + 1
            if not cut:
                pending += data
                continue
            # split and joined: the same as replace, faster with a million indents
            shown = pending + data[:cut]
            yield Chunk(b"\n".join(shown.split(b"\n    ")), stored, shown)
            pending = data[cut:]
        if walk.wait() == 0 and pending:
            raise GitError("git rev-list: its output ended inside a commit")
    finally:
        stored.close()
        walk.stop()
    walk.raise_failure("git rev-list")


def walk_commits(
    repo: Path, tip: str, excludes: Sequence[str], env: Mapping[str, str] | None = None
) -> Iterator[list[tuple[bytes, str, bytes]]]:
    """``(ids, id, raw object)`` for every commit of ``TIP ^EXCLUDE…``, newest first, in
    batches, each object exactly as stored (``walk_chunks``).

    :raises GitError: git could not walk the range (one line, naming git's complaint).
    """
    for chunk in walk_chunks(repo, tip, excludes, env):
        yield chunk.objects(range(chunk.count))


_CHUNK = 1 << 20


_SIZES = (40, 64)  # hex digits of an id: SHA-1, SHA-256 objects
_SMALL = 1 << 18  # a chunk of fewer bytes (a short walk's) is hashed by Python's own code


def _digest(size: int, chunk_bytes: int) -> Callable[[bytes], Any] | None:
    """The hash of objects whose ids have ``size`` hex digits (None: no object format),
    for a chunk of ``chunk_bytes``: OpenSSL's (``hashlib``, 7 ms to import, 1.9 us a
    kilobyte), or for a small chunk Python's built-in one (``_sha1``: 0.4 ms to import,
    7.2 us a kilobyte; a short run hashes a hundred commits, a long one a hundred
    megabytes). The same digest either way."""
    if size not in _SIZES:
        return None
    name = "sha1" if size == 40 else "sha256"
    if chunk_bytes < _SMALL:
        import importlib

        try:
            built_in: Callable[[bytes], Any] = getattr(importlib.import_module(f"_{name}"), name)
            return built_in
        except ImportError:  # a Python built without them: OpenSSL's
            pass
    import hashlib

    return hashlib.sha1 if size == 40 else hashlib.sha256


class Chunk:
    """Records ``IDS\\nOBJECT\\0`` of a walk (``walk_chunks``), the indent undone: ``text``
    (``shown``: as git showed them). (Once per commit of the range: keep it lean.)"""

    def __init__(self, text: bytes, stored: _StoredObjects, shown: bytes = b"") -> None:
        self.text, self._stored, self._shown = text, stored, shown
        self._shown_records: list[bytes] | None = None
        self._exact: list[bool] | None = None  # what exact() found, once it was asked
        self.records = text.split(b"\0")
        self.records.pop()  # after the last NUL
        self.count = len(self.records)

    def exact(self) -> list[bool]:
        """For each record, whether its object is the stored one (hashed as git hashes
        objects: the commit's id; kept, so ``objects`` does not hash them again)."""
        first = self.records[0] if self.records else b""
        size = next((n for n in _SIZES if first[n : n + 1] in (b" ", b"\n")), 0)
        digest = _digest(size, len(self.text))
        if digest is None:
            return [False] * self.count
        self._exact = [_hashes_to(record, digest, size) for record in self.records]
        return self._exact

    def objects(self, indexes: Iterable[int]) -> list[tuple[bytes, str, bytes]]:
        """``(ids, id, raw object)`` of the records ``indexes``, each the stored object:
        the record when it is exact, else read from the store (all at once)."""
        found: list[tuple[bytes, str, bytes]] = []
        unverified: list[int] = []
        known = self._exact or [False] * self.count  # True: hashed to its id already
        digests: dict[int, Callable[[bytes], Any] | None] = {}
        for index in indexes:
            record = self.records[index]
            nl = record.find(b"\n")
            ids = record[:nl] if nl >= 0 else record
            space = ids.find(b" ")
            sha = (ids if space < 0 else ids[:space]).decode("ascii", errors="replace")
            if len(sha) not in digests:  # once a chunk, not once a record
                digests[len(sha)] = _digest(len(sha), len(self.text))
            digest = digests[len(sha)]
            if digest is None or nl < 0:
                raise GitError(f"git rev-list: unexpected output {record[:80]!r}")
            raw = record[nl + 1 :]
            exact = known[index] or _hashes_to(record, digest, len(sha))
            if not exact:
                record = self._rebuilt(index)
                raw = record[nl + 1 :]
                exact = _hashes_to(record, digest, len(sha))
            if not exact:  # lossy: the stored one
                unverified.append(len(found))
            # a shallow clone's boundary commit is a root to git: no parents (see _as_root)
            elif space < 0 and b"\nparent " in raw:
                raw = _as_root(raw)
            found.append((ids, sha, raw))
        stored = self._stored.read([found[n][1] for n in unverified]) if unverified else []
        for n, raw in zip(unverified, stored, strict=True):
            ids, sha, _ = found[n]
            as_root = b" " not in ids and b"\nparent " in raw
            found[n] = (ids, sha, _as_root(raw) if as_root else raw)
        return found

    def _rebuilt(self, index: int) -> bytes:
        """Record ``index`` as git showed it, the indent undone in its message alone (not
        in a header line of four spaces or more: a ``mergetag``'s indented tag message)."""
        if self._shown_records is None:  # once a chunk, and only for such a record
            self._shown_records = self._shown.split(b"\0")
        shown = self._shown_records[index] if index < len(self._shown_records) else b""
        head, blank, message = shown.partition(b"\n\n")
        return head + blank + b"\n".join((b"\n" + message).split(b"\n    "))[1:]

    def links_to(self, sha: str) -> bool:
        """Whether a record's ids line names ``sha`` as a parent."""
        text, needle = self.text, b" " + sha.encode()
        at = text.find(needle)
        while at >= 0:
            start = text.rfind(b"\0", 0, at) + 1
            after = text[at + len(needle) : at + len(needle) + 1]
            if text.find(b"\n", start, at) < 0 and after in (b" ", b"\n"):
                return True
            at = text.find(needle, at + 1)
        return False


def _hashes_to(record: bytes, digest: Callable[[bytes], Any], size: int) -> bool:
    """Whether the object after the ids line of ``record`` hashes to its first id, of
    ``size`` hex digits."""
    nl = record.find(b"\n")
    if nl != size and (nl < size or record[size] != 32):  # not one id of that size first
        return False
    raw = record[nl + 1 :]
    hashed = digest(b"commit %d\0" % len(raw))
    hashed.update(raw)  # not the header and object joined: a copy of every object
    return bool(hashed.hexdigest().encode() == record[:size])


class _StoredObjects:
    """One ``git cat-file --batch`` for the objects ``walk_commits`` cannot rebuild,
    started on first use."""

    _SLICE = 256  # ids written before their objects are read: well within the pipes

    def __init__(self, repo: Path, env: Mapping[str, str] | None = None) -> None:
        self.repo, self.env = repo, env
        self.batch: Batch | None = None

    def read(self, shas: Sequence[str]) -> list[bytes]:
        """The stored objects ``shas`` name, in order."""
        if self.batch is None:
            self.batch = Batch(self.repo, ["cat-file", "--batch"], self.env)
        found: list[bytes] = []
        for start in range(0, len(shas), self._SLICE):
            wanted = shas[start : start + self._SLICE]
            self.batch.stdin.write(b"".join(sha.encode() + b"\n" for sha in wanted))
            self.batch.stdin.flush()
            found += [self._answer(self.batch, sha) for sha in wanted]
        return found

    @staticmethod
    def _answer(batch: Batch, sha: str) -> bytes:
        header = batch.stdout.readline()
        parts = header.split()
        if len(parts) != 3 or parts[1] != b"commit" or not parts[2].isdigit():
            raise GitError(f"git cat-file: unexpected answer {header!r} for {sha}")
        size = int(parts[2])
        return batch.stdout.read(size + 1)[:size]

    def close(self) -> None:
        if self.batch is not None:
            self.batch.close()


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
    args = ("log", "--no-show-signature", "-z", "--format=%H %s", "--end-of-options")
    listing = Stream(repo, [*args, tip, f"^{exclude}"])
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
        listing.stop()
    listing.raise_failure("git log")


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


def _as_root(raw: bytes) -> bytes:
    """A shallow boundary commit as git shows it: without its ``parent`` headers (git
    grafts it into a root; rev-list counts it as no merge)."""
    head, sep, message = raw.partition(b"\n\n")
    kept = [line for line in head.split(b"\n") if not line.startswith(b"parent ")]
    return b"\n".join(kept) + sep + message


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


def first_parent_dates(repo: Path, tip: str) -> Generator[tuple[str, int], None, None]:
    """``(id, committer date)`` of each commit of ``tip``'s first-parent chain, newest
    first, streamed as git walks (``git rev-list --first-parent --timestamp``, nothing
    excluded: it prints from the first commit on); the caller stops when it has read
    enough, and git with it.

    :raises GitError: git could not walk the chain (one line, naming git's complaint).
    """
    walk = Stream(repo, ["rev-list", "--first-parent", "--timestamp", tip])
    try:
        while line := walk.stdout.readline():
            date, _, sha = line.decode("ascii", errors="replace").strip().partition(" ")
            if not date.isdigit() or not sha:
                raise GitError(f"git rev-list: unexpected output {line[:80]!r}")
            yield sha, int(date)
        walk.wait()
    finally:
        walk.stop()
    walk.raise_failure("git rev-list")
