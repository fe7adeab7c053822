"""``scan/workers.py``: the tags of signed merges are verified while the walks run, by
each process for the parts it read, the very first verification of the run alone (a new
keyring), with the result of one serial pass. Real gpg keys (tests/keys.py)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from keys import Keys, make_signed_merge
from send_mergereq.checks import CHECKS
from send_mergereq.checks.finding import CheckContext, TagStatus, TagVerification
from send_mergereq.checks.runner import EnabledCheck
from send_mergereq.scan import cut as range_parts
from send_mergereq.scan import tags_beside
from send_mergereq.scan.range_check import check_range, default_verifier
from send_mergereq.scan.walk import resolve_range, whole


def test_tags_are_verified_beside_the_walks_first_alone(
    make_repo: Any, maintainer: Keys, tmp_path: Path
) -> None:
    repo = make_repo().path
    keys = [maintainer.good, maintainer.stranger, None, maintainer.good, maintainer.revoked]
    merges = [make_signed_merge(repo, f"pull-{n}", key) for n, key in enumerate(keys * 2)]
    rng = resolve_range(repo, "master", "staging")
    # cut along the first-parent chain: every other merge a tip
    parts = range_parts.chain(rng, merges[-3::-2], linked=False)
    assert len(parts) == 5
    log = tmp_path / "calls"
    real = default_verifier(repo)

    def logged(tags: Sequence[bytes]) -> Mapping[bytes, TagVerification]:
        start = time.monotonic()
        found = real(tags)
        with log.open("a") as out:
            out.write(f"{os.getpid()} {start} {time.monotonic()} {len(tags)}\n")
        return found

    checks = [EnabledCheck(CHECKS[c], CHECKS[c].Options()) for c in ("signed-tags", "signoff")]
    ctx = CheckContext()
    serial = check_range(repo, rng, checks, ctx, real, parts=[whole(rng)])
    cut = check_range(repo, rng, checks, ctx, logged, parts=parts, workers=2)
    same = (serial.commits, serial.merges, serial.subjects)
    assert (cut.commits, cut.merges, cut.subjects) == same
    key = lambda f: (f.commit, f.check, f.message)  # noqa: E731
    assert sorted(map(key, cut.findings)) == sorted(map(key, serial.findings))
    bad = {f.commit for f in serial.findings if f.check == "signed-tags"}
    assert bad == {merges[n] for n in (1, 2, 4, 6, 7, 9)}  # stranger, unsigned, revoked
    calls = [line.split() for line in log.read_text().splitlines()]
    assert len(calls) == len(parts)  # one batch a part (each has signed merges)
    # (which process took which part is the scheduler's business: not asserted)
    first = min(calls, key=lambda call: float(call[1]))
    assert all(float(call[1]) >= float(first[2]) for call in calls if call is not first)
    # each signed tag verified once (git merge keeps no mergetag of an unsigned tag)
    assert sum(int(n) for *_, n in calls) == len(merges) - 2


def test_unsigned_result_is_the_same_with_a_verifier_that_knows_nothing(
    make_repo: Any, maintainer: Keys
) -> None:
    """A tag the batch did not answer for is an ERROR, never a pass (as in one pass)."""
    repo = make_repo().path
    merges = [make_signed_merge(repo, f"pull-{n}", maintainer.good) for n in range(4)]
    rng = resolve_range(repo, "master", "staging")
    parts = range_parts.chain(rng, [merges[1]], linked=False)
    checks = [EnabledCheck(CHECKS["signed-tags"], CHECKS["signed-tags"].Options())]
    found = check_range(repo, rng, checks, CheckContext(), lambda t: {}, parts=parts, workers=2)
    assert {f.commit for f in found.findings} == set(merges)
    assert all("not verified" in f.message or TagStatus.ERROR.value in f.message
               for f in found.findings)  # fmt: skip


def test_tag_batches_start_with_the_first_chunk_that_brings_tags_then_double() -> None:
    """The first batch as soon as there are tags (it runs alone: the sooner it is done,
    the sooner the other processes verify), then each once twice as many merges wait as
    the last batch had, the rest at the end of the part: few gpg starts, little left."""

    class Held:  # checks.runner.Scan, as the batches read it
        def __init__(self) -> None:
            self.deferred: list[int] = []

        def deferred_tags(self, since: int = 0) -> list[bytes]:
            return [b"tag %d" % n for n in self.deferred[since:]]

    held, batches = Held(), []

    def verify(tags: Sequence[bytes]) -> Mapping[bytes, TagVerification]:
        batches.append(list(tags))
        return {tag: TagVerification(TagStatus.GOOD) for tag in tags}

    beside = tags_beside.Beside(held, verify)  # type: ignore[arg-type]
    for n in range(200):  # a merge a chunk
        held.deferred.append(n)
        beside.after_chunk()
    beside.flush()
    found = beside.result()
    assert [len(batch) for batch in batches] == [1, 16, 32, 64, 87]
    assert [tag for batch in batches for tag in batch] == held.deferred_tags()  # in order
    assert len(found) == 200


def test_parts_go_through_the_pipe_whole() -> None:
    from send_mergereq.scan import workers as parallel
    from send_mergereq.scan.walk import Part

    pipe = parallel._Parts()
    parts = [Part(3, "a" * 64, ("b" * 64, "c" * 64), "d" * 64), Part(0, "e" * 40, ("f" * 40,))]
    try:
        for part in [*parts, None]:
            pipe.put(part)
        assert [pipe.get(), pipe.get(), pipe.get()] == [*parts, None]
    finally:
        pipe.close()


def test_a_worker_killed_while_it_makes_the_first_verification_holds_no_one_up() -> None:
    """The first verification runs alone; a process killed while it makes it (the OOM
    killer) must not leave the others waiting for it: the next one makes it, alone."""
    import signal
    import threading

    said, say = os.pipe()

    def stuck(tags: Sequence[bytes]) -> Mapping[bytes, TagVerification]:
        os.write(say, b"in\n")
        signal.pause()  # until killed
        return {}

    first = tags_beside.FirstAlone(stuck, shared=True)
    pid = os.fork()
    if pid == 0:  # a worker, killed while it verifies
        try:
            first([b"tag"])
        finally:
            os._exit(0)
    try:
        os.read(said, 3)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        first.verifier = lambda tags: {tag: TagVerification(TagStatus.GOOD) for tag in tags}
        found: list[Mapping[bytes, TagVerification]] = []
        after = threading.Thread(target=lambda: found.append(first([b"tag"])), daemon=True)
        after.start()
        after.join(timeout=30)
        assert found == [{b"tag": TagVerification(TagStatus.GOOD)}]  # not held up
        assert first([b"next"]) == {b"next": TagVerification(TagStatus.GOOD)}
    finally:
        first.close()


def test_a_ctrl_c_while_the_verification_under_way_is_waited_for_comes_after_it() -> None:
    """A stopped process waits for the verification under way (its scratch directory is
    removed with it, not left to a finalizer racing the thread at exit): a Ctrl-C that
    comes meanwhile (git, in the same process group, may have failed first) is raised
    once that is done, not at once."""
    import signal
    import threading
    import time

    release, done = threading.Event(), threading.Event()

    def verifying() -> None:
        release.wait(10)
        time.sleep(0.2)  # the gpg under way, still running when the Ctrl-C is handled
        done.set()

    def ctrl_c(signum: int, frame: object) -> None:
        release.set()
        raise KeyboardInterrupt

    threading.Thread(target=verifying, daemon=True).start()
    previous = signal.signal(signal.SIGINT, ctrl_c)
    try:
        main = threading.main_thread().ident or 0  # the signal to the waiting thread
        threading.Timer(0.05, signal.pthread_kill, (main, signal.SIGINT)).start()
        with pytest.raises(KeyboardInterrupt):
            tags_beside.wait_for(done, 5.0)
        assert done.is_set() and release.is_set()
    finally:
        signal.signal(signal.SIGINT, previous)


def test_no_temporary_directory_leaves_the_first_verification_unguarded_not_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tempfile

    def nowhere(**_: object) -> None:
        raise FileNotFoundError("No usable temporary directory found")

    def no_memory_file(name: str, flags: int = 0) -> int:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(tempfile, "TemporaryFile", nowhere)
    monkeypatch.setattr(os, "memfd_create", no_memory_file)
    first = tags_beside.FirstAlone(lambda tags: dict.fromkeys(tags, _GOOD), shared=True)
    assert first.fd is None and first([b"tag"]) == {b"tag": _GOOD}
    first.close()


def test_the_guard_is_a_file_in_memory_or_a_temporary_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On Linux the lock is on a file in memory (no ``tempfile`` to import before the
    workers fork); without ``memfd_create``, on a temporary file: the same guard."""
    first = tags_beside.FirstAlone(lambda tags: dict.fromkeys(tags, _GOOD), shared=True)
    assert first.fd is not None and os.readlink(f"/proc/self/fd/{first.fd}").startswith(
        "/memfd:send-mergereq-first"
    )
    first.close()
    monkeypatch.delattr(os, "memfd_create")
    first = tags_beside.FirstAlone(lambda tags: dict.fromkeys(tags, _GOOD), shared=True)
    assert first.fd is not None and "(deleted)" in os.readlink(f"/proc/self/fd/{first.fd}")
    assert first([b"tag"]) == {b"tag": _GOOD} and os.pread(first.fd, 1, 0) == b"1"
    first.close()
    assert first.fd is None


_GOOD = TagVerification(TagStatus.GOOD)
