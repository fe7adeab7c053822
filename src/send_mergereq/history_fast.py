"""Read a range's commits in one git walk, exact to the byte: the fast reader.

``history.read_raw`` pipes ``git rev-list`` into ``git cat-file --batch``: git
inflates every commit twice (once to walk, once to print), and the two run one
after the other since a ``A..B`` walk prints nothing before it is complete. Here
one ``git rev-list --header --encoding=none`` walks and prints each commit as it
stores it (no re-encoding), with the message indented by four spaces, which is
undone. That rendering is not always exact: git drops trailing whitespace, stops
a message at a NUL byte and ends it with a newline. So each rebuilt object is
hashed as git hashes objects: when its id is not the commit's own, the commit is
read again, exactly, with ``git cat-file --batch`` (one call per chunk, for the
few that need it). What comes out is what ``read_raw`` gives, byte for byte.

Should anything fail (a malformed object that ``--header`` refuses to print),
``FastReadFailedError`` tells the caller to read the range the plain way instead,
from the start (which then reports a real git error as such).
"""

from __future__ import annotations

import hashlib
import queue
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

from send_mergereq.history import CommitRange, _as_root

CHUNK = 1 << 20
AHEAD = 16  # chunks read ahead of the checks at most


class FastReadFailedError(Exception):
    """The one-walk reader could not read the range: use ``history.read_raw``."""


def _rebuild(record: bytes) -> tuple[str, bytes, bool]:
    """``(id, commit object, a root to git)`` from one ``rev-list --parents --header``
    record (its first line: the id and the parents git walks)."""
    nl = record.find(b"\n")
    ids = record[:nl].split()
    sha = ids[0].decode("ascii") if ids else ""
    end = record.find(b"\n\n", nl)
    if end < 0:
        return sha, record[nl + 1 :], len(ids) == 1
    message = record[end + 2 :]
    if message.startswith(b"    "):
        message = message[4:].replace(b"\n    ", b"\n")
    return sha, record[nl + 1 : end + 2] + message, len(ids) == 1


def _exact(repo: Path, shas: list[str]) -> dict[str, bytes]:
    """The stored objects ``shas``, read with one ``git cat-file --batch``."""
    proc = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "--batch"],
        input=("\n".join(shas) + "\n").encode(),
        capture_output=True,
        check=False,
    )
    objects, out, pos = {}, proc.stdout, 0
    for sha in shas:
        nl = out.find(b"\n", pos)
        parts = out[pos:nl].split()
        if proc.returncode != 0 or len(parts) != 3 or not parts[2].isdigit():
            raise FastReadFailedError(f"git cat-file --batch: {out[pos:nl]!r}")
        size = int(parts[2])
        objects[sha], pos = out[nl + 1 : nl + 1 + size], nl + 2 + size
    return objects


def _is_exact(sha: str, raw: bytes) -> bool:
    """Whether ``raw`` is the stored object ``sha``: git's own object id of it matches."""
    digest = hashlib.sha1 if len(sha) == 40 else hashlib.sha256
    return digest(b"commit %d\0" % len(raw) + raw).hexdigest() == sha


def is_object(record: bytes, nl: int) -> bool:
    """``_is_exact`` for a record ``id parents LF object`` whose first line ends at ``nl``
    (no copies of the object)."""
    size = len(record) - nl - 1
    digest = hashlib.sha1(b"commit %d\0" % size) if record[40:41] in b" \n" else None
    if digest is None:
        digest = hashlib.sha256(b"commit %d\0" % size)
    digest.update(memoryview(record)[nl + 1 :])
    hexdigest = digest.hexdigest().encode()
    return record.startswith(hexdigest) and record[len(hexdigest) : len(hexdigest) + 1] in b" \n"


def _settle(repo: Path, batch: list[tuple[str, bytes, bool]]) -> Iterator[tuple[str, bytes]]:
    """``batch`` with every commit whose rebuilt object is not the stored one read again."""
    wrong = [sha for sha, raw, _ in batch if not _is_exact(sha, raw)]
    exact = _exact(repo, wrong) if wrong else {}
    for sha, raw, root in batch:
        stored = exact.get(sha, raw)
        # a shallow clone's boundary commit: git walks it as a root, as read_raw does
        if root and b"\nparent " in stored.partition(b"\n\n")[0]:
            stored = _as_root(stored)
        yield sha, stored


def chunks(repo: Path, rng: CommitRange) -> Iterator[bytes]:
    """The walk's output in chunks of whole records (each record ends with a NUL).
    Raises ``FastReadFailedError`` when git refuses the walk: the caller then starts
    again with ``history.read_raw``. A thread drains the pipe as git prints, so git
    never waits on the checks (up to ``AHEAD`` chunks ahead)."""
    walk = subprocess.Popen(
        ["git", "-C", str(repo), "rev-list", "--parents", "--header", "--encoding=none"]
        + [rng.branch_sha, f"^{rng.target_sha}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    out = walk.stdout
    assert out is not None
    filled: queue.Queue[bytes] = queue.Queue(AHEAD)
    stop = threading.Event()

    def pump() -> None:
        while not stop.is_set():
            data = out.read(CHUNK)
            while not stop.is_set():
                try:
                    filled.put(data, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if not data:
                return

    pumping = threading.Thread(target=pump, daemon=True)
    pumping.start()
    pending = b""
    try:
        while data := filled.get():
            cut = data.rfind(b"\0") + 1
            if cut:
                yield pending + data[:cut]
                pending = data[cut:]
            else:
                pending += data
        if walk.wait() != 0:
            raise FastReadFailedError("git rev-list --header failed")
        if pending.strip():
            yield pending + b"\0"
    finally:
        stop.set()
        if walk.poll() is None:
            walk.kill()
        pumping.join()
        out.close()
        walk.wait()


def records(repo: Path, chunk: bytes) -> list[tuple[str, bytes]]:
    """``(id, raw object)`` for every record of ``chunk``, exact (see the module doc)."""
    rebuilt = [_rebuild(record) for record in chunk.split(b"\0") if record]
    return list(_settle(repo, rebuilt))


def records_of(repo: Path, chunk: bytes, wanted: list[int]) -> list[tuple[str, bytes]]:
    """``records`` for the records at indexes ``wanted`` of ``chunk`` only."""
    parts = chunk.split(b"\0")
    return list(_settle(repo, [_rebuild(parts[i]) for i in wanted]))


def read_fast(repo: Path, rng: CommitRange) -> Iterator[tuple[str, bytes]]:
    """Stream ``(id, raw object)`` for every commit of the range, newest first, exactly
    as ``history.read_raw`` does, with one walk (``FastReadFailedError``: see ``chunks``)."""
    for chunk in chunks(repo, rng):
        yield from records(repo, chunk)
