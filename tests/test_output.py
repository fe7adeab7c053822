"""The one output funnel: where text goes, colour, the error line and its document."""

from __future__ import annotations

import io
import json

import pytest

from send_mergereq.errors import ExitCode
from send_mergereq.output import Output


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_human_text_goes_to_stderr_under_json() -> None:
    out, err = io.StringIO(), io.StringIO()
    Output(as_json=True, stdout=out, stderr=err).say("hello")
    Output(stdout=out, stderr=err).say("there")
    assert err.getvalue() == "hello\n" and out.getvalue() == "there\n"


def test_styled_follows_color_flag_then_no_color_then_the_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert Output().styled(_Terminal()) and not Output().styled(io.StringIO())
    assert Output(color=True).styled(io.StringIO())
    assert not Output(color=False).styled(_Terminal())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not Output().styled(_Terminal()) and Output(color=True).styled(_Terminal())
    monkeypatch.setenv("NO_COLOR", "")  # empty: not set (no-color.org)
    assert Output().styled(_Terminal())


def test_error_is_one_escaped_line_a_hint_and_with_json_the_document() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = Output(as_json=True, stdout=out, stderr=err).error(
        "bad \x1b[2Jref\nnext", "try\nthis", ExitCode.USAGE
    )
    assert code == 2
    assert err.getvalue() == "send-mergereq: bad \\x1b[2Jref next\nhint: try\nthis\n"
    doc = json.loads(out.getvalue())
    assert doc == {"verdict": "error", "exit_code": 2, "error": "bad \x1b[2Jref next",
                   "hint": "try\nthis"}  # fmt: skip


def test_error_without_json_leaves_stdout_alone() -> None:
    out, err = io.StringIO(), io.StringIO()
    Output(stdout=out, stderr=err).error("gone", None, ExitCode.GITLAB_OR_GIT)
    assert out.getvalue() == "" and err.getvalue() == "send-mergereq: gone\n"
