"""The token never shows: not in output, files, URLs, the error log or any git argv.

A canary token runs a whole ``--wait``; then every place it could leak is searched for it
(and for the Basic-auth form git sends). A ``git`` wrapper first on PATH records every git
command line the tool runs and which ``GIT_CONFIG_KEY_n`` it got (names only)."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest
from e2e_helpers import FAST, Maintainer, MakeMaintainer, api_calls, git_calls, pushes

pytestmark = pytest.mark.e2e

CANARY = "glpat-CANARYe2eCANARYe2e"
WRAPPER = """#!/bin/sh
{{
  printf 'argv:'
  for arg in "$@"; do printf ' [%s]' "$arg"; done
  printf '\\n'
  env | grep '^GIT_CONFIG_KEY_' | sed 's/^/env: /'
}} >> "$E2E_GIT_TRACE"
exec {git} "$@"
"""


def _forms(token: str) -> list[str]:
    """The token and its Basic-auth form as git would send it."""
    basic = base64.b64encode(f"oauth2:{token}".encode()).decode()
    return [token, basic, token.removeprefix("glpat-")]


def _trace_git(who: Maintainer, tmp_path: Path) -> Path:
    real = shutil.which("git", path=who.demo.env["PATH"])
    assert real is not None
    bin_dir = tmp_path / "wrapper-bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(WRAPPER.format(git=real))
    wrapper.chmod(0o755)
    trace = tmp_path / "git-trace.log"
    trace.touch()
    who.extra_env.update(PATH=f"{bin_dir}:{who.demo.env['PATH']}", E2E_GIT_TRACE=str(trace))
    return trace


def _files_holding(root: Path, secrets: list[str]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{path}: {s}" for s in secrets if s.encode() in data]
    return found


def _assert_nowhere(who: Maintainer, texts: list[str], extra_files: list[Path]) -> None:
    secrets = _forms(CANARY)
    for text in texts:
        for secret in secrets:
            assert secret not in text
    assert _files_holding(who.demo.root, secrets) == []  # .git/config, HOME, XDG_STATE_HOME …
    for path in extra_files:
        assert _files_holding(path, secrets) == []
    for record in who.sandbox.request_log:
        assert not record.token_in_url, record
        assert all(secret not in record.path for secret in secrets), record


@pytest.mark.parametrize("sandbox", [CANARY], indirect=True)
def test_canary_token_appears_nowhere_in_a_full_wait(
    maintainer: MakeMaintainer, tmp_path: Path
) -> None:
    who = maintainer("red")
    assert who.token == CANARY
    trace = _trace_git(who, tmp_path)
    who.sandbox.set_time_scale(FAST)

    rc, out, err = who.run("staging", "--wait", "--interval", "0.2", "--debug")

    assert rc == 1, out + err
    assert "gate closed:" in out
    _assert_nowhere(who, [out, err, trace.read_text()], [trace.parent, who.sandbox.repo_root])
    log = who.sandbox.request_log
    assert all(r.authenticated for r in api_calls(log))
    assert [r.authenticated for r in pushes(log)] == [True]
    assert all(r.authenticated for r in git_calls(log))
    commands = trace.read_text().split("argv:")
    push = [c for c in commands if c.startswith(" [push]") or " [push] " in c]
    assert len(push) == 1, commands
    assert "extraHeader" in push[0]  # the token went to git through GIT_CONFIG_*, not argv
    assert "[--force-with-lease=refs/heads/staging:]" in push[0]
    assert not (who.repo / ".git" / "config").read_text().count("extraHeader")


@pytest.mark.parametrize("sandbox", [CANARY.replace("CANARY", "RIGHTS")], indirect=True)
def test_a_rejected_canary_token_appears_nowhere_even_with_debug(
    maintainer: MakeMaintainer, tmp_path: Path
) -> None:
    who = maintainer()
    trace = _trace_git(who, tmp_path)

    rc, out, err = who.run("staging", "--debug", token=CANARY)

    assert rc == 6
    assert "GitLab rejected the token (401)" in err
    _assert_nowhere(who, [out, err, trace.read_text()], [trace.parent])
    assert all(not r.authenticated for r in api_calls(who.sandbox.request_log))
