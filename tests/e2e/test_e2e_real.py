"""GitLab as it really behaves (issue 24), end to end against the sandbox: a job GitLab
retries by itself (``retry:``) is not a red gate, and a child pipeline blocked on a manual
job blocks the gate although its bridge stays ``running``."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_helpers import MakeMaintainer

pytestmark = pytest.mark.e2e

WAIT = ("staging", "--wait", "--interval", "0.2")

AUTO_RETRY = """
name = "auto-retry"
stages = ["test", "lint"]
queue_delay = 5
auto_retry_delay = 60
[[jobs]]
name = "check-unit"
stage = "test"
duration = 60
retry = 1
fails_first = 1
[[jobs]]
name = "check-qtest"
stage = "test"
duration = 400
[[jobs]]
name = "checkpatch"
stage = "lint"
duration = 60
"""

CHILD_WAITS = """
name = "child-waits"
stages = ["build", "test"]
queue_delay = 5
[[jobs]]
name = "build"
stage = "build"
duration = 60
[[jobs]]
name = "cross-builds"
stage = "test"
trigger = "cross"
[children.cross]
stages = ["cross", "deploy"]
[[children.cross.jobs]]
name = "cross-arm64"
stage = "cross"
duration = 60
[[children.cross.jobs]]
name = "publish"
stage = "deploy"
when = "manual"
"""


def _scenario(tmp_path: Path, text: str) -> str:
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_job_gitlab_retries_by_itself_keeps_the_gate_open(
    maintainer: MakeMaintainer, tmp_path: Path
) -> None:
    """check-unit fails its first attempt, seen by the watch; GitLab's next attempt comes a
    moment later and passes: no red verdict, exit 0, and the retry is said."""
    who = maintainer(_scenario(tmp_path, AUTO_RETRY))
    who.sandbox.set_time_scale(100)

    rc, out, err = who.run(*WAIT)

    assert rc == 0, out + err
    assert "test/check-unit  failed, retried by GitLab (attempt 2)" in out
    assert "gate open:" in out
    assert "gate closed" not in out


def test_a_child_blocked_on_a_manual_job_blocks_the_gate(
    maintainer: MakeMaintainer, tmp_path: Path
) -> None:
    """The child waits on a manual job that may not fail; its bridge stays running (as on
    GitLab): the watch stops with exit 5 and names the job to play, not forever."""
    who = maintainer(_scenario(tmp_path, CHILD_WAITS))
    who.sandbox.set_time_scale(100)

    rc, out, err = who.run(*WAIT, timeout=60)

    assert rc == 5, out + err
    assert "gate blocked" in out
    assert "publish" in next(line for line in out.splitlines() if "play it:" in line)


TRAIN_RED = """
name = "train-red"
stages = ["test"]
queue_delay = 5
[[jobs]]
name = "check-unit"
stage = "test"
duration = 60
[[jobs]]
name = "check-integration"
stage = "test"
duration = 60
fails_if_ref = "*/train"
"""


def _merge_calls(who: object) -> tuple[list[object], list[object]]:
    from e2e_helpers import calls

    log = who.sandbox.request_log  # type: ignore[attr-defined]
    return (
        calls(log, "PUT", r".*/merge_requests/\d+/merge"),
        calls(log, "POST", r".*/merge_trains/merge_requests/\d+"),
    )


def test_a_train_project_lands_through_the_train(maintainer: MakeMaintainer) -> None:
    """merge_trains_enabled: --land adds the MR to the train with the tested sha (never a
    direct PUT …/merge, which would jump the train), follows the train pipeline, and the
    target ends at the train's merge of the tested head."""
    who = maintainer("green")
    who.sandbox.set_project(who.project.path_with_namespace, merge_trains_enabled=True)
    who.sandbox.set_time_scale(3000)
    master_before = who.remote_sha("master")
    staging = who.git("rev-parse", "staging")

    rc, out, err = who.run("staging", "--land", "--interval", "0.2", timeout=90)

    assert rc == 0, out + err
    assert "is on the merge train: watching its train pipeline #" in out + err
    landed = who.remote_sha("master")
    parents = who.git("--git-dir", str(who.project.repo_path), "rev-list", "--parents", "-n1",
                      landed).split()[1:]  # fmt: skip
    assert parents == [master_before, staging]
    assert "(merged by the merge train); master is now at " + landed[:12] in out + err
    puts, posts = _merge_calls(who)
    assert puts == [] and len(posts) == 1


def test_a_red_train_car_is_dropped_and_nothing_lands(
    maintainer: MakeMaintainer, tmp_path: Path
) -> None:
    who = maintainer(_scenario(tmp_path, TRAIN_RED))
    who.sandbox.set_project(who.project.path_with_namespace, merge_trains_enabled=True)
    who.sandbox.set_time_scale(3000)
    master_before = who.remote_sha("master")

    rc, out, err = who.run("staging", "--land", "--interval", "0.2", timeout=90)

    assert rc == 7, out + err
    assert "!1 was dropped from the merge train: train pipeline #" in out + err
    assert "test/check-integration failed" in out + err
    assert who.remote_sha("master") == master_before
    puts, _ = _merge_calls(who)
    assert puts == []


def test_a_rate_limit_is_said_as_it_is_waited_out(maintainer: MakeMaintainer) -> None:
    """Two 429s with Retry-After: 3 on the merge request calls: each wait is said as it
    starts (not ten silent retries), then the run goes on."""
    who = maintainer("green")
    who.sandbox.set_time_scale(3000)
    who.sandbox.inject_fault("429", match="/merge_requests", count=2, retry_after=3)

    rc, out, err = who.run(*WAIT)

    assert rc == 0, out + err
    said = "GitLab answered 429 (rate limited): waiting 3 s before asking again"
    assert f"{said} (1/4)" in out + err and f"{said} (2/4)" in out + err


MULTI_PROJECT = """
name = "multi-project"
stages = ["test", "deploy"]
[[jobs]]
name = "unit"
stage = "test"
duration = 60
[[jobs]]
name = "website"
stage = "deploy"
trigger_project = "group/nowhere"
"""


def test_a_failed_multi_project_bridge_is_named_with_its_reason(
    maintainer: MakeMaintainer, tmp_path: Path
) -> None:
    who = maintainer(_scenario(tmp_path, MULTI_PROJECT))
    who.sandbox.set_time_scale(3000)

    rc, out, err = who.run(*WAIT)

    assert rc == 1, out + err
    assert "deploy/website (the downstream project was not found)" in out
    assert "#None" not in out


def test_wait_on_a_train_project_says_landing_goes_through_the_train(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer("green")
    who.sandbox.set_project(who.project.path_with_namespace, merge_trains_enabled=True)
    who.sandbox.set_time_scale(3000)

    rc, out, err = who.run(*WAIT)

    assert rc == 0, out + err
    said = "master lands through its merge train: --land adds !1 to the train, never a direct merge"
    assert said in out + err
    puts, posts = _merge_calls(who)
    assert puts == [] and posts == []


DOCS_PROJECT = """
name = "multi-project-docs"
stages = ["test", "deploy"]
[[jobs]]
name = "unit"
stage = "test"
duration = 60
[[jobs]]
name = "docs"
stage = "deploy"
trigger_project = "group/docs"
"""

DOCS_RED = """
name = "docs-red"
stages = ["build"]
[[jobs]]
name = "build-docs"
stage = "build"
duration = 30
outcome = "failed"
log = "sphinx-build: warning treated as error"
"""


def test_a_multi_project_childs_failing_job_closes_the_gate_and_is_named(
    maintainer: MakeMaintainer, tmp_path: Path
) -> None:
    """The docs bridge leads to group/docs's pipeline: its failing job is read there,
    closes the gate and is named with its log."""
    who = maintainer(_scenario(tmp_path, DOCS_PROJECT))
    red = tmp_path / "docs" / "scenario.toml"
    red.parent.mkdir()
    red.write_text(DOCS_RED, encoding="utf-8")
    who.sandbox.create_project("group/docs", scenario=str(red), initialize_with_readme=True)
    who.sandbox.set_time_scale(3000)

    rc, out, err = who.run(*WAIT)

    assert rc == 1, out + err
    assert "build/build-docs failed, end of its log" in out
    assert "sphinx-build: warning treated as error" in out
    assert "gate closed: build/build-docs failed" in out
    assert "(downstream, docs)" in out  # group/docs's pipeline, by the docs bridge


def test_a_multi_project_child_the_token_cannot_read_is_named_with_the_reason(
    maintainer: MakeMaintainer, tmp_path: Path
) -> None:
    who = maintainer(_scenario(tmp_path, DOCS_PROJECT))
    red = tmp_path / "docs" / "scenario.toml"
    red.parent.mkdir()
    red.write_text(DOCS_RED, encoding="utf-8")
    who.sandbox.create_project("group/docs", scenario=str(red), initialize_with_readme=True)
    who.sandbox.set_project("group/docs", token_can_read=False)
    who.sandbox.set_time_scale(3000)

    rc, out, err = who.run(*WAIT)

    assert rc == 1, out + err
    assert "which the token cannot read: its downstream pipeline failed)" in out
    assert "build-docs" not in out
