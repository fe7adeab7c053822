"""Text for people: durations, and job logs cleaned of ANSI codes and GitLab's section markers.

A log tail keeps what the job's own script printed: gitlab-runner's own sections
(preparing the executor, fetching sources, caches, artifacts, cleanup: ``RUNNER_SECTIONS``)
are skipped, and so is the runner's banner before the first section. What is left has its
colour (SGR) and OSC sequences removed and every other control character but tab escaped
(``\\x1b``, ``\\x9b``, ``\\x07``, ``\\x08``…): a log cannot reset, redraw or retitle the
terminal. A carriage return inside a line is shown (``red\\rOVERWRITE``), not applied: what
a line wrote before it is not hidden (a progress bar shows its steps); one ending a line
is dropped.
"""

from __future__ import annotations

import re

from send_mergereq.errors import redact
from send_mergereq.terminal import visible

# GitLab's collapsible sections: "section_start:1700000000:name[opts]\r\x1b[0K" and section_end.
_SECTION = re.compile(
    r"section_(?:start|end):\d+:[A-Za-z0-9_.\-]+(?:\[[^\]\r\n]*\])?\r?(?:\x1b\[0K)?"
)
_MARKER = re.compile(r"section_(start|end):\d+:([A-Za-z0-9_.\-]+)")
RUNNER_SECTIONS = re.compile(
    r"prepare_executor|prepare_script|get_sources|clear_worktree|restore_cache|archive_cache"
    r"|archive_cache_on_failure|download_artifacts|upload_artifacts_on_(?:success|failure)"
    r"|cleanup_file_variables|resolve_secrets|cleanup_.*"
)
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def format_duration(seconds: float | None) -> str:
    """``45s``, ``3m12s``, ``1h02m``; empty for None."""
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def log_tail(text: str, lines: int) -> str:
    """The last ``lines`` non-blank-ended lines of a job log, cleaned and redacted.

    Only the end of a long log is looked at, so a huge log costs no more than a short one.
    """
    if lines <= 0:
        return ""
    budget = 512 * lines + 65536
    whole = len(text) <= budget
    if not whole:
        text = text[-budget:].split("\n", 1)[-1]
    tail = _clean_lines(_script_only(text, whole=whole))
    while tail and not tail[-1].strip():
        tail.pop()
    return redact("\n".join(tail[-lines:]))


def _script_only(text: str, *, whole: bool) -> str:
    """``text`` without gitlab-runner's own sections (and, when ``whole``, without its banner
    before the first section): what is left is the job script's output and the outcome."""
    if "section_start:" not in text:
        return text
    kept: list[str] = []
    skipping: list[str] = []  # the runner sections we are inside
    started = not whole
    for line in text.split("\n"):
        marker = _MARKER.search(line)
        if marker is None:
            if started and not skipping:
                kept.append(line)
            continue
        started = True
        kind, name = marker.groups()
        if RUNNER_SECTIONS.fullmatch(name):
            if kind == "start":
                skipping.append(name)
            elif name in skipping:
                skipping.remove(name)
            continue
        if kind == "start" and not skipping:
            kept.append(line)  # the header of one of the job's own sections
    return "\n".join(kept)


def _clean_lines(text: str) -> list[str]:
    text = _SECTION.sub("", text).replace("\r\n", "\n")
    return [_shown(_ANSI.sub("", line.rstrip("\r"))) for line in text.split("\n")]


def _shown(line: str) -> str:
    """``line`` with every control character but tab escaped (``visible``)."""
    return "\t".join(visible(part) for part in line.split("\t"))
