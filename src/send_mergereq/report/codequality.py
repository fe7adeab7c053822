"""The Code Quality report: GitLab's subset of the CodeClimate issue format.

One entry per finding, with exactly the fields GitLab reads: ``description``,
``check_name``, ``fingerprint``, ``severity`` (GitLab's ``info``, ``minor``,
``major``, ``critical``, ``blocker``) and ``location`` (``path``, ``lines.begin``).
A finding is about a commit, not a file: ``location.path`` is ``commit/<id>``.
The fingerprint is the SHA-256 of commit, check and message (plus an occurrence
number should one commit get the same message twice): stable from run to run,
unique within a report, so GitLab can tell new findings from fixed ones.
Written entry by entry, at most ``LIMIT`` of them, then one ``info`` entry saying how
many more findings there are (the job's log has them all).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from send_mergereq.checks.finding import Finding, Severity
from send_mergereq.report import CheckReport

SEVERITIES = {Severity.ERROR: "major", Severity.WARNING: "minor"}
LIMIT = 10_000  # entries per report, written one at a time


def fingerprint(finding: Finding, occurrence: int = 0) -> str:
    key = "\0".join((finding.commit, finding.check, finding.message, str(occurrence)))
    return hashlib.sha256(key.encode("utf-8", errors="surrogateescape")).hexdigest()


def issues(report: CheckReport) -> Iterator[dict[str, Any]]:
    """One entry per finding, in the report's order (produced one at a time)."""
    seen: dict[str, int] = {}
    for f in report.findings:
        base = fingerprint(f)
        occurrence = seen[base] = seen.get(base, -1) + 1
        subject = report.subjects.get(f.commit, "")
        hint = f" Fix: {f.hint}" if f.hint else ""
        yield {
            "description": f'{f.commit[:12]} "{subject}": {f.message}.{hint}',
            "check_name": f.check,
            "fingerprint": fingerprint(f, occurrence) if occurrence else base,
            "severity": SEVERITIES.get(f.severity, "info"),
            "location": {"path": f"commit/{f.commit}", "lines": {"begin": 1}},
        }


def write(report: CheckReport, repo: Path, out: TextIO) -> list[str]:
    """Write the report to ``out``, entry by entry; at most ``LIMIT`` findings, then one
    entry saying how many more there are. Return what was left out, one line each."""
    del repo  # every finding already carries what the report needs
    out.write("[")
    written = 0
    for entry in issues(report):
        if written == LIMIT:
            break
        out.write(("\n" if not written else ",\n") + _indented(entry))
        written += 1
    more = len(report.findings) - written
    if more:
        tip = report.range.branch_sha
        rest = {
            "description": f"{more:,} more findings not listed (this report lists at most "
            f"{LIMIT:,}); the job's log has every finding",
            "check_name": "send-mergereq",
            "fingerprint": hashlib.sha256(f"more\0{tip}\0{more}".encode()).hexdigest(),
            "severity": "info",
            "location": {"path": f"commit/{tip}", "lines": {"begin": 1}},
        }
        out.write(",\n" + _indented(rest))
    out.write("\n]\n" if written else "]\n")
    if not more:
        return []
    return [f"at most {LIMIT:,} findings listed: {more:,} more left out, said in one last entry"]


def _indented(entry: dict[str, Any]) -> str:
    text = json.dumps(entry, indent=2, ensure_ascii=False)
    return "\n".join("  " + line for line in text.split("\n"))
