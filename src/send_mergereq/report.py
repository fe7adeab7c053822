"""The outcome of the check phase, and its renderings: rich, plain text, JSON.

``CheckReport`` is a value; ``to_json`` builds the document (later phases add
``merge_request``, ``pipeline`` and ``jobs`` keys to it); ``render_plain`` and
``render_rich`` write the human report. Nothing here decides where output goes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from send_mergereq.checks.encodings import visible
from send_mergereq.checks.exemptions import ExemptCount, Exemption
from send_mergereq.checks.finding import Finding, Severity
from send_mergereq.errors import ExitCode
from send_mergereq.history import CommitRange


@dataclass(frozen=True)
class CheckReport:
    range: CommitRange
    commits: int
    merges: int
    findings: tuple[Finding, ...]
    subjects: Mapping[str, str] = field(default_factory=dict)
    profile: str = "default"
    exempt: tuple[ExemptCount, ...] = ()  # findings dropped by policy, counted per rule
    exempted: tuple[tuple[str, Exemption], ...] = ()  # (commit id, rule) for each of them
    checks: tuple[str, ...] = ()  # the ids of the checks that ran (severity not off)

    @property
    def errors(self) -> int:
        return sum(f.severity is Severity.ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity is Severity.WARNING for f in self.findings)

    @property
    def passed(self) -> bool:
        return self.errors == 0

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.passed else ExitCode.CHECKS_FAILED

    @property
    def verdict(self) -> str:
        return "checks_passed" if self.passed else "checks_failed"

    def by_commit(self) -> Iterator[tuple[str, list[Finding]]]:
        """Findings grouped by commit, in range order."""
        groups: dict[str, list[Finding]] = {}
        for finding in self.findings:
            groups.setdefault(finding.commit, []).append(finding)
        yield from groups.items()

    def summary(self) -> str:
        merges = f" ({self.merges} merge{'s' if self.merges != 1 else ''})" if self.merges else ""
        counted = f"{self.commits} commit{'s' if self.commits != 1 else ''}{merges}"
        outcome = f"{self.errors} error{'s' if self.errors != 1 else ''}, " + (
            f"{self.warnings} warning{'s' if self.warnings != 1 else ''}"
        )
        word = "passed" if self.passed else "FAILED"
        return f"checks {word}: {counted} in {self.range.spec}, {outcome} (profile {self.profile})"


def to_json(report: CheckReport) -> dict[str, Any]:
    """The JSON document for ``--json``; later phases add their own keys to it."""
    rng = report.range
    return {
        "verdict": report.verdict,
        "range": {
            "target": rng.target,
            "branch": rng.branch,
            "target_sha": rng.target_sha,
            "branch_sha": rng.branch_sha,
        },
        "profile": report.profile,
        "commits": report.commits,
        "merges": report.merges,
        "errors": report.errors,
        "warnings": report.warnings,
        "exempt": [
            {
                "check": e.rule.check,
                "rule": e.rule.describe(),
                "source": e.rule.source,
                "commits": e.commits,
                "merges": e.merges,
            }
            for e in report.exempt
        ],
        "findings": [
            {
                "check": f.check,
                "severity": str(f.severity),
                "commit": f.commit,
                "subject": report.subjects.get(f.commit, ""),
                "message": f.message,
                "hint": f.hint,
            }
            for f in report.findings
        ],
        "exit_code": int(report.exit_code),
    }


def render_plain(report: CheckReport, out: IO[str]) -> None:
    """The report as plain text, no colour, grouped by commit."""
    for sha, findings in report.by_commit():
        out.write(f"{sha[:12]} {visible(report.subjects.get(sha, ''))}\n")
        for f in findings:
            out.write(f"  {f.severity}: [{f.check}] {visible(f.message)}\n")
            if f.hint:
                out.write(f"    -> {visible(f.hint)}\n")
    for exempt in report.exempt:
        out.write(visible(exempt.describe()) + "\n")
    out.write(report.summary() + "\n")


def render_rich(report: CheckReport, out: IO[str], *, color: bool | None = None) -> None:
    """The report with colour on a terminal (rich honours ``NO_COLOR`` itself)."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(
        file=out,
        highlight=False,
        force_terminal=True if color else None,
        no_color=True if color is False else None,
    )
    styles = {Severity.ERROR: "bold red", Severity.WARNING: "yellow"}
    for sha, findings in report.by_commit():
        subject = escape(visible(report.subjects.get(sha, "")))
        console.print(f"[bold cyan]{sha[:12]}[/] [bold]{subject}[/]")
        for f in findings:
            style = styles.get(f.severity, "")
            message = escape(visible(f.message))
            console.print(f"  [{style}]{f.severity}[/]: [magenta]\\[{f.check}][/] {message}")
            if f.hint:
                console.print(f"    [dim]→ {escape(visible(f.hint))}[/]")
    for exempt in report.exempt:
        console.print(f"[dim]{escape(visible(exempt.describe()))}[/]")
    verdict_style = "bold green" if report.passed else "bold red"
    console.print(f"[{verdict_style}]{escape(report.summary())}[/]")


def emit(
    report: CheckReport, *, as_json: bool, color: bool | None, stream: IO[str] | None = None
) -> None:
    """Write the report: JSON alone on stdout with ``--json`` (the human report then goes
    to stderr, or to ``stream``); rich on a terminal, plain text when piped, ``--no-color``
    or ``NO_COLOR``."""
    import json
    import os
    import sys

    human = stream or (sys.stderr if as_json else sys.stdout)
    no_color = bool(os.environ.get("NO_COLOR"))  # no styling at all, not just no colours
    if color or (color is None and human.isatty() and not no_color):
        render_rich(report, human, color=color)
    else:
        render_plain(report, human)
    human.flush()
    if as_json:
        sys.stdout.write(json.dumps(to_json(report), indent=2) + "\n")
        sys.stdout.flush()
