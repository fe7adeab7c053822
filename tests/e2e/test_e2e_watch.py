"""``send-mergereq staging --wait`` end to end: every verdict, retries, children, pagination,
faults, a late pipeline, the timeout, Ctrl-C and ``status`` picking the watch up again."""

from __future__ import annotations

import math
import re
from functools import partial

import pytest
from e2e_helpers import (
    FAST,
    STAMP,
    CliRun,
    Maintainer,
    MakeMaintainer,
    api_calls,
    bare_path,
    calls,
    interrupt_when,
    pipeline_changes,
    polls,
    pushes,
    when_requested,
)

pytestmark = pytest.mark.e2e

WAIT = ("staging", "--wait", "--interval", "0.2")
RESUME = "send-mergereq status staging"


def _watched(stdout: str) -> int:
    found = re.search(r"watching pipeline #(\d+)", stdout)
    assert found, stdout
    return int(found[1])


def _run(who: Maintainer, *extra: str, scale: float = FAST, timeout: float = 60) -> CliRun:
    who.sandbox.set_time_scale(scale)
    return who.run(*WAIT, *extra, timeout=timeout)


def _api_job_statuses(who: Maintainer, pipeline_id: int) -> dict[str, str]:
    pipeline = who.api_project().pipelines.get(pipeline_id)
    return {job.name: job.status for job in pipeline.jobs.list(get_all=True)}


def test_green_opens_the_gate(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")

    rc, out, err = _run(who)

    assert rc == 0, err
    pipeline = _watched(out)
    assert re.search(r"gate open: pipeline passed \(after \d+s\)  \[9 success\]", out)
    assert who.api_project().pipelines.get(pipeline).status == "success"
    assert set(_api_job_statuses(who, pipeline).values()) == {"success"}


def test_red_closes_the_gate_with_the_failing_jobs_log_tail(maintainer: MakeMaintainer) -> None:
    who = maintainer("red")

    rc, out, err = _run(who)

    assert rc == 1, err
    pipeline = _watched(out)
    assert "gate closed:" in out
    job = next(
        j for j in who.api_project().pipelines.get(pipeline).jobs.list(get_all=True)
        if j.name == "check-qtest"
    )  # fmt: skip
    assert job.status == "failed"
    assert f"--- test/check-qtest failed, end of its log: {job.web_url}" in out
    assert "postcopy_ram_incoming_cleanup: Assertion `!mis->postcopy_tmp_pages' failed." in out
    assert "  make: *** [Makefile.mtest:1025: check-qtest] Error 1" in out
    assert "\x1b" not in out + err
    assert "section_start" not in out and "section_end" not in out
    traces = [r for r in api_calls(who.sandbox.request_log) if bare_path(r).endswith("/trace")]
    assert [bare_path(r) for r in traces] == [
        f"/api/v4/projects/{who.project.id}/jobs/{job.id}/trace"
    ]


def test_allow_failure_opens_the_gate_and_lists_the_failed_optional_jobs(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer("allow-failure")

    rc, out, err = _run(who)

    assert rc == 0, err
    assert "gate open:" in out
    assert re.search(r"may fail, failed: build/build-oss-fuzz  http://\S+/-/jobs/\d+", out)
    assert re.search(r"may fail, failed: test/check-cross-i686  http://\S+/-/jobs/\d+", out)
    assert "success (passed with warnings)" in out or "warnings" in out
    assert "end of its log" not in out


def test_manual_job_that_may_not_fail_blocks(maintainer: MakeMaintainer) -> None:
    who = maintainer("manual")

    rc, out, err = _run(who)

    assert rc == 5, out + err
    assert "gate blocked" in out
    assert re.search(r"play it: deploy/publish-docs  http://\S+/-/jobs/\d+", out)
    assert "play it: test/benchmark" not in out
    assert f"resume with: {RESUME}" in out


def test_flaky_job_retried_once_opens_the_gate(maintainer: MakeMaintainer) -> None:
    who = maintainer("flaky")

    rc, out, err = _run(who, "--retry-failed", "1")

    assert rc == 0, out + err
    assert "test/check-unit  failed, retried by send-mergereq (1 of 1)" in out
    assert "retried by send-mergereq 1x: test/check-unit" in out
    assert "gate open:" in out
    retries = calls(who.sandbox.request_log, "POST", r"/api/v4/projects/\d+/jobs/\d+/retry")
    assert len(retries) == 1
    statuses = [
        j.status
        for j in who.api_project()
        .pipelines.get(_watched(out))
        .jobs.list(get_all=True, include_retried=True)
        if j.name == "check-unit"
    ]
    assert sorted(statuses) == ["failed", "success"]


def test_flaky_job_without_retries_closes_the_gate(maintainer: MakeMaintainer) -> None:
    who = maintainer("flaky")

    rc, out, _ = _run(who)

    assert rc == 1
    assert "retried" not in out
    assert "test-aio-multithread" in out


def test_failing_child_pipeline_closes_the_gate_naming_the_childs_job(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer("child")

    rc, out, err = _run(who, scale=1500)
    log = who.sandbox.request_log

    assert rc == 1, err
    # Per poll: the pipeline, its jobs, its bridges, and the child's pipeline, jobs, bridges.
    grouped = polls(log, who.project.id, _watched(out))
    assert len(grouped) >= 2
    assert all(len(poll) <= (1 + 1 + 1) + (1 + 1 + 1) for poll in grouped), grouped
    traces = [r for r in api_calls(log) if bare_path(r).endswith("/trace")]
    assert len(traces) == 1  # only the failed child job's log, once
    assert "gate closed:" in out
    assert "cross-builds > cross/cross-mips64el-system" in out
    assert "msa_helper.c:6102:13: error: 'wt' may be used uninitialized" in out
    assert re.search(r"pipeline #\d+ \(child, cross-builds\)", out)


def test_many_jobs_paginated_within_the_request_budget_per_poll(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer("many")

    rc, out, err = _run(who, scale=600)
    log = who.sandbox.request_log  # before the test's own API calls below

    assert rc == 0, err
    assert "gate open:" in out and "[250 success · 1 failed]" in out
    assert "may fail, failed: test/qtest-flaky-docs" in out  # job 126: the second page
    pipeline = _watched(out)
    assert len(_api_job_statuses(who, pipeline)) == 251
    grouped = polls(log, who.project.id, pipeline)
    assert len(grouped) >= 3, grouped
    pages = math.ceil(251 / 100)
    for poll in grouped:
        listed_bridges = sum("/bridges" in request for request in poll)
        assert len(poll) <= 1 + pages + listed_bridges, poll
        assert sum("/jobs" in request for request in poll) == pages, poll
    bridge_listings = sum(any("/bridges" in r for r in poll) for poll in grouped)
    status_changes = len([c for c in pipeline_changes(out) if c[0] == pipeline])
    assert bridge_listings <= status_changes


def test_a_gating_failure_past_the_first_page_closes_the_gate(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer("many-gating")

    rc, out, err = _run(who, scale=600)

    assert rc == 1, out + err
    assert "gate closed" in out and "qtest-integration" in out


def test_faults_mid_watch_reconnect_and_still_open_the_gate(maintainer: MakeMaintainer) -> None:
    who = maintainer("faults")

    rc, out, err = _run(who, scale=400)

    assert rc == 0, out + err
    lines = out.splitlines()
    reconnecting = [n for n, line in enumerate(lines) if "  reconnecting: " in line]
    assert reconnecting, out
    assert all(re.match(STAMP, lines[n + 1]) for n in reconnecting)  # one line each
    assert "GitLab answered 502 while listing jobs" in out
    assert "<html>" not in out
    assert "reconnected" in out
    assert "gate open:" in out
    faults = {r.fault for r in who.sandbox.request_log if r.fault}
    assert faults == {"429", "502", "drop"}
    assert who.sandbox.faults.pending() == 0


def test_late_pipeline_beside_decoys_the_right_one_is_watched(maintainer: MakeMaintainer) -> None:
    who = maintainer("late")
    # Time stays frozen until the CLI first asks for the MR's pipelines: it sees only the
    # decoys (a branch pipeline for the head, an MR pipeline for the previous commit).
    start_time = partial(who.sandbox.set_time_scale, FAST)
    with when_requested(who.sandbox, r"/merge_requests/1/pipelines", start_time) as started:
        rc, out, err = who.run(*WAIT)

    assert started.is_set()
    assert rc == 0, err
    watched = _watched(out)
    head = who.git("rev-parse", "staging")
    project = who.api_project()
    mr_pipelines = project.mergerequests.get(1).pipelines.list(get_all=True)
    expected = [p.id for p in mr_pipelines if p.ref == "refs/merge-requests/1/merge"]
    assert expected == [watched]
    # GitLab lists the branch pipelines of the MR's commits with its MR pipelines
    # (Ci::PipelinesForMergeRequestFinder#all): the branch decoy for the head is listed too
    decoys = [p for p in mr_pipelines if p.id != watched and p.source == "merge_request_event"]
    assert decoys and all(p.sha != head for p in decoys)  # the previous commit's
    assert any(p.ref == "staging" and p.sha == head for p in mr_pipelines)
    branch = project.pipelines.list(ref="staging", get_all=True)
    assert branch and all(p.id != watched for p in branch)
    assert project.pipelines.get(watched).sha != head  # the merge commit, not the head
    assert "waiting for GitLab to create the pipeline" in out


def test_timeout_exits_4_with_the_resume_command(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")  # time stays frozen: the pipeline never finishes

    rc, out, err = who.run(*WAIT, "--timeout", "1")

    assert rc == 4, out + err
    assert "gate timed out" in out
    assert f"resume with: {RESUME}" in out
    assert who.api_project().mergerequests.get(1).state == "opened"


def test_ctrl_c_exits_130_and_status_reattaches_without_pushing(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer("red")  # frozen time: the watch waits until interrupted

    run, _ = interrupt_when(WAIT, env=who.env(), cwd=who.repo, marker="watching pipeline #")

    assert run.rc == 130, run.output
    assert f"resume with: {RESUME}" in run.output
    assert "Traceback" not in run.output and "Aborted" not in run.output
    watched = _watched(run.stdout)
    mark = len(who.sandbox.request_log)
    who.sandbox.set_time_scale(FAST)

    rc, out, err = who.run("status", "staging", "--interval", "0.2")

    assert rc == 1, err
    assert f"merge request !1: {who.project.web_url}/-/merge_requests/1" in out
    assert _watched(out) == watched
    assert "--- test/check-qtest failed" in out
    after = who.log_since(mark)
    assert pushes(after) == []
    assert [r for r in after if r.kind == "git"] == []


def test_status_by_merge_request_iid_follows_its_pipeline(maintainer: MakeMaintainer) -> None:
    who = maintainer("allow-failure")
    sent = who.run("staging")
    assert sent.rc == 0, sent.stderr
    mark = len(who.sandbox.request_log)
    who.sandbox.set_time_scale(FAST)

    rc, out, err = who.run("status", "!1", "--interval", "0.2")

    assert rc == 0, err
    assert f"merge request !1: {who.project.web_url}/-/merge_requests/1" in out
    assert "gate open:" in out and "may fail, failed: build/build-oss-fuzz" in out
    assert [r for r in who.log_since(mark) if r.kind == "git"] == []


def test_status_without_a_merge_request_says_send_it_first(maintainer: MakeMaintainer) -> None:
    who = maintainer()

    rc, out, err = who.run("status", "staging", "--interval", "0.2")

    assert rc == 2, out + err
    assert "no open merge request" in err and "qemu-project/qemu" in err
    assert "hint: send it first: send-mergereq staging" in err
    assert who.sandbox.request_log and pushes(who.sandbox.request_log) == []


def test_status_after_an_interrupted_send_waits_for_the_merge_request_pipeline(
    maintainer: MakeMaintainer,
) -> None:
    """Ctrl-C before the MR pipeline appeared: GitLab's head pipeline is then the branch
    pipeline of the head (a decoy in the late scenario); status must watch the MR one."""
    who = maintainer("late")
    run, _ = interrupt_when(WAIT, env=who.env(), cwd=who.repo, marker="opened merge request")
    assert run.rc == 130, run.output
    start_time = partial(who.sandbox.set_time_scale, FAST)
    mark = len(who.sandbox.request_log)

    # Time starts when status asks for the MR's pipelines (a watch of the branch pipeline
    # would never ask, and time out here).
    with when_requested(who.sandbox, r"/merge_requests/1/pipelines", start_time):
        rc, out, err = who.run("status", "staging", "--interval", "0.2", timeout=20)

    assert rc == 0, out + err
    assert "waiting for GitLab to create the merge request pipeline of !1" in out
    merged = [
        p.id
        for p in who.api_project().mergerequests.get(1).pipelines.list(get_all=True)
        if p.ref == "refs/merge-requests/1/merge"
    ]
    assert merged == [_watched(out)]
    assert pushes(who.log_since(mark)) == []


def test_a_late_mr_pipeline_is_waited_for_while_the_branch_pipeline_is_head(
    maintainer: MakeMaintainer,
) -> None:
    """GitLab creates the MR pipeline asynchronously; until it exists the MR's head_pipeline
    is the branch pipeline (issue 15). The tool watches the MR pipeline, not the branch's."""
    who = maintainer("green", branch_pipelines=True, mr_pipeline_delay=300)

    rc, out, err = _run(who)

    assert rc == 0, out + err
    watched = who.api_project().pipelines.get(_watched(out))
    assert watched.source == "merge_request_event"
    assert watched.ref == "refs/merge-requests/1/merge"
    (branch,) = who.api_project().pipelines.list(ref="staging", get_all=True)
    assert branch.id < watched.id  # the branch pipeline came first, the MR's 300 s later


ALIVE = {"created", "waiting_for_resource", "preparing", "pending", "running", "scheduled"}


def _cancels(who: Maintainer) -> list[str]:
    found = calls(who.sandbox.request_log, "POST", r".*/pipelines/\d+/cancel")
    return [r.path for r in found]


def test_a_closed_gate_hints_at_cancel_rest_and_cancels_nothing(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer("red")

    rc, out, err = _run(who, scale=200)

    assert rc == 1, err
    pipeline = _watched(out)
    hint = re.search(
        rf"hint: (\d+) jobs of pipeline #{pipeline} still run or wait; cancel them with: "
        rf"{RESUME} .*--cancel-rest$",
        out,
        re.MULTILINE,
    )
    assert hint, out
    assert int(hint[1]) >= 1
    assert _cancels(who) == []


def test_cancel_rest_cancels_what_the_closed_gate_left_running(maintainer: MakeMaintainer) -> None:
    who = maintainer("red")

    rc, out, err = _run(who, "--cancel-rest", scale=200)

    assert rc == 1, err  # the gate's verdict stands
    pipeline = _watched(out)
    said = re.search(rf"^canceled (\d+) of the (\d+) jobs left in pipeline #{pipeline}$", out, re.M)
    assert said and said[1] == said[2] and int(said[1]) >= 1, out
    assert len(_cancels(who)) == 1
    statuses = _api_job_statuses(who, pipeline)
    assert not ALIVE & set(statuses.values()), statuses
    assert statuses["check-qtest"] == "failed"
    assert "canceled" in statuses.values()
    assert who.api_project().pipelines.get(pipeline).status in ("canceled", "failed")


def test_a_lost_cancel_answer_is_read_back_never_sent_again(maintainer: MakeMaintainer) -> None:
    """The cancel is served but its answer lost (the connection closes): the tool reads the
    jobs back and says what GitLab did; it does not send the cancel a second time."""
    who = maintainer("red")
    who.sandbox.inject_fault("lost", match="/cancel")

    rc, out, err = _run(who, "--cancel-rest", scale=200)

    assert rc == 1, err
    pipeline = _watched(out)
    said = r"^GitLab's answer to the cancel was lost; read back: canceled (\d+) of the (\d+) "
    said += rf"jobs left in pipeline #{pipeline}$"
    found = re.search(said, out, re.M)
    assert found and found[1] == found[2], out
    assert len(_cancels(who)) == 1  # sent once, never again
    assert not ALIVE & set(_api_job_statuses(who, pipeline).values())
