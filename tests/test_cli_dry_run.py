"""``send-mergereq BRANCH --dry-run`` end to end: real repositories, click's runner, and once
the installed command as a real subprocess."""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from keys import Keys, make_signed_merge
from send_mergereq import cli

SOB = b"\n\nSigned-off-by: Ada Author <ada@example.org>\n"


def invoke(repo: Any, *args: str) -> tuple[int, str, str]:
    """Run the CLI (with its error funnel) inside click's runner isolation."""
    with CliRunner().isolation() as (out, err, _):
        code = cli.run(["-C", str(repo.path), *args] if repo else list(args))
    return code, out.getvalue().decode(), err.getvalue().decode()


def add_raw(
    repo: Any, message: bytes, author: bytes = b"Ada Author <ada@example.org>", headers: bytes = b""
) -> str:
    """Plant a commit byte for byte on top of staging."""
    raw = b"tree %s\nparent %s\n" % (repo.tree().encode(), repo.head().encode())
    raw += b"author " + author + b" 1700000000 +0000\n"
    raw += b"committer Max Maintainer <max@example.org> 1700000000 +0000\n" + headers
    return repo.raw_commit(raw + b"\n" + message, branch="staging")


def planted(make_repo: Any) -> tuple[Any, dict[str, str]]:
    repo = make_repo()
    repo.commit("A clean commit")
    shas = {
        "utf8": add_raw(
            repo, b"Latin-1 author" + SOB, "Jérôme <ada@example.org>".encode("latin-1")
        ),
        "cp1252": add_raw(repo, b"Quote\n\nIt \x93works\x94." + SOB),
        "list-address": add_raw(
            repo, b"List" + SOB, b"Ada Author via Qemu-devel <qemu-devel@nongnu.org>"
        ),
        "signoff": add_raw(repo, b"No sign-off\n\nJust prose.\n"),
    }
    repo.commit("Another clean commit")
    return repo, shas


def test_clean_history_passes(make_repo: Any) -> None:
    repo = make_repo()
    repo.commit("One", "Body.\n\nReviewed-by: R <r@example.org>")
    repo.commit("Two")
    code, out, err = invoke(repo, "staging", "--dry-run")
    assert code == 0, err
    assert (
        out.strip()
        == "checks passed: 2 commits in master..staging, 0 errors, 0 warnings (profile default)"
    )


def test_planted_problems_are_each_reported_under_their_id(make_repo: Any) -> None:
    repo, shas = planted(make_repo)
    code, out, err = invoke(repo, "staging", "--dry-run", "--json")
    assert code == 3
    doc = json.loads(out)
    assert doc["verdict"] == "checks_failed" and doc["commits"] == 6 and doc["exit_code"] == 3
    found = {(f["check"], f["commit"]) for f in doc["findings"] if f["severity"] == "error"}
    assert found == {
        ("utf8", shas["utf8"]),
        ("utf8", shas["cp1252"]),
        ("list-address", shas["list-address"]),  # its sign-off is the person's: no signoff error
        ("signoff", shas["signoff"]),
    }
    messages = " ".join(f["message"] for f in doc["findings"])
    assert "looks like windows-1252" in messages and "ISO-8859-1" in messages
    assert "checks FAILED" in err  # the human report went to stderr


def test_human_report_is_grouped_by_commit_with_hints(make_repo: Any) -> None:
    repo, shas = planted(make_repo)
    code, out, _ = invoke(repo, "staging", "--dry-run")
    assert code == 3
    assert f"{shas['signoff'][:12]} No sign-off\n  error: [signoff] no Signed-off-by" in out
    assert "\x1b[" not in out
    assert "    -> " in out


def test_check_flag_downgrades_for_one_run(make_repo: Any) -> None:
    repo = make_repo()
    repo.commit("Unsigned", signoff=None)
    assert invoke(repo, "staging", "--dry-run")[0] == 3
    code, out, _ = invoke(repo, "staging", "--dry-run", "--check", "signoff=warning")
    assert code == 0 and "warning: [signoff]" in out
    code, out, _ = invoke(repo, "staging", "--dry-run", "--check", "signoff=off")
    assert code == 0 and "signoff" not in out


def test_qemu_profile_from_flag_git_config_and_target_policy(make_repo: Any) -> None:
    repo = make_repo()
    repo.git("checkout", "-q", "master")
    repo.git("branch", "-q", "with-policy")
    repo.git("checkout", "-q", "staging")
    add_raw(
        repo,
        b"Fix\n\nSigned-off-by: Jane Doe <jane@example.org>\n",
        b"Jane Doe via Qemu-devel <jane@example.org>",
    )
    assert invoke(repo, "staging", "--dry-run")[0] == 0  # default profile: not a known munging
    code, out, _ = invoke(repo, "staging", "--dry-run", "--profile", "qemu")
    assert code == 3 and "[list-address]" in out and "profile qemu" in out
    repo.git("config", "sendmergereq.profile", "qemu")
    assert invoke(repo, "staging", "--dry-run")[0] == 3
    repo.git("config", "--unset", "sendmergereq.profile")
    blob = repo.git("hash-object", "-w", "--stdin", input=b'profile = "qemu"\n')
    tree = repo.git("mktree", input=f"100644 blob {blob}\t.send-mergereq.toml\n".encode())
    policy = repo.git("commit-tree", tree, "-p", "master", "-m", "policy")
    repo.git("update-ref", "refs/heads/with-policy", policy)
    assert invoke(repo, "staging", "--dry-run", "--target", "with-policy")[0] == 3


def test_target_option_and_range_line(make_repo: Any) -> None:
    repo = make_repo()
    first = repo.commit("First")
    repo.commit("Second")
    code, out, _ = invoke(repo, "staging", "--dry-run", "--target", first)
    assert code == 0 and f"1 commit in {first}..staging" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["nope", "--dry-run"], "send-mergereq: branch 'nope': no such commit"),
        (
            ["staging", "--dry-run", "--target", "nope"],
            "send-mergereq: target 'nope': no such commit",
        ),
        (["master", "--dry-run"], "send-mergereq: master..master is empty"),
        (
            ["staging", "--dry-run", "--check", "nope=off"],
            "unknown check 'nope'; known checks: utf8",
        ),
        (["staging", "--dry-run", "--check", "signoff"], "expected ID=SEVERITY"),
        (["staging", "--dry-run", "--profile", "nope"], "send-mergereq: unknown profile 'nope'"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(
    make_repo: Any, args: list[str], expected: str
) -> None:
    repo = make_repo()
    if args[0] == "staging":
        repo.commit("Something")
    code, out, err = invoke(repo, *args)
    assert code == 2 and out == ""
    assert expected in err
    assert "Traceback" not in err


def test_bad_toml_on_the_target_names_the_file(make_repo: Any) -> None:
    repo = make_repo()
    repo.git("checkout", "-q", "master")
    (repo.path / ".send-mergereq.toml").write_text("[checks.signoff\n")
    repo.git("add", ".send-mergereq.toml")
    repo.git("commit", "-q", "-m", "policy")
    repo.git("checkout", "-q", "staging")
    repo.git("rebase", "-q", "master")
    repo.commit("Something")
    code, _, err = invoke(repo, "staging", "--dry-run")
    assert code == 2
    assert err.startswith("send-mergereq: master:.send-mergereq.toml: invalid TOML")


def test_not_a_repository(tmp_path: Path) -> None:
    code, _, err = invoke(None, "-C", str(tmp_path), "staging", "--dry-run")
    assert code == 2 and "not a git repository" in err


def test_a_bare_repository_is_checked(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo()
    repo.commit("Something")
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True)
    code, out, err = invoke(None, "-C", str(bare), "staging", "--dry-run", "--target", "master")
    assert code == 0, err
    assert out.startswith("checks passed: 1 commit in master..staging")
    code, _, err = invoke(None, "-C", str(repo.path / "nested"), "staging", "--dry-run")
    assert code == 2 and "not a git repository" in err  # -C to a missing directory


def test_a_bug_is_exit_70_with_one_line(make_repo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo()
    repo.commit("Something")

    def broken(settings: object, verifier: object = None) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("send_mergereq.run.check.check_phase", broken)
    code, _, err = invoke(repo, "staging", "--dry-run")
    assert code == 70
    assert err.count("\n") == 1 and "internal error (a bug): RuntimeError: boom" in err
    code, _, err = invoke(repo, "staging", "--dry-run", "--debug")
    assert code == 70 and "Traceback" in err


@pytest.mark.parametrize(("signum", "name", "code"), [(15, "SIGTERM", 143), (1, "SIGHUP", 129)])
def test_a_signal_during_the_checks_keeps_its_exit_code(
    make_repo: Any, monkeypatch: pytest.MonkeyPatch, signum: int, name: str, code: int
) -> None:
    """Click turns a KeyboardInterrupt (SIGTERM and SIGHUP raise one, ``Terminated``) into
    Abort: the run still ends as that signal, not as a Ctrl-C (130)."""
    from send_mergereq.errors import Terminated

    repo = make_repo()
    repo.commit("Something")

    def stopped(settings: object, verifier: object = None) -> None:
        raise Terminated(signum, name)

    monkeypatch.setattr("send_mergereq.run.check.check_phase", stopped)
    got, _, err = invoke(repo, "staging", "--dry-run")
    assert got == code and f"send-mergereq: {name} received, stopped" in err


def test_signed_merges_pass_and_a_plain_merge_fails(make_repo: Any, maintainer: Keys) -> None:
    repo = make_repo()
    make_signed_merge(repo.path, "pull-a", maintainer.good)
    assert invoke(repo, "staging", "--dry-run")[0] == 0
    repo.git("branch", "-q", "topic", "master")
    repo.git("checkout", "-q", "topic")
    repo.commit("Topic work")
    repo.git("checkout", "-q", "staging")
    repo.git("merge", "-q", "--no-ff", "--no-edit", "topic")
    code, out, _ = invoke(repo, "staging", "--dry-run", "--json")
    assert code == 3
    doc = json.loads(out)
    assert doc["merges"] == 2
    assert [f["check"] for f in doc["findings"]] == ["signed-tags"]


def test_installed_command_as_a_real_subprocess(make_repo: Any) -> None:
    repo, shas = planted(make_repo)
    exe = Path(sys.executable).parent / "send-mergereq"
    proc = subprocess.run(
        [str(exe), "staging", "--dry-run"],
        cwd=repo.path,
        capture_output=True,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    assert proc.returncode == 3
    out = proc.stdout.decode()
    assert "\x1b[" not in out
    for sha in shas.values():
        assert sha[:12] in out


def test_dry_run_never_imports_gitlab(make_repo: Any) -> None:
    repo = make_repo()
    repo.commit("Something")
    code = (
        "import sys; from send_mergereq import cli; "
        f"rc = cli.run(['-C', {str(repo.path)!r}, 'staging', '--dry-run']); "
        "heavy = ('gitlab', 'git', 'requests'); "
        "print(rc, sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert proc.stdout.decode().splitlines()[-1] == "0 []"


def _loaded_by_a_dry_run(repo: Path, names: tuple[str, ...]) -> tuple[int, list[str]]:
    """The exit code of ``send-mergereq -C REPO staging --dry-run`` in a fresh interpreter
    (``TMPDIR`` unset: the tags' scratch in memory), and the modules of ``names`` (or
    under them) it imported."""
    code = (
        "import os, sys; os.environ.pop('TMPDIR', None); from send_mergereq import cli; "
        f"rc = cli.run(['-C', {str(repo)!r}, 'staging', '--dry-run']); "
        f"names = {names!r}; "
        "print(rc, sorted(m for m in sys.modules if m in names or m.startswith("
        "tuple(n + '.' for n in names))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    rc, _, loaded = proc.stdout.decode().splitlines()[-1].partition(" ")
    return int(rc), ast.literal_eval(loaded)


def test_a_short_dry_run_imports_only_what_it_uses(make_repo: Any) -> None:
    """Startup is most of a short dry run (issue 26: 0.25 s for 100 commits): what only a
    long range, an error or another command needs is imported when it is needed."""
    repo = make_repo()
    repo.commit("Something")
    later = (
        "multiprocessing", "concurrent", "importlib.resources", "tempfile", "traceback",
        "send_mergereq.jobs.health", "send_mergereq.jobs.tiers", "send_mergereq.jobs.tier_policy",
        "send_mergereq.triage.owners", "send_mergereq.report.digest",
    )  # fmt: skip
    assert _loaded_by_a_dry_run(repo.path, later) == (0, [])


def test_a_short_dry_run_with_signed_merges_imports_no_tempfile_nor_hashlib(
    make_repo: Any, maintainer: Keys
) -> None:
    """The tags' scratch is made in memory without ``tempfile`` (which brings ``shutil``
    and ``random``: 7 ms of the start of a short run), and a short walk's objects are
    hashed without ``hashlib`` (OpenSSL's: 7 ms to import); the tags are still verified."""
    repo = make_repo()
    make_signed_merge(repo.path, "pull-a", maintainer.good)
    later = ("tempfile", "shutil", "random", "hashlib", "_hashlib")
    assert _loaded_by_a_dry_run(repo.path, later) == (0, [])


def test_readme_exit_codes_match_the_table() -> None:
    from send_mergereq.errors import exit_code_table

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Exit codes", 1)[1]
    block = section.split("```", 2)[1].strip("\n")
    assert block == exit_code_table()


def test_readme_documents_every_check() -> None:
    from send_mergereq.checks import CHECKS

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for check_id in CHECKS:
        assert f"- **`{check_id}`**" in readme


def test_dash_c_before_the_command_works_as_in_git(make_repo: Any) -> None:
    repo, _ = planted(make_repo)
    code, out, err = invoke(repo, "submit", "staging", "--dry-run")
    assert code == 3, err
    assert "checks FAILED" in out


def test_usage_errors_are_one_line_and_a_hint(make_repo: Any) -> None:
    repo = make_repo()
    repo.commit("One")
    code, out, err = invoke(repo, "staging", "--dry-run", "--check", "nosuch=error")
    assert code == 2
    assert err.splitlines() == [
        err.splitlines()[0],
        "hint: see 'send-mergereq submit --help'",
    ]
    assert err.startswith("send-mergereq: ") and "unknown check 'nosuch'" in err
    assert out == ""


def test_json_gets_a_document_for_errors_too(make_repo: Any) -> None:
    repo = make_repo()
    repo.commit("One")
    code, out, err = invoke(repo, "nosuch", "--dry-run", "--json")
    assert code == 2
    doc = json.loads(out)
    assert doc["verdict"] == "error" and doc["exit_code"] == 2
    assert "nosuch" in doc["error"] and doc["error"] in err


def test_a_reader_that_goes_away_does_not_change_the_exit_code(make_repo: Any) -> None:
    """``send-mergereq staging --dry-run | head -1``: still 3, no traceback, no EPIPE exit 1."""
    repo = make_repo()
    stream = io.BytesIO()
    for n in range(1500):  # ~1500 missing sign-offs: far more than a pipe buffer of report
        message = f"change {n}\n".encode()
        stream.write(b"commit refs/heads/staging\n")
        stream.write(f"committer Ada Author <ada@example.org> {1700000000 + n} +0000\n".encode())
        stream.write(b"data %d\n%s\n" % (len(message), message))
        if n == 0:
            stream.write(b"from refs/heads/staging^0\n")
    repo.git("fast-import", "--quiet", input=stream.getvalue())
    exe = Path(sys.executable).parent / "send-mergereq"
    proc = subprocess.Popen(
        [str(exe), "staging", "--dry-run"],
        cwd=repo.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()  # read one line, then hang up like head -1
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 3, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_dry_run_never_imports_the_send_half(make_repo: Any) -> None:
    """The checks alone: the send half (run.send, the watch, the demo) stays unimported, as
    the 0.4 s start-up budget needs."""
    repo = make_repo()
    repo.commit("Something")
    code = (
        "import sys; from send_mergereq import cli; "
        f"rc = cli.run(['-C', {str(repo.path)!r}, 'staging', '--dry-run']); "
        "heavy = ('send_mergereq.run.send', 'send_mergereq.watch', 'send_mergereq.demo.flow', "
        "'rich'); "
        "print(rc, sorted(m for m in sys.modules if m.startswith(heavy)))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert proc.stdout.decode().splitlines()[-1] == "0 []"
