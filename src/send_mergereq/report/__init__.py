"""The outcome of the check phase, and its renderings: rich, plain text, JSON.

``CheckReport`` is a value; ``to_json`` builds the document (later phases add
``merge_request``, ``pipeline`` and ``jobs`` keys to it); ``render_plain`` and
``render_rich`` write the human report. Nothing here decides where output goes.
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from send_mergereq.checks.exemptions import ExemptCount, Exemption
from send_mergereq.checks.finding import Finding, Severity
from send_mergereq.errors import ExitCode
from send_mergereq.history import CommitRange
from send_mergereq.terminal import visible

if TYPE_CHECKING:  # the digest: imported when a report says one (5 findings or more, --json)
    from send_mergereq.report import digest as digests


@dataclass(frozen=True)
class Policy:
    """Where the run's policy was read from: ``REV:.send-mergereq.toml``, the commit it
    named, whether the file was there, and why that branch (when a CI job chose it)."""

    file: str
    commit: str = ""
    found: bool = False
    why: str = ""

    def line(self) -> str:
        where = f"{self.file}" + (f" at {self.commit[:12]}" if self.commit else "")
        said = where if self.found else f"none in {where}: the profile alone"
        return f"policy: {said}" + (f", from {self.why}" if self.why else "")

    def document(self) -> dict[str, Any]:
        return {"file": self.file, "commit": self.commit, "found": self.found, "why": self.why}


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
    policy: Policy | None = None  # where .send-mergereq.toml was read from

    @functools.cached_property
    def errors(self) -> int:
        """(Counted once: the report and its document ask it several times; u-boot's
        history has 5,448 findings.)"""
        return sum(f.severity is Severity.ERROR for f in self.findings)

    @functools.cached_property
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

    def digest(self) -> digests.Digest:
        """Built once: the text report and the JSON document both say it (u-boot's
        history: 16 ms each time)."""
        from send_mergereq.report import digest as digests

        built = self.__dict__.get("_digest")
        if not isinstance(built, digests.Digest):
            built = digests.build(self.findings, self.subjects, self.checks)
            self.__dict__["_digest"] = built  # a cache, not a field: equality ignores it
        return built

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
    from send_mergereq.report import digest as digests

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
                "kind": f.kind,
                "about": f.about,
            }
            for f in report.findings
        ],
        "summary": digests.to_json(report.digest()),
        "policy": report.policy.document() if report.policy else None,
        "exit_code": int(report.exit_code),
    }


DIGEST_FROM = 5  # findings from which the human report ends with a digest


def _wrap(lead: int, text: str, width: int | None, hang: int) -> list[str]:
    """``text`` in lines for a ``width``-column screen (None: one line), after a ``lead``
    column prefix; continuation lines start at column ``hang`` (the caller indents them)."""
    if width is None or lead + len(text) <= width:
        return [text]
    hang = min(hang, max(width // 2, 4))
    wrapped = textwrap.wrap(
        text,
        width=max(width, hang + 20),
        initial_indent="x" * lead,
        subsequent_indent=" " * hang,
        break_long_words=False,
        break_on_hyphens=False,
    )
    if not wrapped:
        return [text]
    return [wrapped[0][lead:], *(line[hang:] for line in wrapped[1:])]


class _Row(NamedTuple):
    """One logical line of the human report: a prefix, then text that wraps with a hanging
    indent (continuation lines under the text, never at column 0 like a commit header).
    (A tuple: one for each finding, made in a third of a frozen dataclass's time.)"""

    prefix: str
    text: str
    hang: int
    style: str = ""  # "header", "error", "warning", "hint", "digest-title", ...
    check: str = ""  # the bracketed check id shown in the prefix (styled apart)
    wrap: bool = True  # False: a command, split only with shell line continuations


def _rows(report: CheckReport) -> Iterator[_Row]:
    """The report, line by line: findings grouped by commit, each hint said once (under
    its first finding; in a long report, only in the digest that ends it, one action per
    kind), the verdict last."""
    digest = len(report.findings) >= DIGEST_FROM
    said: set[str] = set()
    lead: dict[tuple[Severity, str], tuple[str, int, str]] = {}  # made once, not per finding
    for sha, findings in report.by_commit():
        yield _Row(f"{sha[:12]} ", visible(report.subjects.get(sha, "")), 13, "header")
        for f in findings:
            if (prefix_of := lead.get((f.severity, f.check))) is None:
                prefix = f"  {f.severity}: [{f.check}] "
                prefix_of = lead[f.severity, f.check] = (prefix, len(prefix), str(f.severity))
            prefix, hang, style = prefix_of
            yield _Row(prefix, visible(f.message), hang, style, f.check)
            if f.hint and not digest and f.hint not in said:
                said.add(f.hint)
                yield _Row("    -> ", visible(f.hint), 7, "hint")
    for exempt in report.exempt:
        yield _Row("", visible(exempt.describe()), 4, "dim")
    if digest:
        from send_mergereq.report import digest as digests

        for line in digests.lines(report.digest()):
            yield _Row(
                " " * line.indent,
                visible(line.text),
                line.indent + line.hang,
                line.style or "digest",
                wrap=not line.command,
            )
    if report.policy is not None and report.policy.why:  # a CI job chose the branch: say it
        yield _Row("", visible(report.policy.line()), 4, "dim")
    yield _Row("", report.summary(), 4, "verdict")


def _parts(row: _Row, width: int | None) -> list[str]:
    """A row's text in lines for ``width`` columns. A command is split as the shell reads
    it, each line but the last ending in `` \\``, so it still pastes whole."""
    if row.wrap or width is None:
        return _wrap(len(row.prefix), row.text, width, row.hang)
    parts = _wrap(len(row.prefix) + 2, row.text, width - 2, row.hang)
    return [part + " \\" for part in parts[:-1]] + parts[-1:]


def render_plain(report: CheckReport, out: IO[str], *, width: int | None = None) -> None:
    """The report as plain text, no colour; wrapped for a ``width``-column screen."""
    if width is None:  # a row a line (stderr under --json, a pipe): nothing to wrap
        out.write("".join([f"{row.prefix}{row.text}\n" for row in _rows(report)]))
        return
    lines = []
    for row in _rows(report):
        parts = _parts(row, width)
        lines.append(row.prefix + parts[0] + "\n")
        lines.extend(" " * row.hang + part + "\n" for part in parts[1:])
    out.write("".join(lines))  # one write: a long report is thousands of lines


_STYLES = {
    "error": "bold red",
    "warning": "yellow",
    "hint": "dim",
    "dim": "dim",
    "digest-title": "bold",
    "title": "bold",
    "count-error": "red",
    "count-warning": "yellow",
    "command": "bold",
}


def render_rich(
    report: CheckReport, out: IO[str], *, color: bool | None = None, width: int | None = None
) -> None:
    """The report with colour on a terminal (rich honours ``NO_COLOR`` itself)."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(
        file=out,
        highlight=False,
        force_terminal=True if color else None,
        no_color=True if color is False else None,
        width=width,
        soft_wrap=True,  # lines are wrapped here, with a hanging indent
    )
    wrap_at = width or (console.width if console.is_terminal else None)
    verdict = "bold green" if report.passed else "bold red"
    for row in _rows(report):
        parts = _parts(row, wrap_at)
        text_style = {"header": "bold", "verdict": verdict}.get(row.style, "")
        if row.style in ("error", "warning"):
            severity = row.prefix.strip().split(":")[0]
            prefix = f"  [{_STYLES[row.style]}]{severity}[/]: [magenta]\\[{escape(row.check)}][/] "
        elif row.style == "header":
            prefix = f"[bold cyan]{escape(row.prefix)}[/]"
        elif row.style == "hint":
            prefix, text_style = "[dim]    → [/]", "dim"
        else:
            prefix, text_style = escape(row.prefix), text_style or _STYLES.get(row.style, "")
        for n, part in enumerate(parts):
            lead = prefix if n == 0 else " " * row.hang
            body = f"[{text_style}]{escape(part)}[/]" if text_style else escape(part)
            console.print(lead + body)
