"""``send-mergereq staging --land`` end to end: the target ends at what passed, or is untouched.

MR mode merges with GitLab's sha guard; a target that moved makes the result stale (exit 7,
nothing lands) until ``--refresh`` tests the current target; push-only mode fast-forwards
the target to the tested commit of the branch pipeline, and refuses a non-fast-forward.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from e2e_helpers import CLI, FAST, STAMP, Maintainer, MakeMaintainer, calls, pushes

pytestmark = pytest.mark.e2e

LAND = ("staging", "--land", "--interval", "0.2")


def _land(who: Maintainer, *extra: str) -> tuple[int, str, str]:
    who.sandbox.set_time_scale(FAST)
    return who.run(*LAND, *extra)


def _merge_commit_parents(who: Maintainer, sha: str) -> list[str]:
    return who.git(
        "--git-dir", str(who.project.repo_path), "rev-list", "--parents", "-n1", sha
    ).split()[1:]


def test_open_gate_lands_the_tested_merge_request(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")
    master_before = who.remote_sha("master")
    staging = who.git("rev-parse", "staging")

    rc, out, err = _land(who, "--json")

    assert rc == 0, err
    doc = json.loads(out)
    assert doc["verdict"] == "open" and doc["exit_code"] == 0
    assert doc["landed"]["how"] == "merge_request" and doc["stale"] is False
    landed = who.remote_sha("master")
    assert landed == doc["landed"]["sha"] != master_before
    assert _merge_commit_parents(who, landed) == [master_before, staging]
    assert f"master is now at {landed[:12]}" in err
    assert len(calls(who.sandbox.request_log, "PUT", r".*/merge_requests/1/merge")) == 1


def test_red_pipeline_lands_nothing(maintainer: MakeMaintainer) -> None:
    who = maintainer("red")
    master_before = who.remote_sha("master")

    rc, out, _ = _land(who)

    assert rc == 1
    assert "gate closed" in out
    assert who.remote_sha("master") == master_before
    assert not calls(who.sandbox.request_log, "PUT", r".*/merge_requests/\d+/merge")


def test_moved_target_is_stale_and_nothing_lands(maintainer: MakeMaintainer) -> None:
    who = maintainer("moving-target")

    rc, out, err = _land(who, "--json")

    assert rc == 7
    assert "hint: run again with --refresh to start a pipeline on the current master" in err
    verdict = next(line for line in err.splitlines() if "  gate " in line)
    assert "  gate open on a stale target: " in verdict  # as a plain --wait says it
    doc = json.loads(out)
    assert doc["exit_code"] == 7
    assert doc["verdict"] == "stale" and doc["gate"] == "open"
    assert doc["stale"] is True and doc["landed"] is None
    assert doc["tested_target_sha"] != doc["current_target_sha"]
    assert who.remote_sha("master") == doc["current_target_sha"]
    assert "stale" in doc["landed_reason"]
    assert not calls(who.sandbox.request_log, "PUT", r".*/merge_requests/\d+/merge")


def test_a_stale_open_gate_says_so_in_the_verdict_line_itself(maintainer: MakeMaintainer) -> None:
    who = maintainer("moving-target")
    who.sandbox.set_time_scale(FAST)

    rc, out, err = who.run("staging", "--wait", "--interval", "0.2")

    assert rc == 0, err
    last = out.splitlines()[-1]
    assert re.fullmatch(
        rf"{STAMP}  gate open on a stale target: pipeline #\d+ tested master .*", last
    )
    assert "gate open: pipeline passed" not in out  # said once, and stale


def test_refresh_tests_the_current_target_then_lands(maintainer: MakeMaintainer) -> None:
    who = maintainer("moving-target")

    rc, out, err = _land(who, "--refresh", "--json")

    assert rc == 0, err
    doc = json.loads(out)
    assert doc["refreshes"] == 1 and doc["landed"]["how"] == "merge_request"
    first, refreshed = sorted(p.id for p in who.api_project().mergerequests.get(1).pipelines.list())
    assert doc["pipeline"]["id"] == refreshed != first
    landed = who.remote_sha("master")
    assert landed == doc["landed"]["sha"]
    # the landed merge sits on the moved master: what the refreshed pipeline tested
    assert _merge_commit_parents(who, landed)[0] == doc["tested_target_sha"]
    assert "refresh 1 of 3" in err


def test_push_between_pipeline_and_merge_is_refused_by_the_sha_guard(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer("green")
    master_before = who.remote_sha("master")
    who.sandbox.set_time_scale(0)  # the pipeline waits until the test moves the clock
    proc = subprocess.Popen(
        [str(CLI), *LAND], cwd=who.repo, env=who.env(), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        seen: list[str] = []
        while len(seen) < 20 and not any("watching pipeline" in line for line in seen):
            seen.append(proc.stdout.readline())  # the first poll's line: one per poll
        assert any("watching pipeline" in line for line in seen), seen
        # someone pushes a new head to staging while the tested pipeline still runs
        who.git("checkout", "-q", "-b", "late", "staging")
        untested = who.commit("hw: a change nobody tested")
        who.git("push", "-q", "origin", "late:staging", env=who.token_env())
        who.sandbox.advance(4 * 3600)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = "".join(seen) + rest
    assert proc.returncode == 7, out
    assert who.remote_sha("master") == master_before
    assert who.remote_sha("staging") == untested
    assert "nothing landed" in out


def test_push_only_fast_forwards_the_target_to_the_tested_commit(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer("green", branch_pipelines=True, merge_pipelines_enabled=False)
    staging = who.git("rev-parse", "staging")

    rc, out, err = _land(who, "--no-mr")

    assert rc == 0, err
    assert who.remote_sha("master") == staging
    assert "fast-forward" in out
    assert not calls(who.sandbox.request_log, "POST", r".*/merge_requests")
    assert len(pushes(who.sandbox.request_log)) == 2  # staging, then master


def test_push_only_refuses_a_non_fast_forward(maintainer: MakeMaintainer) -> None:
    who = maintainer("green", branch_pipelines=True, merge_pipelines_enabled=False)
    moved = who.sandbox.move_target(who.project.path_with_namespace)

    rc, out, err = _land(who, "--no-mr")

    assert rc == 7, out + err
    assert who.remote_sha("master") == moved


def test_status_follows_the_branch_pipeline_in_push_only_mode(maintainer: MakeMaintainer) -> None:
    who = maintainer("green", branch_pipelines=True, merge_pipelines_enabled=False)
    who.sandbox.set_time_scale(0)
    rc, out, err = who.run("staging", "--no-mr")
    assert rc == 0, err
    assert "follow it with: send-mergereq status staging" in out
    mark = len(who.sandbox.request_log)
    who.sandbox.set_time_scale(FAST)

    rc, out, err = who.run("status", "staging", "--interval", "0.2")

    assert rc == 0, err
    assert "branch pipeline #" in out and "gate open" in out
    assert not pushes(who.log_since(mark))


def test_a_failing_freshness_check_leaves_the_verdict_standing(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")
    who.sandbox.inject_fault("502", match="/repository/commits/", count=10)
    who.sandbox.set_time_scale(FAST)

    rc, out, err = who.run("staging", "--wait", "--interval", "0.2")

    assert rc == 0, out + err
    assert "gate open" in out
    assert "could not check whether master moved since" in out


# -- a failed merge base is never a stale result (issue 15) --------------------------------


def test_detached_landing_without_merge_base_reads_the_parents_and_lands(
    maintainer: MakeMaintainer,
) -> None:
    """A GitLab (or proxy) that does not serve /repository/merge_base: the tool reads the
    ancestry from the commits' parent_ids and lands, as it would with the endpoint."""
    who = maintainer("green", merge_pipelines_enabled=False)
    who.sandbox.inject_fault("404", match="/repository/merge_base", count=50)
    master_before = who.remote_sha("master")

    rc, out, err = _land(who, "--json")

    assert rc == 0, out + err
    doc = json.loads(out)
    assert doc["stale"] is False and doc["landed"]["how"] == "merge_request"
    assert who.remote_sha("master") != master_before
    assert calls(who.sandbox.request_log, "GET", r".*/repository/merge_base.*")
    assert calls(who.sandbox.request_log, "GET", r".*/repository/commits/[0-9a-f]{40}$")


def test_detached_moved_target_is_still_stale_without_merge_base(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer("moving-target", merge_pipelines_enabled=False)
    who.sandbox.inject_fault("404", match="/repository/merge_base", count=50)

    rc, out, _ = _land(who, "--json")

    assert rc == 7
    doc = json.loads(out)
    assert doc["stale"] is True and doc["landed"] is None
    assert who.remote_sha("master") == doc["current_target_sha"]


@pytest.mark.parametrize("fault", ["lost", "lost-502"])
def test_a_lost_merge_answer_is_read_back_landed_and_never_sent_again(
    maintainer: MakeMaintainer, fault: str
) -> None:
    """GitLab merges, then its answer is lost (the connection drops, or a proxy answers 502):
    the merge is not sent again (a second PUT would get 405 and read as a refusal); the MR is
    read back, merged at the tested head: landed, exit 0, and it says so."""
    who = maintainer("green")
    who.sandbox.inject_fault(fault, match="/merge_requests/1/merge")
    staging = who.git("rev-parse", "staging")

    rc, out, err = _land(who, "--json")

    assert rc == 0, err
    doc = json.loads(out)
    assert doc["landed"]["how"] == "merge_request"
    lost = f"GitLab's answer to the merge was lost; !1 read back is merged at {staging[:12]}"
    assert f"{lost}: landed" in err
    landed = who.remote_sha("master")
    assert landed == doc["landed"]["sha"]
    assert _merge_commit_parents(who, landed)[1] == staging
    assert f"master is now at {landed[:12]}" in err
    assert len(calls(who.sandbox.request_log, "PUT", r".*/merge_requests/1/merge")) == 1
