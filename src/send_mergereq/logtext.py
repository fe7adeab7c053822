"""Text for people: durations, and job logs cleaned of ANSI codes and GitLab's section markers."""

from __future__ import annotations

import re

from send_mergereq.errors import redact

# GitLab's collapsible sections: "section_start:1700000000:name[opts]\r\x1b[0K" and section_end.
_SECTION = re.compile(
    r"section_(?:start|end):\d+:[A-Za-z0-9_.\-]+(?:\[[^\]\r\n]*\])?\r?(?:\x1b\[0K)?"
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


def clean_log(text: str) -> str:
    """A job log as a terminal would show it: no section markers, no ANSI codes, no ``\\r``."""
    return "\n".join(_clean_lines(text))


def log_tail(text: str, lines: int) -> str:
    """The last ``lines`` non-blank-ended lines of a job log, cleaned and redacted.

    Only the end of a long log is looked at, so a huge log costs no more than a short one.
    """
    if lines <= 0:
        return ""
    budget = 512 * lines + 65536
    if len(text) > budget:
        text = text[-budget:].split("\n", 1)[-1]
    tail = _clean_lines(text)
    while tail and not tail[-1].strip():
        tail.pop()
    return redact("\n".join(tail[-lines:]))


def _clean_lines(text: str) -> list[str]:
    text = _SECTION.sub("", text).replace("\r\n", "\n")
    return [_ANSI.sub("", line.rstrip("\r").rsplit("\r", 1)[-1]) for line in text.split("\n")]
