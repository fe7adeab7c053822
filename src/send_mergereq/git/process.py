"""Where git (and what git itself would start) runs: the only module of ``git/`` that
starts a process. ``run`` for a command that ends (bytes in and out, a secret in the
environment, a timeout, a process group of its own), ``Stream`` for one whose output is
read as it comes, ``Batch`` for one that answers on its stdin; ``query``/``output`` for
its answer; ``credential_fill``, the signing program and the pager as git runs them.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from send_mergereq.errors import GitError

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


def query(repo: Path, *args: str) -> str | None:
    """stdout of a git query (``git ARGS``), or None when git says no (unset key, no ref)."""
    done = run(repo, *args)
    return done.stdout.decode("utf-8", "replace").strip() if done.returncode == 0 else None


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
    argv: list[str],
    input: bytes | None,
    env: Mapping[str, str] | None,
    timeout: float | None,
    *,
    cwd: Path | None = None,
    program: str = "git",
    what: str | None = None,
) -> Completed:
    """``argv`` in a process group of its own, the whole group killed past ``timeout``
    or on an interruption (``program`` and ``what`` name it in the complaint)."""
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=None if env is None else dict(env),
            start_new_session=True,
        )
    except OSError as exc:
        raise GitError(f"cannot run {program}: {exc.strerror or exc}") from None
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        said = what or f"git {argv[3]}"
        raise GitError(f"{said} timed out after {timeout:.0f}s") from None
    except BaseException:
        _kill_group(proc)
        raise
    _kill_group(proc)  # anything it left behind in its group
    return Completed(proc.returncode, out, err)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the process group ``proc`` leads (it is gone already: nothing to do)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired, ValueError, OSError):
        proc.communicate(timeout=5.0)


def _start(
    repo: Path, args: Sequence[str], env: Mapping[str, str] | None, *, stdin: int, stderr: int
) -> subprocess.Popen[bytes]:
    """``git -C REPO ARGS`` started, its stdout a pipe read as it comes.

    :raises GitError: git cannot be started.
    """
    try:
        return subprocess.Popen(
            ["git", "-C", str(repo), *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=None if env is None else dict(env),
        )
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror or exc}") from None


class Stream:
    """A git whose stdout is read as it comes (``rev-list``, ``log``); its stderr is kept
    for the complaint, its stdin is empty."""

    def __init__(
        self, repo: Path, args: Sequence[str], env: Mapping[str, str] | None = None
    ) -> None:
        self._proc = _start(repo, args, env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert self._proc.stdout is not None
        self.stdout: IO[bytes] = self._proc.stdout
        _widen(self.stdout.fileno())

    def wait(self) -> int:
        """Its exit status, once it has ended."""
        return self._proc.wait()

    def stop(self) -> None:
        """Its output closed, the process stopped if the caller stopped early."""
        self.stdout.close()
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()

    def raise_failure(self, what: str) -> None:
        """:raises GitError: the stopped git failed (one line, naming git's complaint)."""
        if self._proc.returncode != 0:
            assert self._proc.stderr is not None
            said = self._proc.stderr.read().decode(errors="replace").split("\n")
            raise GitError(f"{what} failed: {'; '.join(line for line in said if line.strip())}")


_PIPE_SIZE = 1 << 20  # what Linux lets any process ask for (/proc/sys/fs/pipe-max-size)


def _widen(fd: int) -> None:
    """The pipe ``fd`` reads from holds ``_PIPE_SIZE`` bytes, not 64 KiB: git writes a
    walk's megabytes with a sixteenth of the wake-ups (u-boot's history: 0.3 s less
    system time, 0.1-0.2 s less in all). Where it cannot be (not Linux, the user's pipe
    pages used up), the pipe stays as it is."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    except (ImportError, AttributeError, OSError):
        pass


class Batch:
    """A git that answers what is written to its stdin (``cat-file --batch``), its
    complaints dropped."""

    def __init__(
        self, repo: Path, args: Sequence[str], env: Mapping[str, str] | None = None
    ) -> None:
        self._proc = _start(repo, args, env, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self.stdin: IO[bytes] = self._proc.stdin
        self.stdout: IO[bytes] = self._proc.stdout

    def close(self) -> None:
        """Its stdin closed (git ends), its output closed, the process waited for."""
        self.stdin.close()
        self.stdout.close()
        self._proc.wait()


def output(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    """stdout of ``git ARGS``; a GitError with git's own reason when it fails."""
    done = run(repo, *args, input=input)
    if done.returncode != 0:
        raise GitError(f"git {args[0]} failed: {done.reason()}")
    return done.stdout


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


def environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with ``extra`` over it (for ``run(env=…)``)."""
    return {**os.environ, **extra}


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


def run_verifier(argv: list[str], cwd: Path, env: Mapping[str, str], timeout: float) -> Completed:
    """Run git's signature verifier (``gpg_program``) as git would, in ``cwd``, in a
    process group of its own killed past ``timeout`` seconds.

    :raises GitError: it could not be started, or ran past ``timeout``.
    """
    return _run_group(argv, None, env, timeout, cwd=cwd, program=argv[0], what=argv[0])
