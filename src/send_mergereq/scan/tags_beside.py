"""The tags of the merges a process holds back (``checks/runner.Scan``) verified beside its
walks (``scan/workers.py``): in batches by threads of the process, one after another,
while it walks on (``Beside``); the very first verification of the run, whichever
process makes it, alone (``FirstAlone``: on a new, empty GNUPGHOME it creates the
keyring, which gpg processes started at once would race to create)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence

from send_mergereq.checks.finding import TagVerification
from send_mergereq.checks.runner import Scan, TagVerifier


class FirstAlone:
    """``verifier``, the first call across the processes made alone (on a new, empty
    GNUPGHOME it creates the keyring, which gpg processes started at once would race to
    create); the others wait for it. The guard is a lock on a scratch file the processes
    share (``fcntl.lockf``: each process's own, released by the kernel when it dies, so a
    worker killed while it verifies holds no one up), its first byte saying the first
    verification is made: a file in memory on Linux (``os.memfd_create``), else a
    temporary file (``tempfile``, 5-20 ms to import before the workers could fork).
    ``shared`` False: no tags to verify, no file."""

    def __init__(self, verifier: TagVerifier, *, shared: bool) -> None:
        self.verifier, self.open = verifier, False
        self.fd: int | None = _scratch_file() if shared else None

    def __call__(self, tags: Sequence[bytes]) -> Mapping[bytes, TagVerification]:
        if self.open or self.fd is None:
            return self.verifier(tags)
        import fcntl

        fd = self.fd
        fcntl.lockf(fd, fcntl.LOCK_EX)  # waits while another process makes the first
        try:
            if not os.pread(fd, 1, 0):
                found = self.verifier(tags)
                os.pwrite(fd, b"1", 0)
                self.open = True
                return found
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN)
        self.open = True
        return self.verifier(tags)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _scratch_file() -> int | None:
    """An open file no one else can reach, removed when closed; None when there is no
    place for one (the tags' scratch fails alike: ERROR verdicts, not a failed run)."""
    try:
        return os.memfd_create("send-mergereq-first", os.MFD_CLOEXEC)
    except (AttributeError, OSError):  # not Linux, or a kernel without it
        pass
    import tempfile

    try:
        with tempfile.TemporaryFile(prefix="send-mergereq-first-") as file:
            return os.dup(file.fileno())  # the file stays while this descriptor is open
    except OSError:  # no temporary directory
        return None


class Beside:
    """The tags of the merges ``scan`` holds back, verified in batches by threads of this
    process, one after another, while it walks on (``result``: all verdicts; a batch not
    started when something stopped the walks is never started). A batch is made as soon
    as a chunk brings tags (the first of the run runs alone), then once as many merges
    wait as twice the last batch had, and at the end of each part: a gpg start each, few
    of them, and little left to verify when the walks end."""

    FIRST = 16  # merges in the second batch; each later one waits for twice the last

    def __init__(self, scan: Scan, verify: TagVerifier) -> None:
        self.scan, self.verify = scan, verify
        self.found: dict[bytes, TagVerification] = {}
        self.failed: list[BaseException] = []
        self.last: threading.Event | None = None  # set when the last batch is done
        self.cancelled = False
        self.held, self.wanted = 0, 1  # merges handed out so far; merges a batch waits for

    def after_chunk(self) -> None:
        if len(self.scan.deferred) - self.held >= self.wanted:
            self.wanted = max(self.FIRST, 2 * (len(self.scan.deferred) - self.held))
            self.flush()

    def flush(self) -> None:
        """Hand the merges held back since the last batch to a new one."""
        tags = self.scan.deferred_tags(self.held)
        self.held = len(self.scan.deferred)
        if tags:
            self._submit(tags)

    def _submit(self, tags: Sequence[bytes]) -> None:
        before, done = self.last, threading.Event()

        def run() -> None:
            try:
                if before is not None:
                    before.wait()
                if not (self.cancelled or self.failed):
                    self.found.update(self.verify(tags))
            except BaseException as exc:  # said by result()
                self.failed.append(exc)
            finally:
                done.set()

        # an event, not the thread: Python 3.11 takes a thread whose join a Ctrl-C broke
        # for one that has ended (bpo-45274's fix), and would stop waiting for it
        self.last = done
        threading.Thread(target=run, daemon=True).start()

    def result(self) -> dict[bytes, TagVerification]:
        if self.last is not None:
            self.last.wait()
        if self.failed:
            raise self.failed[0]
        return self.found


def wait_for(done: threading.Event, seconds: float) -> None:
    """Wait up to ``seconds`` for ``done``; a Ctrl-C meanwhile (git, in the same process
    group, may have failed first and brought this process here) raised once it is set."""
    deadline = time.monotonic() + seconds
    interrupted: KeyboardInterrupt | None = None
    while not done.is_set() and (left := deadline - time.monotonic()) > 0:
        try:
            done.wait(left)
        except KeyboardInterrupt as exc:
            interrupted = exc
    if interrupted is not None:
        raise interrupted
