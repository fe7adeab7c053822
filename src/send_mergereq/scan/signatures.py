"""Verify the tags that merges carry, through git's own ``git verify-tag``.

Each ``mergetag`` header is rebuilt into the tag object it copies and written
as a loose object into a temporary object directory that borrows the
repository's objects as an alternate: the user's repository is never written
to. OpenPGP signatures are first verified all at once by one gpg (``scan/gpg_batch.py``:
what ``git verify-tag`` would say, without a git and a gpg per tag); then ``git
verify-tag --raw`` runs once per tag left (X.509, SSH, any gpg gave no verdict on), the
first alone when the batch did not run (it may create the keyring), the others several
at a time, so OpenPGP, X.509 and SSH signatures are all checked with the maintainer's
own keyring, ``gpg.program`` and ``gpg.ssh.allowedSignersFile``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from send_mergereq import git
from send_mergereq.checks.finding import TagStatus, TagVerification
from send_mergereq.checks.gpg_status import interpret
from send_mergereq.checks.tags import parse_tag, tag_object
from send_mergereq.errors import GitError
from send_mergereq.scan import gpg_batch

_TIMEOUT = 60.0  # seconds for one verification (a gpg waiting on a dead keyserver)
TIMEOUT_VARIABLE = "SEND_MERGEREQ_VERIFY_TIMEOUT"


def verify_timeout() -> float:
    """Seconds one ``git verify-tag`` may take: ``SEND_MERGEREQ_VERIFY_TIMEOUT``, else 60."""
    try:
        value = float(os.environ.get(TIMEOUT_VARIABLE, ""))
    except ValueError:
        return _TIMEOUT
    return value if 0 < value <= 3600 else _TIMEOUT


MEMORY = "/dev/shm"  # noqa: S108 - where mkdtemp makes a private directory, as in /tmp


def scratch_parent(size: int) -> str | None:
    """Where the tags' scratch directory is made (a file a tag for gpg's batch): in memory,
    Linux's ``/dev/shm`` (a tmpfs), when ``TMPDIR`` names no place of the user's choosing
    and it has room for twice ``size`` bytes and a megabyte; else the system's temporary
    directory (None). A file made there costs 0.02 ms; on this machine's ext4 ``/tmp``
    0.2-0.9 ms, the more the directory holds: u-boot's 1,127 tags, 0.9 s of the run."""
    if os.environ.get("TMPDIR"):
        return None
    try:
        found = os.statvfs(MEMORY)
    except OSError:  # not Linux, or no /dev/shm
        return None
    room = found.f_bavail * found.f_frsize
    if room < 2 * size + (1 << 20) or not os.access(MEMORY, os.W_OK | os.X_OK):
        return None
    return MEMORY


@contextlib.contextmanager
def scratch(size: int) -> Iterator[Path]:
    """A private directory (mode 0700, a name no one can guess) for the scratch of tags of
    ``size`` bytes, in ``scratch_parent``'s place, else the system's temporary directory
    (``tempfile``, imported only then: with ``shutil`` and ``random``, 7 ms of a short
    run's start), removed with what it holds when done, or at exit when the thread that
    verifies is stopped there (what cannot be removed is left)."""
    parent = scratch_parent(size)
    if parent is None:
        import tempfile

        parent = tempfile.gettempdir()
    for _ in range(100):  # as mkdtemp: another name when one is taken
        path = Path(parent) / f"send-mergereq-tags-{os.urandom(8).hex()}"
        try:
            path.mkdir(mode=0o700)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"no free name for a scratch directory in {parent}")
    at_exit = functools.partial(_remove, path)
    atexit.register(at_exit)
    try:
        yield path
    finally:
        _remove(path)
        atexit.unregister(at_exit)


def _remove(top: Path) -> None:
    """``top`` and everything in it, as far as it can be removed (no symbolic link is
    followed: only this process writes there)."""
    for where, folders, files in os.walk(top, topdown=False):
        for name in files:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(where, name))
        for name in folders:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(where, name))
    with contextlib.suppress(OSError):
        os.rmdir(top)


def verify_tags(
    repo: Path,
    tags: Sequence[bytes],
    *,
    batch: bool = False,
    program: Callable[[Path], str | None] | None = None,
) -> dict[bytes, TagVerification]:
    """Verify every ``mergetag`` header value in ``tags``; never raises for a bad tag.

    Keys of the result are the header values as given, in order. Unsigned tags are
    answered without running gpg; anything git cannot verify is an ERROR verdict.
    ``batch``: the OpenPGP ones first by one gpg (``scan/gpg_batch.py``; the range's
    check, many tags); else each by ``git verify-tag`` (``apply``: a pull request's tag).
    ``program``: how the batch learns git's gpg program (``git.gpg_program``, a ``git
    config`` each time, unless the caller keeps what it said).
    """
    unique = list(dict.fromkeys(tags))
    signed = [tag for tag in unique if parse_tag(tag_object(tag)).signed]
    read = (program or git.gpg_program) if batch else None
    verified = _verify_signed(repo, signed, read) if signed else {}
    return {tag: verified.get(tag, _UNSIGNED) for tag in unique}


_UNSIGNED = TagVerification(TagStatus.UNSIGNED, detail="the tag carries no signature")


def _verify_signed(
    repo: Path, tags: list[bytes], program: Callable[[Path], str | None] | None
) -> dict[bytes, TagVerification]:
    """Verify the OpenPGP tags in one gpg batch, then write the others to a scratch object
    directory and run ``git verify-tag`` on each."""
    batched: dict[bytes, TagVerification] = {}
    ran = False  # a gpg of the batch ran: the keyring is there
    try:
        with scratch(sum(len(tag) for tag in tags)) as tmp:
            if program is not None:
                batched, ran = _verify_batch(tmp, tags, program(repo))
            left = [tag for tag in tags if tag not in batched]
            if not left:
                return batched
            objects, algorithm = git.object_store(repo)  # only now: a git less for a batch
            shas = [_write_loose(tmp, algorithm, tag_object(tag)) for tag in left]
            env = _environment(tmp, objects)
            ssh = [b"-----BEGIN SSH SIGNATURE-----" in tag for tag in left]
            # The first verification runs alone: on a new, empty GNUPGHOME it creates the
            # keyring, which parallel gpg processes would race to create (a spurious
            # ERROR). A gpg of the batch that ran has made it already.
            verdicts = [] if ran else [_verify_one(repo, shas[0], env, ssh[0])]
            done = len(verdicts)
            verdicts += _at_once(
                lambda n: _verify_one(repo, shas[n], env, ssh[n]),
                range(done, len(left)),
                4 * (os.cpu_count() or 1),
            )
        return batched | dict(zip(left, verdicts, strict=True))
    except (OSError, GitError) as exc:
        failed = TagVerification(TagStatus.ERROR, detail=f"cannot verify tags in {repo}: {exc}")
        return dict.fromkeys(tags, failed) | batched


def _verify_batch(
    tmp: Path, tags: list[bytes], program: str | None
) -> tuple[dict[bytes, TagVerification], bool]:
    """The verdicts one gpg (``program``; None: git's own trust check applies) gives on
    the OpenPGP tags of ``tags`` (``gpg_batch``), run alone; the tags it gave none on are
    not in the answer. And whether gpg ran (it made the keyring of a new GNUPGHOME)."""
    if program is None:
        return {}, False
    messages = [(tag, gpg_batch.signed_message(tag_object(tag))) for tag in tags]
    batch = [(tag, message) for tag, message in messages if message is not None]
    if not batch:
        return {}, False
    folder = tmp / "batch"
    folder.mkdir()
    for n, (_, message) in enumerate(batch):  # os.open: a third of pathlib's time a file
        fd = os.open(folder / str(n), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            written = 0
            while written < len(message):
                written += os.write(fd, message[written:])
        finally:
            os.close(fd)
    env = {**os.environ, "LANGUAGE": "C"}
    found: dict[bytes, TagVerification] = {}
    start, ran = 0, False
    while start < len(batch):
        names = [str(n) for n in range(start, len(batch))]
        try:
            done = git.run_verifier(gpg_batch.argv(program, names), folder, env, verify_timeout())
        except GitError:
            break
        ran = True
        said = done.stdout.decode("utf-8", errors="replace")
        verdicts, start = gpg_batch.split_status(said, len(batch))
        for n, (code, status) in verdicts.items():
            found[batch[n][0]] = interpret(code, status)
    return found, ran


def _at_once(
    work: Callable[[int], TagVerification], indexes: range, most: int
) -> list[TagVerification]:
    """``work(n)`` for each of ``indexes``, in order, by up to ``most`` threads at once
    (each waits on its git and gpg, not on Python); what one raised, raised here. (Not
    ``concurrent.futures``: it imports ``logging``, 12 ms before the first verification.)"""
    found: dict[int, TagVerification] = {}
    failed: list[BaseException] = []
    pending = iter(indexes)
    lock = threading.Lock()

    def take() -> None:
        while not failed:
            with lock:
                n = next(pending, None)
            if n is None:
                return
            try:
                found[n] = work(n)
            except BaseException as exc:  # raised by the caller's thread
                failed.append(exc)

    threads = [threading.Thread(target=take, daemon=True) for _ in range(min(most, len(indexes)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failed:
        raise failed[0]
    return [found[n] for n in indexes]


def _write_loose(objects: Path, algorithm: str, tag: bytes) -> str:
    """Store ``tag`` as a loose tag object the way git would; return its id."""
    data = b"tag %d\0" % len(tag) + tag
    import hashlib  # only for a tag gpg's batch did not verify

    sha = hashlib.new(algorithm, data).hexdigest()
    path = objects / sha[:2] / sha[2:]
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(zlib.compress(data))
    return sha


def _environment(tmp_objects: Path, repo_objects: Path) -> Mapping[str, str]:
    """New objects go to ``tmp_objects``; the repository's (and its alternates) stay readable."""
    env = dict(os.environ)
    alternates = [str(repo_objects), env.get("GIT_ALTERNATE_OBJECT_DIRECTORIES", "")]
    env["GIT_ALTERNATE_OBJECT_DIRECTORIES"] = os.pathsep.join(a for a in alternates if a)
    env["GIT_OBJECT_DIRECTORY"] = str(tmp_objects)
    env["LANGUAGE"] = "C"  # git's own messages untranslated; gpg status lines never are
    return env


def _verify_one(repo: Path, sha: str, env: Mapping[str, str], ssh: bool) -> TagVerification:
    try:
        done = git.run(
            repo, "verify-tag", "--raw", sha, env=env, timeout=verify_timeout(), group=True
        )
    except GitError as exc:
        return TagVerification(TagStatus.ERROR, detail=f"git verify-tag failed: {exc.message}")
    return interpret(done.returncode, done.stderr.decode("utf-8", errors="replace"), ssh=ssh)
