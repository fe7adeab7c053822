"""The digest and the pager through the installed command, on a real repository with
planted findings: merges signed with keys the maintainer lacks, plain merges, commits
without sign-off; the pager is a fake that records what it got, run under a pty."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import shlex
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitrepo import run_git
from keys import GpgKey, Keys, make_gpg_key, make_signed_merge, stop_agents

EXE = str(Path(sys.executable).parent / "send-mergereq")
SOB = "Signed-off-by: {}"
JANE, JOE = "Jane Doe <jane@example.org>", "Joe Bloggs <joe@example.org>"

FAKE_PAGER = """\
import os, sys
out = sys.argv[1]
with open(out, "wb") as f:
    f.write(sys.stdin.buffer.read())
with open(out + ".env", "w") as f:
    f.write(os.environ.get("LESS", "<unset>") + "\\n" + str(os.isatty(1)))
"""


@pytest.fixture(scope="module")
def other_stranger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GpgKey]:
    """A second key the maintainer does not have (the session's ``stranger`` is the first)."""
    home = tmp_path_factory.mktemp("other-stranger")
    home.chmod(0o700)
    yield make_gpg_key(home, "Olga Other <olga@example.org>")
    stop_agents(home)


def history(make_repo: Any, keys: Keys, other: GpgKey) -> Any:
    """Merges signed by two unknown keys (three tags) and an unknown SSH key, two plain
    merges from one
    submaintainer, three commits without sign-off by two authors, a cp1252 message."""
    repo = make_repo()
    for name, key in (("pull-a", keys.stranger), ("pull-b", other), ("pull-c", keys.stranger)):
        make_signed_merge(repo.path, name, key)
    make_signed_merge(repo.path, "pull-ssh", keys.ssh_stranger)
    for name in ("fixes-1", "fixes-2"):
        run_git(repo.path, "branch", f"pr/{name}", "master")
        run_git(repo.path, "checkout", "-q", f"pr/{name}")
        repo.commit(f"{name} work", filename=f"{name}.txt")
        run_git(repo.path, "checkout", "-q", "staging")
        message = f"Merge branch '{name}' of https://example.org/sub.git"
        run_git(repo.path, "merge", "-q", "--no-ff", "-m", message, f"pr/{name}")
    repo.unsigned = {  # subject: short id, as the report shows them
        subject: repo.commit(subject, author=author, signoff=None)[:12]
        for subject, author in (("Jane one", JANE), ("Joe one", JOE), ("Jane two", JANE))
    }
    return repo


def run(
    repo: Any, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, "-C", str(repo.path), "staging", "--dry-run", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        check=False,
    )


def test_the_digest_sums_the_findings_and_fetches_every_missing_key_in_one_line(
    make_repo: Any, maintainer: Keys, other_stranger: GpgKey
) -> None:
    repo = history(make_repo, maintainer, other_stranger)
    done = run(repo)
    assert done.returncode == 3, done.stderr
    text = done.stdout
    fetch = [line for line in text.splitlines() if "gpg --recv-keys" in line]
    assert fetch == [
        f"    gpg --recv-keys {maintainer.stranger.fingerprint} {other_stranger.fingerprint}"
    ]
    assert "digest: 9 findings in 9 commits" in text
    assert "  signed-tags  error        6  (6 commits)" in text
    assert "  signoff      error        3  (3 commits)" in text
    shorts = repo.unsigned  # in range order: newest first
    assert f"    {JANE} (2 commits): {shorts['Jane two']} {shorts['Jane one']}" in text
    assert f"    {JOE} (1 commit): {shorts['Joe one']}" in text
    assert "    https://example.org/sub.git (2 merges): " in text
    tagger = run_git(
        repo.path, "for-each-ref", "--format=%(taggeremail:trim)", "refs/tags/pull-ssh"
    )
    assert f"    {tagger} {maintainer.ssh_stranger.public_line}" in text  # allowed signers
    assert "    -> " not in text  # no hint repeated under each finding
    assert text.splitlines()[-1].startswith("checks FAILED: ")

    doc = json.loads(run(repo, "--json").stdout)
    summary = doc["summary"]
    assert summary["findings"] == len(doc["findings"]) == 9
    assert sum(c["findings"] for c in summary["counts"]) == len(doc["findings"])
    commands = [a["command"] for a in summary["actions"] if "recv-keys" in a["command"]]
    assert commands == [fetch[0].strip()]
    unknown = [f for f in doc["findings"] if f["kind"] == "unknown-key"]
    assert {f["about"] for f in unknown} == {
        maintainer.stranger.fingerprint,
        other_stranger.fingerprint,
    }


def test_windows_1252_in_a_commit_git_declared_iso_8859_1(make_repo: Any) -> None:
    """As git writes it with i18n.commitEncoding=ISO-8859-1 and an editor in windows-1252."""
    repo = make_repo()
    (repo.path / "msg").write_bytes(
        b"Fix the \x93things\x94 parser\n\nSigned-off-by: Ada Author <ada@example.org>\n"
    )
    repo.git("-c", "i18n.commitEncoding=ISO-8859-1", "commit", "-q", "--allow-empty", "-F", "msg")
    raw = subprocess.run(
        ["git", "-C", str(repo.path), "cat-file", "commit", "HEAD"], capture_output=True, check=True
    ).stdout
    assert b"\nencoding ISO-8859-1\n" in raw and b"\x93things\x94" in raw
    text = run(repo).stdout
    assert 'looks like windows-1252: "Fix the “things” parser"' in text, text
    assert '"Fix the \\x93things\\x94 parser"' in text
    assert "declares encoding ISO-8859-1" in text


# -- the pager, under a pty ---------------------------------------------------------------


_NOT_CI = {key: value for key, value in os.environ.items() if key != "CI"}


def under_pty(
    repo: Any, *args: str, env: dict[str, str], rows: int = 10, cols: int = 80
) -> tuple[int, str]:
    """Run the command with its stdout on a pty of ``rows`` x ``cols``; what it wrote there."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen(
        [EXE, "-C", str(repo.path), "staging", "--dry-run", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE,
        env={**_NOT_CI, **env},  # a maintainer's terminal, even when the suite runs in CI
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer closed the pty
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.stderr is not None
    proc.stderr.read()
    proc.stderr.close()
    return proc.wait(), b"".join(chunks).decode()


@pytest.fixture
def pager(tmp_path: Path) -> tuple[str, Path]:
    script = tmp_path / "fake_pager.py"
    script.write_text(FAKE_PAGER)
    out = tmp_path / "paged.txt"
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} {shlex.quote(str(out))}", out


def test_a_report_longer_than_the_screen_goes_through_the_pager(
    make_repo: Any, maintainer: Keys, other_stranger: GpgKey, pager: tuple[str, Path]
) -> None:
    repo = history(make_repo, maintainer, other_stranger)
    command, paged = pager
    code, screen = under_pty(repo, env={"SEND_MERGEREQ_PAGER": command, "PAGER": "false"})
    assert code == 3
    text = paged.read_text()
    assert "digest: 9 findings in 9 commits" in text and "checks FAILED" in text
    assert "\x1b[" in text  # colour kept for less -R
    less, tty = Path(f"{paged}.env").read_text().splitlines()
    assert less == "FRX" and tty == "True"
    assert "digest:" not in screen  # the pager had it, not the terminal
    for line in re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines():  # wrapped for 80 columns
        starts = re.match(r"[0-9a-f]{12} |digest: |to do:|checks FAILED", line)
        assert line.startswith(" ") or starts, line  # continuation lines hang, never at 0
        assert len(line) <= 80, line


def test_pager_precedence_and_its_off_switches(
    make_repo: Any, maintainer: Keys, other_stranger: GpgKey, pager: tuple[str, Path]
) -> None:
    repo = history(make_repo, maintainer, other_stranger)
    command, paged = pager
    code, _ = under_pty(repo, env={"PAGER": command, "LESS": "R"})
    assert code == 3 and "digest:" in paged.read_text()
    assert Path(f"{paged}.env").read_text().splitlines()[0] == "R"  # the user's LESS kept
    for args, env in (
        (("--no-pager",), {"SEND_MERGEREQ_PAGER": command}),
        ((), {"SEND_MERGEREQ_PAGER": command, "CI": "true"}),
        ((), {"SEND_MERGEREQ_PAGER": "", "PAGER": command}),
        ((), {"SEND_MERGEREQ_PAGER": "cat", "PAGER": command}),
        (("--json",), {"SEND_MERGEREQ_PAGER": command}),
    ):
        paged.unlink(missing_ok=True)
        code, screen = under_pty(repo, *args, env=env)
        assert code == 3 and not paged.exists(), (args, env)
        if "--json" in args:
            assert json.loads(screen)["summary"]["findings"] == 9
        else:
            assert "digest: 9 findings" in screen and "checks FAILED" in screen


def test_no_pager_when_the_report_fits_or_the_output_is_not_a_terminal(
    make_repo: Any, maintainer: Keys, other_stranger: GpgKey, pager: tuple[str, Path]
) -> None:
    repo = history(make_repo, maintainer, other_stranger)
    command, paged = pager
    code, screen = under_pty(repo, env={"SEND_MERGEREQ_PAGER": command}, rows=500)
    assert code == 3 and not paged.exists() and "digest: 9 findings" in screen
    done = run(repo, env={"SEND_MERGEREQ_PAGER": command})
    assert done.returncode == 3 and not paged.exists() and "digest: 9 findings" in done.stdout


def test_a_pager_that_cannot_start_does_not_lose_the_report(
    make_repo: Any, maintainer: Keys, other_stranger: GpgKey
) -> None:
    repo = history(make_repo, maintainer, other_stranger)
    code, screen = under_pty(repo, env={"SEND_MERGEREQ_PAGER": "/nonexistent/pager -x"})
    assert code == 3 and "digest: 9 findings" in screen and "checks FAILED" in screen
