"""The JUnit report: one test case per commit and check, as GitLab's parser reads it.

``testsuites`` > one ``testsuite`` per enabled check > one ``testcase`` per commit
of the range (``classname`` the check, ``name`` the short id and subject). An error
finding is a ``failure`` (``message``: the finding; text: the hint); a warning
leaves the case passing and is said in ``system-out``; a finding exempt by policy
makes the case ``skipped`` with the rule. The commits come from one ``git log``
over the range (ids and subjects only), in the range's order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from send_mergereq import git
from send_mergereq.checks.finding import Finding, Severity
from send_mergereq.report import CheckReport

# characters XML 1.0 cannot carry at all (a subject is untrusted bytes)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value))


def _attr(value: str) -> str:
    return quoteattr(_NOT_XML.sub("\ufffd", value))


def range_commits(report: CheckReport, repo: Path) -> Iterator[tuple[str, str]]:
    """``(id, subject)`` of every commit of the report's range, in rev-list order."""
    rng = report.range
    listed = git.output(repo, "log", "--format=%H %s", rng.branch_sha, f"^{rng.target_sha}")
    for line in listed.decode("utf-8", errors="replace").splitlines():
        sha, _, subject = line.partition(" ")
        yield sha, subject


def _case(check: str, sha: str, subject: str, found: list[Finding], skipped: str) -> str:
    name = _attr(f"{sha[:12]} {subject}")
    head = f'    <testcase classname={_attr(check)} name={name} file="commit/{sha}">'
    errors = [f for f in found if f.severity is Severity.ERROR]
    body = []
    if errors:
        message = "; ".join(f.message for f in errors)
        hints = "\n".join(dict.fromkeys(f.hint for f in errors if f.hint))
        body.append(
            f'      <failure type="error" message={_attr(message)}>{_text(hints)}</failure>'
        )
    elif skipped:
        body.append(f"      <skipped message={_attr(skipped)}/>")
    others = [f for f in found if f.severity is not Severity.ERROR]
    if others:
        said = "\n".join(
            f"{f.severity}: {f.message}" + (f"\n  -> {f.hint}" if f.hint else "") for f in others
        )
        body.append(f"      <system-out>{_text(said)}</system-out>")
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


def render(report: CheckReport, repo: Path) -> str:
    checks = list(dict.fromkeys([*report.checks, *(f.check for f in report.findings)]))
    found: dict[tuple[str, str], list[Finding]] = {}
    for f in report.findings:
        found.setdefault((f.commit, f.check), []).append(f)
    exempt = {
        (sha, rule.check): f"exempt by policy: {rule.describe()} ({rule.source})"
        for sha, rule in report.exempted
    }
    commits = list(range_commits(report, repo))
    properties = _properties(report)
    suites, total, failures, skips = [], 0, 0, 0
    for check in checks:
        cases = [
            _case(check, sha, subject, found.get((sha, check), []), exempt.get((sha, check), ""))
            for sha, subject in commits
        ]
        failed = sum("<failure " in case for case in cases)
        skipped = sum("<skipped " in case for case in cases)
        total, failures, skips = total + len(cases), failures + failed, skips + skipped
        suites.append(
            f'  <testsuite name={_attr(check)} tests="{len(cases)}" failures="{failed}" '
            f'errors="0" skipped="{skipped}">\n'
            + properties
            + "\n".join(cases)
            + "\n  </testsuite>"
        )
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name={_attr("send-mergereq " + report.range.spec)} tests="{total}" '
        f'failures="{failures}" errors="0" skipped="{skips}">'
    )
    return "\n".join([head, *suites, "</testsuites>"]) + "\n"
