from __future__ import annotations

import io
import json

import pytest

from send_mergereq.checks.finding import Finding, Severity
from send_mergereq.errors import ExitCode
from send_mergereq.history import CommitRange
from send_mergereq.output import Output
from send_mergereq.report import CheckReport, render_plain, render_rich, to_json

RANGE = CommitRange("origin/master", "staging", "1" * 40, "2" * 40)
A, B = "a" * 40, "b" * 40
FINDINGS = (
    Finding("signoff", Severity.ERROR, A, "no Signed-off-by from the author", "ask for one"),
    Finding("utf8", Severity.WARNING, A, "legacy encoding", "recommit"),
    Finding("list-address", Severity.ERROR, B, "the list is the author", "fix it"),
)


def report(findings: tuple[Finding, ...] = FINDINGS) -> CheckReport:
    return CheckReport(RANGE, 7, 2, findings, {A: "Fix a [bug]", B: "Add b"}, "qemu")


def test_exit_code_and_verdict() -> None:
    assert report().exit_code is ExitCode.CHECKS_FAILED
    assert report().verdict == "checks_failed"
    warn_only = report(FINDINGS[1:2])
    assert (warn_only.exit_code, warn_only.verdict) == (ExitCode.OK, "checks_passed")
    assert report(()).exit_code is ExitCode.OK


def test_json_document() -> None:
    doc = to_json(report())
    assert doc["verdict"] == "checks_failed" and doc["exit_code"] == 3
    assert doc["range"] == {
        "target": "origin/master",
        "branch": "staging",
        "target_sha": "1" * 40,
        "branch_sha": "2" * 40,
    }
    assert (doc["commits"], doc["merges"], doc["errors"], doc["warnings"]) == (7, 2, 2, 1)
    first = doc["findings"][0]
    assert first == {
        "check": "signoff",
        "severity": "error",
        "commit": A,
        "subject": "Fix a [bug]",
        "message": "no Signed-off-by from the author",
        "hint": "ask for one",
        "kind": "",
        "about": "",
    }
    json.dumps(doc)  # serialisable as is


def test_plain_is_grouped_by_commit_without_ansi() -> None:
    out = io.StringIO()
    render_plain(report(), out)
    text = out.getvalue()
    assert "\x1b[" not in text
    lines = text.splitlines()
    assert lines[0] == f"{A[:12]} Fix a [bug]"
    assert lines[1] == "  error: [signoff] no Signed-off-by from the author"
    assert lines[2] == "    -> ask for one"
    assert lines[5] == f"{B[:12]} Add b"
    assert lines[-1] == (
        "checks FAILED: 7 commits (2 merges) in origin/master..staging, 2 errors, 1 warning "
        "(profile qemu)"
    )


def test_rich_uses_colour_when_forced_and_keeps_brackets() -> None:
    out = io.StringIO()
    render_rich(report(), out, color=True)
    text = out.getvalue()
    assert "\x1b[" in text
    assert "[signoff]" in text and "Fix a [bug]" in text


def test_rich_honours_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    render_rich(report(), out)
    assert "\x1b[3" not in out.getvalue() and "[signoff]" in out.getvalue()


def test_report_json_keeps_stdout_pure(capsys: pytest.CaptureFixture[str]) -> None:
    Output(as_json=True).report(report())
    captured = capsys.readouterr()
    assert json.loads(captured.out)["verdict"] == "checks_failed"
    assert "checks FAILED" in captured.err


def test_report_plain_when_piped(capsys: pytest.CaptureFixture[str]) -> None:
    Output().report(report(()))
    captured = capsys.readouterr()
    assert captured.out.startswith("checks passed: 7 commits") and captured.err == ""


def test_control_characters_from_commits_never_reach_the_terminal() -> None:
    """A subject or author name is the submitter's bytes: an escape sequence in it must not
    clear the screen (and hide the findings) or recolour the report."""
    junk = Finding(
        "signoff", Severity.ERROR, A, "no sign-off from Jane \x1b[31mRed\x00", "ask \x07"
    )
    bad = CheckReport(RANGE, 1, 0, (junk,), {A: "subject \x1b[2J\x1b[H cleared \x9b"}, "qemu")
    for render in (render_plain, lambda r, o: render_rich(r, o, color=False)):
        out = io.StringIO()
        render(bad, out)
        text = out.getvalue()
        assert not any((ch < " " and ch != "\n") or "\x7f" <= ch <= "\x9f" for ch in text), text
        assert "subject \\x1b[2J\\x1b[H cleared \\x9b" in text
        assert "Jane \\x1b[31mRed\\x00" in text
    assert to_json(bad)["findings"][0]["subject"] == "subject \x1b[2J\x1b[H cleared \x9b"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_color_on_a_terminal_writes_no_escape_codes_at_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """NO_COLOR: not even bold (rich drops only the colours); --color still wins."""
    monkeypatch.setenv("NO_COLOR", "1")
    out = _Terminal()
    Output(stdout=out).report(report())
    assert "\x1b" not in out.getvalue() and "[signoff]" in out.getvalue()
    forced = _Terminal()
    Output(color=True, stdout=forced).report(report())
    assert "\x1b[" in forced.getvalue()
    monkeypatch.setenv("NO_COLOR", "")  # empty: not set (no-color.org)
    plain_env = _Terminal()
    Output(stdout=plain_env).report(report())
    assert "\x1b[" in plain_env.getvalue()
