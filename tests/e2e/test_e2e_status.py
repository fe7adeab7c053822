"""``status`` after the day moved on (issue 20): a landed branch, a merged merge request,
a bare number; the installed CLI against the sandbox."""

from __future__ import annotations

import json

from e2e_helpers import FAST, Maintainer, MakeMaintainer, pushes


def _landed(maintainer: MakeMaintainer) -> Maintainer:
    who = maintainer("green")
    who.sandbox.set_time_scale(FAST)
    rc, out, err = who.run("staging", "--land", "--interval", "0.2")
    assert rc == 0, out + err
    return who


def test_status_after_landing_says_the_branch_landed(maintainer: MakeMaintainer) -> None:
    who = _landed(maintainer)
    mr = who.api_project().mergerequests.get(1)
    mark = len(who.sandbox.request_log)

    rc, out, err = who.run("status", "staging")

    assert rc == 0, out + err
    assert f"staging landed: merge request !1 merged staging into master at {mr.merged_at}" in out
    assert mr.web_url in out and mr.merge_commit_sha[:12] in out
    assert "send it first" not in out + err
    assert not pushes(who.log_since(mark))


def test_status_of_a_merged_merge_request_says_merged(maintainer: MakeMaintainer) -> None:
    who = _landed(maintainer)

    rc, out, err = who.run("status", "!1", "--json")

    assert rc == 0, err
    assert "merge request !1 merged staging into master at " in err
    doc = json.loads(out)
    assert doc["verdict"] == "merged" and doc["exit_code"] == 0
    assert doc["merge_request"]["iid"] == 1 and doc["merge_request"]["state"] == "merged"
    assert doc["merge_request"]["merged_at"]


def test_status_of_a_bare_number_reads_it_as_a_merge_request(maintainer: MakeMaintainer) -> None:
    who = _landed(maintainer)

    rc, out, err = who.run("status", "1")

    assert rc == 0, out + err
    assert "no branch 1: reading 1 as merge request !1" in out
    assert "merge request !1 merged staging into master" in out


def test_a_branch_named_like_a_number_still_wins(maintainer: MakeMaintainer) -> None:
    who = maintainer("green", branch_pipelines=True)
    who.git("branch", "1", "staging")
    who.sandbox.set_time_scale(FAST)
    sent = who.run("1", "--no-mr")
    assert sent.rc == 0, sent.output

    rc, out, err = who.run("status", "1", "--interval", "0.2")

    assert rc == 0, out + err
    assert "1 is the branch 1 (for merge request !1, say !1)" in out
    assert "branch pipeline #" in out and "gate open" in out


def test_status_of_a_closed_merge_request_is_said(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")
    who.sandbox.set_time_scale(0)
    assert who.run("staging").rc == 0
    who.api_project().mergerequests.update(1, {"state_event": "close"})

    rc, out, err = who.run("status", "!1")

    assert rc == 2, out + err
    assert "send-mergereq: merge request !1 (staging into master) was closed at " in err
    assert "hint: reopen it on GitLab, or send the branch again: send-mergereq staging" in err


def test_status_when_the_branch_moved_after_landing_says_so(maintainer: MakeMaintainer) -> None:
    who = _landed(maintainer)
    who.git("commit", "--allow-empty", "-q", "-s", "-m", "one more")
    auth = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Bearer {who.token}"}  # fmt: skip
    who.git("push", "-q", "origin", "staging", env=auth)

    rc, out, err = who.run("status", "staging")

    assert rc == 2, out + err
    assert "no open merge request and no pipeline for staging" in err
    assert "the last merge request from staging, !1, merged" in err
    assert "send it first: send-mergereq staging" in err


def test_status_after_a_push_only_landing_says_the_target_has_it(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer("green", branch_pipelines=True, merge_pipelines_enabled=False)
    who.sandbox.set_time_scale(FAST)
    landed = who.run("staging", "--no-mr", "--land", "--interval", "0.2")
    assert landed.rc == 0, landed.output
    head = who.remote_sha("staging")
    assert head is not None and who.remote_sha("master") == head

    rc, out, err = who.run("status", "staging", "--json")

    assert rc == 0, out + err
    assert f"master already contains staging ({head[:12]}) on GitLab: it landed" in err
    doc = json.loads(out)
    assert doc["verdict"] == "up_to_date" and doc["up_to_date"]["branch_sha"] == head
