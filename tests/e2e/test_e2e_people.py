"""``--assignee`` and ``--reviewer`` are GitLab users resolved before anything is pushed
(issue 20): a mistyped name is exit 2 with the close names GitLab has, nothing sent."""

from __future__ import annotations

from e2e_helpers import MakeMaintainer, calls, pushes


def test_a_mistyped_assignee_stops_before_the_push(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")
    who.sandbox.set_time_scale(0)

    rc, out, err = who.run("staging", "--assignee", "alcie")

    assert rc == 2, out + err
    assert "send-mergereq: --assignee alcie: no such GitLab user" in err
    assert "hint: did you mean 'alice'? nothing was pushed" in err
    assert "Traceback" not in err
    assert pushes(who.sandbox.request_log) == []
    assert not calls(who.sandbox.request_log, "POST", r".*/merge_requests")
    assert who.remote_sha("staging") is None


def test_a_reviewer_found_by_gitlabs_search_is_offered(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")
    who.sandbox.set_time_scale(0)

    rc, out, err = who.run("staging", "--assignee", "alice", "--reviewer", "bob")

    assert rc == 2, out + err
    assert "send-mergereq: --reviewer bob: no such GitLab user" in err
    assert "hint: did you mean 'bob.reviewer'? nothing was pushed" in err
    assert pushes(who.sandbox.request_log) == []


def test_assignees_and_reviewers_are_set_on_the_merge_request(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")
    who.sandbox.set_time_scale(0)

    rc, out, err = who.run("staging", "--assignee", "Alice", "--reviewer", "bob.reviewer")

    assert rc == 0, out + err
    mr = who.api_project().mergerequests.get(1)
    assert [u["username"] for u in mr.assignees] == ["alice"]
    assert [u["username"] for u in mr.reviewers] == ["bob.reviewer"]
