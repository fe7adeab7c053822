"""The target as the server sees it: landed work is not sent twice, a stale
``origin/master`` is fetched before the checks, ``--dry-run`` stays offline."""

from __future__ import annotations

import json

import pytest
from e2e_helpers import FAST, Maintainer, MakeMaintainer, api_calls, calls, git_calls, pushes

pytestmark = pytest.mark.e2e

LAND = ("staging", "--land", "--interval", "0.2")


def _nothing_sent(who: Maintainer, mark: int) -> None:
    log = who.log_since(mark)
    assert not calls(log, "POST", r".*/merge_requests"), "a second merge request"
    assert not calls(log, "PUT", r".*/merge_requests/\d+"), "the merged MR was touched"
    assert not calls(log, "POST", r".*/pipeline"), "a pipeline was asked for"
    assert not pushes(log), "something was pushed"
    assert len(who.api_project().pipelines.list(get_all=True)) == before_pipelines(who)


def before_pipelines(who: Maintainer) -> int:
    return int(who.extra_env.get("_PIPELINES", "0"))


def _remember_pipelines(who: Maintainer) -> None:
    who.extra_env["_PIPELINES"] = str(len(who.api_project().pipelines.list(get_all=True)))


def test_land_then_run_again_sends_nothing(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")
    who.sandbox.set_time_scale(FAST)
    rc, _, err = who.run(*LAND)
    assert rc == 0, err
    landed = who.remote_sha("master")
    # the remote-tracking ref follows the landing (GitLab's merge commit, fetched)
    assert who.git("rev-parse", "refs/remotes/origin/master") == landed
    _remember_pipelines(who)
    mark = len(who.sandbox.request_log)

    rc, out, err = who.run("staging")

    assert rc == 0, err
    staging = who.git("rev-parse", "staging")
    assert f"master already contains staging ({staging[:12]})" in out
    assert "no merge request, no pipeline" in out
    _nothing_sent(who, mark)

    rc, out, err = who.run("staging", "--json")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["verdict"] == "up_to_date" and doc["exit_code"] == 0
    assert doc["merge_request"] is None and doc["pipeline"] is None
    assert doc["up_to_date"] == {
        "target": "master",
        "target_sha": landed,
        "branch": "staging",
        "branch_sha": staging,
    }
    _nothing_sent(who, mark)


def test_push_only_land_then_run_again_sends_nothing(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer("green", branch_pipelines=True, merge_pipelines_enabled=False)
    who.sandbox.set_time_scale(FAST)
    rc, _, err = who.run(*LAND, "--no-mr")
    assert rc == 0, err
    staging = who.git("rev-parse", "staging")
    assert who.remote_sha("master") == staging
    assert who.git("rev-parse", "refs/remotes/origin/master") == staging
    _remember_pipelines(who)
    mark = len(who.sandbox.request_log)

    rc, out, err = who.run("staging", "--no-mr")

    assert rc == 0, err
    assert "master already contains staging" in out
    _nothing_sent(who, mark)


def test_a_stale_origin_master_is_fetched_before_the_checks(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")
    stale = who.git("rev-parse", "refs/remotes/origin/master")
    # someone else landed staging on GitLab; this clone has not fetched since
    who.git("push", "-q", "origin", "staging:master", env=who.token_env())
    who.git("update-ref", "refs/remotes/origin/master", stale)
    mark = len(who.sandbox.request_log)

    rc, out, err = who.run("staging")

    assert rc == 0, err
    assert "master already contains staging" in out
    assert "checks passed" not in out + err  # nothing was checked again
    assert who.git("rev-parse", "refs/remotes/origin/master") == who.remote_sha("master")
    fetched = [r for r in git_calls(who.log_since(mark)) if r.path.endswith("git-upload-pack")]
    assert fetched, "the target was not fetched"
    assert not calls(who.log_since(mark), "POST", r".*/merge_requests")


def test_the_policy_file_is_read_from_the_fetched_target(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")
    # GitLab's master gains a policy turning the sign-off check off
    who.git("checkout", "-q", "-b", "policy", "master")
    (who.repo / ".send-mergereq.toml").write_text('[checks.signoff]\nseverity = "off"\n')
    who.git("add", ".send-mergereq.toml")
    who.git("commit", "-q", "--no-gpg-sign", "-m", "policy\n\nSigned-off-by: M <m@example.org>")
    stale = who.git("rev-parse", "refs/remotes/origin/master")
    who.git("push", "-q", "origin", "policy:master", env=who.token_env())
    who.git("update-ref", "refs/remotes/origin/master", stale)
    who.git("checkout", "-q", "staging")
    who.commit("no sign-off here", trailer=False)

    rc, out, err = who.run("staging", "--dry-run")
    assert rc == 3, out + err  # offline: the stale target has no policy, sign-off is an error
    assert "signoff" in out
    assert who.git("rev-parse", "refs/remotes/origin/master") == stale

    rc, out, err = who.run("staging")
    assert rc == 0, out + err  # the server's policy: sign-off off, the MR is opened
    assert "opened merge request !1" in out


def test_dry_run_stays_offline(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")
    rc, _, err = who.run("staging", "--dry-run", token="")
    assert rc == 0, err
    assert not who.sandbox.request_log
    assert not api_calls(who.sandbox.request_log)


def test_a_local_target_is_compared_on_gitlab_before_the_mr(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")
    who.git("push", "-q", "origin", "staging:master", env=who.token_env())
    mark = len(who.sandbox.request_log)

    rc, out, err = who.run("staging", "--target", "master")  # the local master: not fetched

    assert rc == 0, err
    assert "master already contains staging" in out and "on GitLab" in out
    assert not calls(who.log_since(mark), "POST", r".*/merge_requests")
    assert not pushes(who.log_since(mark))
