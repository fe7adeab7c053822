"""run/send.py: what the run publishes and how it is resumed, from the layered settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gitrepo import Repo
from send_mergereq.config import Flags, LandMode, load_settings
from send_mergereq.report import CheckReport
from send_mergereq.run.send import SendOptions, publish_request, resume_command
from send_mergereq.scan.walk import resolve_range


def test_publish_request_takes_branch_names_remote_and_mode_from_the_settings(
    make_repo: Any,
) -> None:
    repo: Repo = make_repo()
    repo.git("remote", "add", "origin", "http://127.0.0.1:9/group/proj.git")
    repo.git("config", "sendmergereq.mode", "push")
    repo.commit("hw/arm: on staging")
    settings = load_settings(repo.path, "refs/heads/staging", Flags(target="master"), {})
    rng = resolve_range(repo.path, "master", "staging")
    report = CheckReport(range=rng, commits=1, merges=0, findings=(), subjects={}, profile="x")
    options = SendOptions(title="T", labels=("pull",), auto_merge=True)
    req = publish_request(settings, report, options)
    assert (req.branch, req.target, req.remote, req.mode) == (
        "staging", "master", "origin", LandMode.PUSH,
    )  # fmt: skip
    assert (req.title, req.labels, req.auto_merge, req.range) == ("T", ("pull",), True, rng)


def test_resume_command_keeps_the_mode_flag_given(make_repo: Any) -> None:
    repo: Repo = make_repo()
    settings = load_settings(repo.path, "staging", Flags(target="master"), {})
    here = Path(".")
    assert resume_command(settings, here, SendOptions(), None) == (
        "send-mergereq status staging --target master"
    )
    land = SendOptions(land=True, refresh=True)
    assert resume_command(settings, Path("/r"), land, False) == (
        "send-mergereq -C /r staging --land --no-mr --refresh --target master"
    )
