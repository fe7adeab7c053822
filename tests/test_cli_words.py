"""The words on the command line, tried as written: usage, a misspelt command, the
``--check`` and ``--timeout`` values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from send_mergereq.cli import Duration, run


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_bare_command_prints_the_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys)
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0] == "usage: send-mergereq BRANCH [--wait] [--land] [--dry-run] [OPTIONS]"
    for command in ("status", "check", "apply", "demo"):
        assert any(line.strip().startswith(f"send-mergereq {command}") for line in lines)
    assert lines[-1] == "hint: see 'send-mergereq --help'"
    assert "Exit codes" not in err and "Show the version" not in err  # not the whole help


@pytest.mark.parametrize(
    ("argv", "typo", "meant"),
    [(("stauts", "staging"), "stauts", "status"),
     (("-C", ".", "stauts", "staging", "--wait"), "stauts", "status"),
     (("chekc", "A..B"), "chekc", "check"), (("dmeo", "x"), "dmeo", "demo")],
)  # fmt: skip
def test_a_misspelt_command_says_what_was_meant(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], typo: str, meant: str
) -> None:
    code, _, err = _run(capsys, *argv)
    assert code == 2
    said = f"send-mergereq: no command {typo!r}: did you mean {meant!r}?"
    assert err.splitlines()[0] == said


def test_the_version_after_a_directory(capsys: pytest.CaptureFixture[str]) -> None:
    """``-C DIR --version`` says the version, as ``git -C DIR --version`` does (it went to
    the default command, which has no --version: exit 2)."""
    code, out, err = _run(capsys, "-C", ".", "--version")
    assert code == 0 and err == ""
    assert out.startswith("send-mergereq, version ")


@pytest.mark.parametrize(
    ("words", "offered"),
    [("send-mergereq st", ["status"]),  # a command's name, the first word
     ("send-mergereq ", ["apply", "bisect", "check", "demo", "eject", "jobs", "status",
                         "submit"]),
     ("send-mergereq staging --dr", ["--dry-run"]),  # a bare branch: submit's options
     ("send-mergereq status --targ", ["--target"])],
)  # fmt: skip
def test_the_shell_completes_commands_and_options(
    tmp_path: Path, words: str, offered: list[str]
) -> None:
    """click's completion (``_SEND_MERGEREQ_COMPLETE``) offers the commands by name: the
    group imports them only when asked (a bare word list was the usage, exit 2)."""
    env = {**os.environ, "_SEND_MERGEREQ_COMPLETE": "bash_complete", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split(" ")) - 1)}  # fmt: skip
    exe = Path(sys.executable).parent / "send-mergereq"
    done = subprocess.run([exe], env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"plain,{word}" for word in offered]


def test_check_value_error_names_the_option_once(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "staging", "--check", "bogus=error")
    assert code == 2
    first = err.splitlines()[0]
    assert first.count("--check") == 1
    assert first == (
        "send-mergereq: Invalid value for '--check': unknown check 'bogus'; "
        "known checks: utf8, list-address, signed-tags, signoff"
    )


def test_timeout_says_its_default_and_unit(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "submit", "--help")
    assert code == 0
    text = " ".join(out.split())
    said = "Stop waiting after this long, exit 4: seconds, or 90s, 15m, 2h [6h]."
    assert f"--timeout DURATION {said}" in text


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("2h", 7200), ("1h30m", 5400), ("300", 300)]
)
def test_timeout_accepts_units(text: str, seconds: float) -> None:
    assert Duration().convert(text, None, None) == seconds


def test_a_bad_timeout_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "staging", "--timeout", "15 minutes")
    assert code == 2
    assert "'15 minutes' is not a duration (try 300, 90s, 45m, 2h)" in err.splitlines()[0]


@pytest.mark.parametrize(
    "command", ["", "submit", "status", "check", "apply", "bisect", "eject", "jobs", "demo"]
)
def test_every_help_fits_80_columns(capsys: pytest.CaptureFixture[str], command: str) -> None:
    """``--help`` is read on a terminal of 80 columns: no line of it is wider (click wraps
    its own paragraphs; a ``\\b`` block and the exit-code table are ours to wrap)."""
    rc, out, _ = _run(capsys, *([command] if command else []), "--help")
    assert rc == 0 and "Usage:" in out
    assert [line for line in out.splitlines() if len(line) > 80] == []


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (("jobs", "--since", "999999999999w"), "'999999999999w' is longer than ten years"),
        (("jobs", "--since", "9" * 400 + "d"), "'" + "9" * 37 + "...' is longer than ten years"),
        (("jobs", "--since", "banana"), "'banana' is not a duration (try 60d, 12w, 36h)"),
        (("staging", "--timeout", "9" * 30), "is longer than ten years"),
    ],
)
def test_a_duration_out_of_bounds_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], said: str
) -> None:
    """A huge --since overflowed the clock (exit 70, a traceback in the log) or reached
    GitLab as a date it refuses (exit 6): every duration is at most ten years."""
    code, _, err = _run(capsys, *argv)
    assert code == 2 and said in err.splitlines()[0]
    assert len(err.splitlines()[0]) < 120
