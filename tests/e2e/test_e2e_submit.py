"""``send-mergereq staging`` (no --wait) end to end: push, merge request, pipeline, failures."""

from __future__ import annotations

import re

import pytest
from e2e_helpers import MakeMaintainer, api_calls, calls, pushes

pytestmark = pytest.mark.e2e

MRS = r"/api/v4/projects/\d+/merge_requests"
MR = r"/api/v4/projects/\d+/merge_requests/\d+"


def _pipeline_id(stdout: str) -> int:
    found = re.findall(r"pipeline (?:\(.*?\) )?#(\d+)", stdout)
    assert found, stdout
    return int(found[-1])


def test_first_submission_opens_one_mr_and_finds_the_merged_results_pipeline(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer()
    head = who.git("rev-parse", "staging")

    rc, out, err = who.run("staging")

    assert rc == 0, err
    assert err == ""
    web = who.project.web_url
    assert f"pushed {head[:12]} to origin/staging (new)" in out
    assert f"opened merge request !1: {web}/-/merge_requests/1" in out
    pipeline = _pipeline_id(out)
    assert f"found the merged results pipeline (staging merged into master) #{pipeline}" in out
    assert f"{web}/-/pipelines/{pipeline}" in out
    assert "follow it with: send-mergereq status staging" in out
    log = who.sandbox.request_log
    assert len(calls(log, "POST", MRS)) == 1
    assert len(pushes(log)) == 1
    assert who.remote_sha("staging") == head
    mrs = who.api_project().mergerequests.list(state="opened", get_all=True)
    assert [(m.iid, m.source_branch, m.target_branch, m.sha) for m in mrs] == [
        (1, "staging", "master", head)
    ]
    mr_pipelines = who.api_project().mergerequests.get(1).pipelines.list(get_all=True)
    watched = [p for p in mr_pipelines if p.id == pipeline]
    assert watched and watched[0].ref == "refs/merge-requests/1/merge"


def test_resubmission_after_a_new_commit_updates_the_same_mr_and_finds_a_new_pipeline(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer()
    first = who.run("staging")
    assert first.rc == 0, first.stderr
    old_pipeline = _pipeline_id(first.stdout)
    head = who.commit("hw/misc: fix a typo in a comment")
    mark = len(who.sandbox.request_log)

    rc, out, err = who.run("staging")

    assert rc == 0, err
    assert f"pushed {head[:12]} to origin/staging (fast-forward)" in out
    assert f"refreshed the open merge request !1: {who.project.web_url}" in out
    new_pipeline = _pipeline_id(out)
    assert new_pipeline > old_pipeline
    assert f"found the merged results pipeline (staging merged into master) #{new_pipeline}" in out
    second = who.log_since(mark)
    assert calls(second, "POST", MRS) == []
    assert len(calls(second, "PUT", MR)) == 1
    assert len(pushes(second)) == 1
    project = who.api_project()
    assert [m.iid for m in project.mergerequests.list(state="all", get_all=True)] == [1]
    new = project.pipelines.get(new_pipeline)
    assert (new.ref, new.sha != head) == ("refs/merge-requests/1/merge", True)
    merge_commit = project.commits.get(new.sha)
    assert head in merge_commit.parent_ids  # it tests the new head merged into master


def test_resubmission_with_nothing_new_reuses_the_pipeline(maintainer: MakeMaintainer) -> None:
    who = maintainer()
    first = who.run("staging")
    assert first.rc == 0, first.stderr
    pipeline = _pipeline_id(first.stdout)
    before = len(who.api_project().pipelines.list(get_all=True))
    mark = len(who.sandbox.request_log)

    rc, out, err = who.run("staging")

    assert rc == 0, err
    head = who.git("rev-parse", "staging")
    assert f"origin/staging is already at {head[:12]}: nothing to push" in out
    assert f"reusing the merged results pipeline (staging merged into master) #{pipeline}" in out
    # the first run's pipeline, still unfinished now, was unfinished then: not "tested"
    status = who.api_project().pipelines.get(pipeline).status
    if status in ("created", "pending", "running"):
        assert f"{head[:12]} was already pushed: its pipeline #{pipeline} is still " in out
        assert "already pushed and tested" not in out
    else:
        assert f"{head[:12]} was already pushed" in out
    second = who.log_since(mark)
    assert pushes(second) == []
    assert calls(second, "POST", MRS) == []
    assert calls(second, "POST", MR + r"/pipelines") == []
    assert len(who.api_project().pipelines.list(get_all=True)) == before


def test_merged_results_off_watches_a_detached_pipeline_and_says_how_to_enable_them(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer(merge_pipelines_enabled=False)

    rc, out, err = who.run("staging")

    assert rc == 0, err
    pipeline = _pipeline_id(out)
    assert f"found the detached merge request pipeline (tests staging as is) #{pipeline}" in out
    assert "merged results pipelines are off for qemu-project/qemu" in out
    assert '"Enable merged results pipelines"' in out
    api = who.api_project().pipelines.get(pipeline)
    assert api.ref == "refs/merge-requests/1/head"
    assert api.sha == who.git("rev-parse", "staging")


def test_push_rejected_by_the_lease_when_someone_else_moved_staging(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer()
    first = who.run("staging")
    assert first.rc == 0, first.stderr
    # Someone else pushes to staging (by URL: our remote-tracking ref does not see it).
    who.git("checkout", "-q", "-b", "other", "master")
    theirs = who.commit("their change", path="theirs.c")
    who.git("push", "-q", who.project.http_url_to_repo, "other:staging", "--force",
            env=who.token_env())  # fmt: skip
    who.git("checkout", "-q", "staging")
    who.commit("hw/misc: our change")
    mark = len(who.sandbox.request_log)

    rc, _, err = who.run("staging")

    assert rc == 6
    assert "git push of 'staging' to origin" in err
    assert "rejected: [rejected] (stale info)" in err
    assert "hint: someone pushed to origin/staging since you last fetched" in err
    assert "Traceback" not in err
    assert who.remote_sha("staging") == theirs  # not overwritten
    second = who.log_since(mark)
    assert pushes(second) == [] or all(r.status != 200 for r in pushes(second))
    assert calls(second, "PUT", MR) == []


def test_conformance_failure_stops_before_any_push_or_api_call(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer()
    bad = who.commit("hw/misc: a change nobody signed off", trailer=False)

    rc, out, _ = who.run("staging")

    assert rc == 3
    assert "signoff" in out
    assert bad[:12] in out
    # no API call; the one git request fetched the target (the server's view of it)
    assert api_calls(who.sandbox.request_log) == []
    assert pushes(who.sandbox.request_log) == []
    assert who.remote_sha("staging") is None


def test_wrong_token_is_one_clear_line_without_the_token(maintainer: MakeMaintainer) -> None:
    who = maintainer()
    wrong = "glpat-WRONGwrongWRONGwrong"

    rc, out, err = who.run("staging", token=wrong)

    assert rc == 6
    lines = err.strip().splitlines()
    assert lines[0].startswith("send-mergereq: GitLab rejected the token (401)")
    assert all(line.startswith(("send-mergereq:", "hint:")) for line in lines), err
    assert len([line for line in lines if line.startswith("send-mergereq:")]) == 1
    assert "GITLAB_TOKEN" in err
    assert wrong not in out + err
    log = who.sandbox.request_log
    assert api_calls(log) and all(not r.authenticated for r in api_calls(log))
    assert pushes(log) == []  # the target's fetch was refused too; nothing was pushed
    assert who.remote_sha("staging") is None


def test_no_token_at_all_is_a_configuration_error(maintainer: MakeMaintainer) -> None:
    who = maintainer()

    rc, _, err = who.run("staging", token="")

    assert rc == 2
    assert err.startswith("send-mergereq: ")
    assert "token" in err.lower()
    assert "Traceback" not in err
    # only GitLab's version was asked (no token: is it GitLab at all?); nothing else
    assert [(r.method, r.path) for r in who.sandbox.request_log] == [("GET", "/api/v4/version")]
    assert who.remote_sha("staging") is None
