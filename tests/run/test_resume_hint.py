"""The resume hint is pasted into a shell: every word quoted, and it names the same run."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gitrepo import Repo
from send_mergereq.config import Flags, load_settings
from send_mergereq.run.send import SendOptions, resume_command

HOSTILE = "st$(touch${IFS}pwned)`touch${IFS}pwned2`"
RECORDER = """#!/bin/sh
for word in "$@"; do printf '%s\\n' "$word"; done > "$RESUME_ARGV"
"""


def _paste(hint: str, tmp_path: Path) -> list[str]:
    """Run ``hint`` in bash as a user pasting it would, with a ``send-mergereq`` on PATH
    that only records the words it got; the working directory must stay empty."""
    bin_dir, cwd = tmp_path / "bin", tmp_path / "cwd"
    bin_dir.mkdir()
    cwd.mkdir()
    fake = bin_dir / "send-mergereq"
    fake.write_text(RECORDER)
    fake.chmod(0o755)
    argv = tmp_path / "argv"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "RESUME_ARGV": str(argv)}
    done = subprocess.run(
        ["bash", "-c", hint], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert list(cwd.iterdir()) == []  # nothing in the hint ran
    return argv.read_text().splitlines()


@pytest.fixture
def hostile(make_repo: Any, tmp_path: Path) -> tuple[Repo, Path]:
    repo: Repo = make_repo()
    repo.git("checkout", "-q", "-b", HOSTILE)
    repo.git("remote", "add", "gl", "http://127.0.0.1:9/group/proj.git")
    odd = tmp_path / "dir with 'quote' $HOME !42"
    odd.symlink_to(repo.path)
    return repo, odd


def test_a_hostile_branch_name_pasted_into_bash_runs_nothing(
    hostile: tuple[Repo, Path], tmp_path: Path
) -> None:
    repo, odd = hostile
    flags = Flags(target="master", remote="gl", gitlab_url="http://127.0.0.1:9", project="g/p")
    settings = load_settings(repo.path, HOSTILE, flags, {})
    hint = resume_command(settings, odd, SendOptions(), None)
    assert _paste(hint, tmp_path) == [
        "-C", str(odd), "status", HOSTILE, "--target", "master", "--remote", "gl",
        "--gitlab-url", "http://127.0.0.1:9", "--project", "g/p",
    ]  # fmt: skip


def test_land_resumes_the_same_target_remote_and_mode(
    hostile: tuple[Repo, Path], tmp_path: Path
) -> None:
    repo, _ = hostile
    repo.git("branch", "stable-9.2", "master")
    settings = load_settings(repo.path, HOSTILE, Flags(target="stable-9.2", remote="gl"), {})
    hint = resume_command(settings, Path("."), SendOptions(land=True, refresh=True), False)
    assert _paste(hint, tmp_path) == [
        HOSTILE, "--land", "--no-mr", "--refresh", "--target", "stable-9.2", "--remote", "gl",
    ]  # fmt: skip


def test_status_of_a_merge_request_number_is_quoted_for_history_expansion(
    hostile: tuple[Repo, Path], tmp_path: Path
) -> None:
    repo, _ = hostile
    settings = load_settings(repo.path, "HEAD", Flags(target="master", remote="gl"), {})
    hint = resume_command(settings, Path("."), SendOptions(), None, status_of="!42")
    assert "'!42'" in hint
    assert _paste(hint, tmp_path)[:2] == ["status", "!42"]
    assert shlex.split(hint)[2] == "!42"
