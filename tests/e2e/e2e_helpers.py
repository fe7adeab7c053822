"""Helpers for the end-to-end tests: run the installed CLI, read the sandbox's request log,
parse the plain (piped) output."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import gitlab

from send_mergereq.demo import repo as demo_repo
from send_mergereq.sandbox import ProjectInfo, RequestRecord, Sandbox

CLI = Path(sys.executable).parent / "send-mergereq"
ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
GROUP = re.compile(r"^(?P<state>[a-z_]+(?: \(may fail\))?): (?P<names>.+)$")
PIPELINE_PART = re.compile(r"^pipeline #(?P<id>\d+)(?: \(child, [^)]*\))? (?P<change>.+)$")


class CliRun(NamedTuple):
    """What one run of the CLI gave: unpacks as ``rc, stdout, stderr``."""

    rc: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(
    *args: str, env: Mapping[str, str], cwd: Path | None = None, timeout: float = 60.0
) -> CliRun:
    """Run the installed ``send-mergereq`` as a user would, with exactly ``env``."""
    proc = subprocess.run(
        [str(CLI), *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


# A test run started in the background by a shell inherits SIGINT ignored, and so would the
# CLI: give it the default disposition back, then become the CLI (exec keeps the pid).
_SIGINT_DEFAULT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def interrupt_when(
    args: Iterable[str], *, env: Mapping[str, str], cwd: Path, marker: str, timeout: float = 30.0
) -> tuple[CliRun, list[str]]:
    """Start the CLI, send SIGINT once ``marker`` shows on its stdout, and wait for it.

    Returns the run (stdout as a whole) and the stdout lines read before the signal.
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", _SIGINT_DEFAULT, str(CLI), *args],
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        for line in proc.stdout:
            seen.append(line)
            if marker in line:
                break
            if time.monotonic() > deadline:
                break
        assert any(marker in line for line in seen), f"{marker!r} never showed: {seen}"
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return CliRun(proc.returncode, "".join(seen) + rest, err), seen


def run_in_pty(
    *args: str, env: Mapping[str, str], cwd: Path, timeout: float = 60.0, columns: int = 160
) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal (stdout and stderr); its exit code and all it wrote."""
    master, slave = pty.openpty()
    term = {**env, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": "50"}
    proc = subprocess.Popen(
        [str(CLI), *args], cwd=cwd, env=term, stdin=slave, stdout=slave, stderr=slave
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        rc = proc.wait(timeout=5)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return rc, b"".join(chunks).decode("utf-8", "replace")


# --- the sandbox's request log ---------------------------------------------------------------


def api_calls(records: Iterable[RequestRecord]) -> list[RequestRecord]:
    return [r for r in records if r.kind == "api"]


def git_calls(records: Iterable[RequestRecord]) -> list[RequestRecord]:
    return [r for r in records if r.kind == "git"]


def bare_path(record: RequestRecord) -> str:
    """The path without its query."""
    return record.path.split("?", 1)[0]


def calls(records: Iterable[RequestRecord], method: str, pattern: str) -> list[RequestRecord]:
    """API records with ``method`` whose query-less path fully matches ``pattern``."""
    regex = re.compile(pattern)
    return [r for r in api_calls(records) if r.method == method and regex.fullmatch(bare_path(r))]


def pushes(records: Iterable[RequestRecord]) -> list[RequestRecord]:
    """git-receive-pack POSTs: objects and ref updates actually sent."""
    return [r for r in git_calls(records) if bare_path(r).endswith("/git-receive-pack")]


def polls(records: Iterable[RequestRecord], project_id: int, pipeline_id: int) -> list[list[str]]:
    """The watch's API requests grouped by poll: each poll starts with ``GET`` of the watched
    pipeline itself. Requests before the first poll (the submit phase) are left out, and so
    are those after the last poll that read no pipeline (logs, checks after the verdict)."""
    start = f"/api/v4/projects/{project_id}/pipelines/{pipeline_id}"
    groups: list[list[str]] = []
    for record in api_calls(records):
        if record.method == "GET" and bare_path(record) == start:
            groups.append([])
        if groups:
            groups[-1].append(f"{record.method} {record.path}")
    watch_side = re.compile(rf"GET /api/v4/projects/{project_id}/pipelines/")
    while groups and not watch_side.match(groups[-1][-1]):
        groups[-1].pop()
    return groups


@contextmanager
def when_requested(
    sandbox: Sandbox, pattern: str, action: Callable[[], None]
) -> Iterator[threading.Event]:
    """Run ``action`` (in a thread) as soon as a request whose path matches ``pattern`` is
    logged from now on; the event is set once it ran."""
    regex, done, stop = re.compile(pattern), threading.Event(), threading.Event()
    mark = len(sandbox.request_log)

    def watcher() -> None:
        while not stop.is_set():
            if any(regex.search(r.path) for r in sandbox.request_log[mark:]):
                action()
                done.set()
                return
            stop.wait(0.005)

    thread = threading.Thread(target=watcher, daemon=True)
    thread.start()
    try:
        yield done
    finally:
        stop.set()
        thread.join(timeout=5)


# --- output ---------------------------------------------------------------------------------


def _parts(text: str) -> list[str]:
    """The "; "-separated parts of every timestamped plain line (one line per poll)."""
    found = []
    for line in text.splitlines():
        if re.match(rf"^{STAMP}  ", line):
            found.extend(line[22:].split("; "))
    return found


def job_changes(text: str) -> list[tuple[str, str | None, str]]:
    """``(job, before, after)`` for every job named in the plain output, in order: each
    poll's line groups the jobs by their new state (``running: a, b (+3 more)``); ``before``
    is the state the job was last named in."""
    found: list[tuple[str, str | None, str]] = []
    last: dict[str, str] = {}
    for part in _parts(text):
        match = GROUP.match(part)
        if match is None or part.startswith(("pipeline #", "watching ", "gate ", "reconnect")):
            continue
        after = match["state"].split(" ")[0]
        for name in re.sub(r" \(\+\d+ more\)$", "", match["names"]).split(", "):
            job = re.sub(r" \([0-9hms]+\)$", "", name)
            found.append((job, last.get(job), after))
            last[job] = after
    return found


def pipeline_changes(text: str) -> list[tuple[int, str]]:
    return [(int(m["id"]), m["change"]) for m in map(PIPELINE_PART.match, _parts(text)) if m]


def kill_gpg_agent(gnupghome: Path) -> None:
    """Stop the gpg-agent a throwaway GNUPGHOME may have started (best effort)."""
    if gnupghome.is_dir():
        subprocess.run(
            ["gpgconf", "--kill", "all"],
            env={**os.environ, "GNUPGHOME": str(gnupghome)},
            capture_output=True,
            check=False,
        )


# --- the maintainer ---------------------------------------------------------------------------

PROJECT = "qemu-project/qemu"
FAST = 3000.0  # virtual seconds per real second: the green scenario's 40 minutes in 0.8 s


@dataclass
class Maintainer:
    """A maintainer's repository wired to a sandbox project, and ways to look at both."""

    demo: demo_repo.DemoEnv
    sandbox: Sandbox
    project: ProjectInfo
    token: str
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def repo(self) -> Path:
        return self.demo.repo

    def env(self, token: str | None = None) -> dict[str, str]:
        """The user's shell environment: the demo's own, plus ``GITLAB_TOKEN``."""
        env = {**self.demo.env, **self.extra_env}
        chosen = self.token if token is None else token
        if chosen:
            env["GITLAB_TOKEN"] = chosen
        return env

    def run(self, *args: str, token: str | None = None, timeout: float = 60.0) -> CliRun:
        return run_cli(*args, env=self.env(token), cwd=self.repo, timeout=timeout)

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        proc = subprocess.run(
            ["git", *args],
            cwd=self.repo,
            env={**self.demo.env, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, f"git {args}: {proc.stderr}"
        return proc.stdout.strip()

    def token_env(self) -> dict[str, str]:
        return {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"PRIVATE-TOKEN: {self.sandbox.token}",
        }

    def commit(self, subject: str, *, path: str = "hw/misc.c", trailer: bool = True) -> str:
        """A direct commit by the maintainer on the checked-out branch; its sha."""
        file = self.repo / path
        file.parent.mkdir(parents=True, exist_ok=True)
        with file.open("a") as out:
            out.write(subject + "\n")
        self.git("add", path)
        name, email = demo_repo.MAINTAINER
        message = subject + (f"\n\nSigned-off-by: {name} <{email}>" if trailer else "")
        self.git("commit", "-q", "--no-gpg-sign", "-m", message)
        return self.git("rev-parse", "HEAD")

    def remote_sha(self, branch: str) -> str | None:
        """``refs/heads/BRANCH`` in the project's bare repository on the sandbox side."""
        proc = subprocess.run(
            ["git", "--git-dir", str(self.project.repo_path), "rev-parse", "--verify", "-q",
             f"refs/heads/{branch}"],
            capture_output=True, text=True, check=False, env=self.demo.env,
        )  # fmt: skip
        return proc.stdout.strip() or None

    def gl(self) -> gitlab.Gitlab:
        return gitlab.Gitlab(self.sandbox.url, private_token=self.sandbox.token)

    def api_project(self) -> Any:
        return self.gl().projects.get(self.project.id)

    def log_since(self, mark: int) -> list[RequestRecord]:
        return self.sandbox.request_log[mark:]


MakeMaintainer = Callable[..., Maintainer]
