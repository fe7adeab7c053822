"""The Code Quality report: GitLab's subset of the CodeClimate issue format.

One entry per finding, with exactly the fields GitLab reads: ``description``,
``check_name``, ``fingerprint``, ``severity`` (GitLab's ``info``, ``minor``,
``major``, ``critical``, ``blocker``) and ``location`` (``path``, ``lines.begin``).
A finding is about a commit, not a file: ``location.path`` is ``commit/<id>``.
The fingerprint is the SHA-256 of commit, check and message (plus an occurrence
number should one commit get the same message twice): stable from run to run,
unique within a report, so GitLab can tell new findings from fixed ones.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from send_mergereq.checks.finding import Finding, Severity
from send_mergereq.report import CheckReport

SEVERITIES = {Severity.ERROR: "major", Severity.WARNING: "minor"}


def fingerprint(finding: Finding, occurrence: int = 0) -> str:
    key = "\0".join((finding.commit, finding.check, finding.message, str(occurrence)))
    return hashlib.sha256(key.encode("utf-8", errors="surrogateescape")).hexdigest()


def issues(report: CheckReport) -> list[dict[str, Any]]:
    seen: dict[str, int] = {}
    found = []
    for f in report.findings:
        base = fingerprint(f)
        occurrence = seen[base] = seen.get(base, -1) + 1
        subject = report.subjects.get(f.commit, "")
        hint = f" Fix: {f.hint}" if f.hint else ""
        found.append(
            {
                "description": f'{f.commit[:12]} "{subject}": {f.message}.{hint}',
                "check_name": f.check,
                "fingerprint": fingerprint(f, occurrence) if occurrence else base,
                "severity": SEVERITIES.get(f.severity, "info"),
                "location": {"path": f"commit/{f.commit}", "lines": {"begin": 1}},
            }
        )
    return found


def render(report: CheckReport, repo: Path) -> str:
    del repo  # every finding already carries what the report needs
    return json.dumps(issues(report), indent=2, ensure_ascii=False) + "\n"
