"""The JUnit report: test cases per commit and check, as GitLab's parser reads it.

``testsuites`` > one ``testsuite`` per enabled check > the commits of the range, in
the range's order (``classname`` the check, ``name`` the short id and subject). Every
error finding is one ``failure`` test case (``message``: the finding; text: the hint):
a commit with two errors in one check is two cases, named ``… (1 of 2)`` and ``… (2
of 2)`` (GitLab counts cases by classname and name). A commit without an error is
one case: a warning leaves it passing and is said in ``system-out``; a finding exempt
by policy makes it ``skipped`` with the rule.

Bounded: a range of more than ``LIMIT`` commits lists, per check, only the commits
with something to say (never read from git whole: ``git log`` would hold every commit of
a million in memory to say its subject), and a check lists at most ``LIMIT`` cases;
what is left out is one last case of the suite (failing when any of it fails) and a note
for the terminal. A short range's commits come from one ``git log`` (ids and subjects).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO
from xml.sax.saxutils import escape, quoteattr

from send_mergereq import git
from send_mergereq.checks.finding import Finding, Severity
from send_mergereq.report import CheckReport

LIMIT = 10_000  # test cases per check (GitLab.com parses at most 500,000 per report)

# characters XML 1.0 cannot carry at all (a subject is untrusted bytes)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value))


def _attr(value: str) -> str:
    return quoteattr(_NOT_XML.sub("\ufffd", value))


def range_commits(report: CheckReport, repo: Path) -> Iterator[tuple[str, str]]:
    """``(id, subject)`` of every commit of the report's range, in rev-list order."""
    return git.range_subjects(repo, report.range.branch_sha, report.range.target_sha)


def _cases(check: str, sha: str, subject: str, found: list[Finding], skipped: str) -> list[str]:
    """The test cases of one commit for one check: one per error finding, else one."""
    title = f"{sha[:12]} {subject}"
    errors = [f for f in found if f.severity is Severity.ERROR]
    others = [f for f in found if f.severity is not Severity.ERROR]
    out = ""
    if others:
        said = "\n".join(
            f"{f.severity}: {f.message}" + (f"\n  -> {f.hint}" if f.hint else "") for f in others
        )
        out = f"      <system-out>{_text(said)}</system-out>"
    if not errors:
        body = [f"      <skipped message={_attr(skipped)}/>"] if skipped else []
        return [_case(check, title, sha, [*body, out] if out else body)]
    cases = []
    for n, f in enumerate(errors, 1):
        name = title if len(errors) == 1 else f"{title} ({n} of {len(errors)})"
        body = [f'      <failure type="error" message={_attr(f.message)}>{_text(f.hint)}</failure>']
        cases.append(_case(check, name, sha, [*body, out] if out and n == 1 else body))
    return cases


def _case(check: str, name: str, sha: str, body: list[str]) -> str:
    where = f' file="commit/{sha}"' if sha else ""
    head = f"    <testcase classname={_attr(check)} name={_attr(name)}{where}>"
    if not body:
        return head[:-1] + "/>"
    return "\n".join([head, *body, "    </testcase>"])


def _properties(report: CheckReport) -> str:
    """Where the policy was read from, as each suite's ``properties`` (GitLab shows none
    of them; a reader of the file finds it there)."""
    if report.policy is None:
        return ""
    said = [("send-mergereq.policy", report.policy.line().removeprefix("policy: "))]
    rows = "".join(f"      <property name={_attr(k)} value={_attr(v)}/>\n" for k, v in said)
    return f"    <properties>\n{rows}    </properties>\n"


@dataclass
class _Suite:
    """One check's cases as written, and what was left out of it."""

    check: str
    cases: list[str] = field(default_factory=list)
    failures: int = 0
    skipped: int = 0
    cut: int = 0  # commits with something to say, past LIMIT cases
    cut_failures: int = 0  # error findings among them
    quiet: int = 0  # commits with nothing to say, not listed (a range of more than LIMIT)

    def add(self, cases: list[str]) -> None:
        failures = sum("<failure " in case for case in cases)
        if len(self.cases) + len(cases) > LIMIT:
            self.cut, self.cut_failures = self.cut + 1, self.cut_failures + failures
            return
        self.cases += cases
        self.failures += failures
        self.skipped += sum("<skipped " in case for case in cases)

    def rest(self) -> str | None:
        """The last case, saying what was left out; None when nothing was."""
        if not self.cut and not self.quiet:
            return None
        why = []
        if self.quiet:
            why.append(f"{self.quiet:,} without findings")
        if self.cut:
            why.append(f"{self.cut:,} past {LIMIT:,} test cases")
        name = f"({self.cut + self.quiet:,} more commits not listed: {', '.join(why)})"
        if self.cut_failures:
            message = (
                f"{self.cut_failures:,} more failures of {self.check} not listed; "
                "the job's log has every finding"
            )
            return _case(
                self.check, name, "", [f'      <failure type="error" message={_attr(message)}/>']
            )
        return _case(self.check, name, "", [])

    def counts(self) -> tuple[int, int, int]:
        """``tests``, ``failures``, ``skipped`` as written (the last case included)."""
        more = self.rest() is not None
        return len(self.cases) + more, self.failures + bool(self.cut_failures), self.skipped


def write(report: CheckReport, repo: Path, out: TextIO) -> list[str]:
    """Write the report to ``out``; return what was left out, one line each (none when the
    report lists everything)."""
    checks = list(dict.fromkeys([*report.checks, *(f.check for f in report.findings)]))
    found: dict[tuple[str, str], list[Finding]] = {}
    for f in report.findings:
        found.setdefault((f.commit, f.check), []).append(f)
    exempt = {
        (sha, rule.check): f"exempt by policy: {rule.describe()} ({rule.source})"
        for sha, rule in report.exempted
    }
    every = report.commits <= LIMIT
    if every:  # a short range: every commit of it, from one git log
        commits = list(range_commits(report, repo))
        total = len(commits)
    else:  # never listed whole: git would hold every commit of it to say each subject
        total = report.commits
        commits = _flagged(report, found, exempt, checks, repo)
    properties = _properties(report)
    suites = []
    for check in checks:
        suite = _Suite(check)
        listed = 0
        for sha, subject in commits:
            key = (sha, check)
            if every or key in found or key in exempt:
                listed += 1
                suite.add(_cases(check, sha, subject, found.get(key, []), exempt.get(key, "")))
        suite.quiet = total - listed
        suites.append(suite)
    counts = [suite.counts() for suite in suites]
    out.write(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<testsuites name={_attr('send-mergereq ' + report.range.spec)} "
        f'tests="{sum(c[0] for c in counts)}" failures="{sum(c[1] for c in counts)}" '
        f'errors="0" skipped="{sum(c[2] for c in counts)}">\n'
    )
    for suite, (tests, failures, skipped) in zip(suites, counts, strict=True):
        out.write(
            f'  <testsuite name={_attr(suite.check)} tests="{tests}" '
            f'failures="{failures}" errors="0" skipped="{skipped}">\n' + properties
        )
        for case in suite.cases:
            out.write(case + "\n")
        rest = suite.rest()
        if rest is not None:
            out.write(rest + "\n")
        out.write("  </testsuite>\n")
    out.write("</testsuites>\n")
    return _notes(suites, total, every)


def _flagged(
    report: CheckReport,
    found: dict[tuple[str, str], list[Finding]],
    exempt: dict[tuple[str, str], str],
    checks: list[str],
    repo: Path,
) -> list[tuple[str, str]]:
    """``(id, subject)`` of the commits with findings, in the range's order, then those
    only exempted; subjects from the report, else asked of git for the commits a suite may
    list (at most ``LIMIT`` per check: each is one case or more); the others stay ""."""
    order = list(dict.fromkeys([f.commit for f in report.findings]))
    with_findings = set(order)
    order += [sha for sha in dict.fromkeys(sha for sha, _ in report.exempted)
              if sha not in with_findings]  # fmt: skip
    listable: set[str] = set()
    for check in checks:
        mine = [sha for sha in order if (sha, check) in found or (sha, check) in exempt]
        listable.update(mine[:LIMIT])
    missing = [sha for sha in order if sha in listable and sha not in report.subjects]
    subjects = {**git.subjects(repo, missing), **report.subjects} if missing else report.subjects
    return [(sha, subjects.get(sha, "")) for sha in order]


def _notes(suites: list[_Suite], total: int, every: bool) -> list[str]:
    notes = []
    if not every:
        notes.append(
            f"the range has {total:,} commits (more than {LIMIT:,}): only the commits with "
            "findings are listed, each check's others counted in one last test case"
        )
    cut = [s for s in suites if s.cut]
    if cut:
        said = ", ".join(f"{s.check} {s.cut:,} ({s.cut_failures:,} failing)" for s in cut)
        notes.append(f"at most {LIMIT:,} test cases per check; commits left out: {said}")
    return notes
