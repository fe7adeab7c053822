"""Job logs shaped like a gitlab-runner's: ANSI colours and ``section_start``/``section_end``."""

from __future__ import annotations

import zlib

from send_mergereq.sandbox.state import Job

ERASE = "\x1b[0K"
RESET = "\x1b[0;m"
BOLD_CYAN = "\x1b[36;1m"
BOLD_GREEN = "\x1b[32;1m"
BOLD_RED = "\x1b[31;1m"
IMAGE = "registry.example/ci/build-env:latest"


def _section(name: str, stamp: int, header: str, lines: list[str]) -> list[str]:
    start = f"section_start:{stamp}:{name}\r{ERASE}{ERASE}{BOLD_CYAN}{header}{RESET}{RESET}"
    return [start, *lines, f"section_end:{stamp + 1}:{name}\r{ERASE}"]


def _preamble(stamp: int) -> list[str]:
    return [
        f"{ERASE}Running with gitlab-runner 17.5.0 (8a5e2b5c){RESET}",
        f"{ERASE}  on sandbox-runner-1 sbxR1x2y3, system ID: s_5a4db0c0ffee{RESET}",
        *_section(
            "prepare_executor",
            stamp,
            'Preparing the "docker" executor',
            [
                f"{ERASE}Using Docker executor with image {IMAGE} ...{RESET}",
            ],
        ),
        *_section(
            "get_sources",
            stamp + 2,
            "Getting source from Git repository",
            [
                f"{BOLD_GREEN}Fetching changes with git depth set to 20...{RESET}",
                "Initialized empty Git repository in /builds/sandbox/.git/",
                f"{BOLD_GREEN}Created fresh repository.{RESET}",
            ],
        ),
    ]


DEFAULT_TREE_LOG = """\
../{path}:{line}:5: error: implicit declaration of function 'qemu_sandbox_broken'
ninja: build stopped: subcommand failed.
"""


def tree_log(job: Job) -> str:
    """The log of a job that the tested tree decides: the spec's log (or a compiler's)
    naming the matched path, with a line number that is stable for that path."""
    if job.tree_path is None:
        return ""
    line = 1 + zlib.crc32(job.tree_path.encode()) % 400
    text = job.spec.log or DEFAULT_TREE_LOG
    return text.replace("{path}", job.tree_path).replace("{line}", str(line))


def _script_lines(job: Job, progress: float) -> list[str]:
    log = tree_log(job) if job.spec.fails_if_path is not None else job.spec.log
    body = log.rstrip("\n").splitlines() if log else []
    if not body:
        body = [f"[{job.name}] step {n}/4 ok" for n in range(1, 5)]
        if job.will_fail:
            body[-1] = f"[{job.name}] step 4/4 FAILED"
    shown = body if progress >= 1 else body[: int(len(body) * progress)]
    return [f"{BOLD_GREEN}$ {job.spec.script}{RESET}", *shown]


def render_trace(job: Job, now: float, wall0: float) -> str:
    """The log so far: empty before the job starts, partial while it runs, whole at the end."""
    if job.started_at is None:
        return ""
    stamp = int(wall0 + job.started_at)
    duration = job.spec.duration or 1
    end = job.finished_at if job.finished_at is not None else now
    progress = min(1.0, (end - job.started_at) / duration)
    lines = _preamble(stamp)
    script = _script_lines(job, progress)
    if job.finished_at is None:
        return "\n".join([*lines, *script]) + "\n"
    lines += _section(
        "step_script", stamp + 4, 'Executing "step_script" stage of the job script', script
    )
    lines += _section(
        "cleanup_file_variables",
        stamp + 6,
        "Cleaning up project directory and file based variables",
        [],
    )
    if job.status == "failed":
        lines.append(f"{BOLD_RED}ERROR: Job failed: exit code 1\n{RESET}")
    elif job.status == "canceled":
        lines.append(f"{BOLD_RED}ERROR: Job failed: canceled{RESET}")
    else:
        lines.append(f"{BOLD_GREEN}Job succeeded{RESET}")
    return "\n".join(lines) + "\n"
