"""gitlab/forge.py, changes sent once (issue 24): a merge, a job retry or play, a pipeline or
MR create whose answer is lost is read back, never re-sent blindly; GitLab's 403 "Job is not
retryable" for a job GitLab already retried (``retry:``) is its newer attempt; every call has
a small retry budget and each long wait is said. GitLab's side through ``responses``."""

from __future__ import annotations

import pytest
import requests
import responses

import gitlab_api as g
from land_api import MERGE, MR, connect, mr
from send_mergereq.errors import ForgeError, TransientForgeError
from send_mergereq.gitlab.credentials import Secret, Token
from send_mergereq.gitlab.forge import Forge
from send_mergereq.gitlab.ratelimit import RETRY_BUDGET

pytestmark = pytest.mark.usefixtures("no_backoff_sleep")  # rsps and it: land_api.py

BAD_GATEWAY = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def test_a_merge_whose_answer_is_lost_is_read_back_merged_and_sent_once(
    rsps: responses.RequestsMock,
) -> None:
    forge = connect(rsps)
    rsps.put(f"{MR}/merge", body=BAD_GATEWAY, status=502, content_type="text/html")
    g.get(rsps, MR, mr(state="merged", sha=g.HEAD, merge_commit_sha=MERGE))
    attempt = forge.merge_mr(7, g.HEAD)
    assert attempt.merged and attempt.answer_lost and attempt.merge_commit_sha == MERGE
    assert [c.request.method for c in rsps.calls].count("PUT") == 1


def test_a_dropped_merge_read_back_open_lands_nothing_and_is_not_resent(
    rsps: responses.RequestsMock,
) -> None:
    forge = connect(rsps)
    rsps.put(f"{MR}/merge", body=requests.ConnectionError("reset by peer"))
    g.get(rsps, MR, mr(state="opened", sha=g.HEAD))
    with pytest.raises(TransientForgeError) as err:
        forge.merge_mr(7, g.HEAD)
    assert "!7 read back is opened, not merged: nothing landed" in err.value.message
    assert [c.request.method for c in rsps.calls].count("PUT") == 1


def test_a_lost_merge_read_back_merged_at_another_head_is_not_ours(
    rsps: responses.RequestsMock,
) -> None:
    forge = connect(rsps)
    rsps.put(f"{MR}/merge", body=requests.ConnectionError("reset by peer"))
    g.get(rsps, MR, mr(state="merged", sha=g.OLD_HEAD, merge_commit_sha=MERGE))
    attempt = forge.merge_mr(7, g.HEAD)
    assert not attempt.merged
    assert attempt.reason and f"not at the tested {g.HEAD[:12]}" in attempt.reason


def test_a_job_gitlab_already_retried_answers_403_and_its_new_attempt_is_returned(
    rsps: responses.RequestsMock,
) -> None:
    forge = connect(rsps)
    rsps.post(f"{g.P}/jobs/901/retry", json={"message": "403 Forbidden - Job is not retryable"},
              status=403)  # fmt: skip
    g.get(rsps, f"{g.P}/jobs/901", g.job(901, "check", "failed"))
    g.get(rsps, f"{g.P}/pipelines/500/jobs", [g.job(902, "check", "pending")], per_page="100")
    fresh = forge.retry_job(901)
    assert fresh.id == 902 and fresh.status == "pending"


def test_a_403_without_a_newer_attempt_is_still_an_error(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    rsps.post(f"{g.P}/jobs/901/retry", json={"message": "403 Forbidden"}, status=403)
    g.get(rsps, f"{g.P}/jobs/901", g.job(901, "check", "failed"))
    g.get(rsps, f"{g.P}/pipelines/500/jobs", [g.job(901, "check", "failed")], per_page="100")
    with pytest.raises(ForgeError, match=r"refused \(403\) retrying job 901"):
        forge.retry_job(901)


def test_a_lost_job_retry_is_read_back_not_resent(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    rsps.post(f"{g.P}/jobs/901/retry", body=BAD_GATEWAY, status=502, content_type="text/html")
    g.get(rsps, f"{g.P}/jobs/901", g.job(901, "check", "failed"))
    g.get(rsps, f"{g.P}/pipelines/500/jobs", [g.job(902, "check", "pending")], per_page="100")
    assert forge.retry_job(901).id == 902
    assert [c.request.method for c in rsps.calls].count("POST") == 1


def test_a_lost_mr_pipeline_create_finds_the_new_pipeline(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    old = g.pipeline(500, "refs/merge-requests/7/merge", g.MERGE_SHA, "success")
    new = g.pipeline(501, "refs/merge-requests/7/merge", g.MERGE_SHA, "created")
    rsps.post(f"{MR}/pipelines", body=requests.ConnectionError("reset"))
    g.get(rsps, f"{MR}/pipelines", [new, old], per_page="100")
    assert forge.create_mr_pipeline(7, after=old["id"]).id == 501
    assert [c.request.method for c in rsps.calls].count("POST") == 1


def test_a_lost_mr_create_finds_the_mr_it_opened(rsps: responses.RequestsMock) -> None:
    from send_mergereq.gitlab.forge import MrSpec

    forge = connect(rsps)
    mine = {"source_branch": "staging", "target_branch": "master"}
    query = {**mine, "state": "opened", "per_page": "100"}
    g.get(rsps, f"{g.P}/merge_requests", [], **query)
    rsps.post(f"{g.P}/merge_requests", body=requests.ConnectionError("reset"))
    g.get(rsps, f"{g.P}/merge_requests", [mr(**mine)], **query)
    found = forge.open_or_update_mr("staging", "master", MrSpec(title=mr()["title"],
                                    description=mr()["description"]))  # fmt: skip
    assert found.iid == 7 and found.created
    assert [c.request.method for c in rsps.calls].count("POST") == 1


def test_every_call_has_a_small_retry_budget_and_each_long_wait_is_said(
    rsps: responses.RequestsMock,
) -> None:
    said: list[str] = []
    g.get(rsps, f"{g.API}/projects/{g.PROJECT_PATH.replace('/', '%2F')}", g.project())
    forge = Forge.connect(g.URL, Token(Secret(g.TOKEN), "GITLAB_TOKEN"), g.PROJECT_PATH,
                          notify=said.append)  # fmt: skip
    for _ in range(RETRY_BUDGET + 1):
        rsps.get(f"{g.P}/merge_requests", json=g.error("429 Too Many Requests"), status=429,
                 headers={"Retry-After": "30"})  # fmt: skip
    with pytest.raises(TransientForgeError):
        forge.find_open_mr("staging", "master")
    assert said == [
        f"GitLab answered 429 (rate limited): waiting 30 s before asking again ({n}/4)"
        for n in range(1, RETRY_BUDGET + 1)
    ]


@pytest.mark.parametrize(
    ("version", "sent"),
    [
        ("17.11.0-ee", {"auto_merge": True}),
        ("18.2.1", {"auto_merge": True}),
        ("17.10.4-ee", {"merge_when_pipeline_succeeds": True}),
    ],
)
def test_auto_merge_by_its_name_where_gitlab_has_it(
    rsps: responses.RequestsMock, version: str, sent: dict[str, bool]
) -> None:
    """lib/api/merge_requests.rb (17.11+): ``merge_when_pipeline_succeeds`` is "Deprecated:
    Use auto_merge instead"; older servers know only the old name."""
    from responses import matchers

    forge = connect(rsps)
    g.get(rsps, f"{g.API}/version", {"version": version, "revision": "abc"})
    rsps.put(f"{MR}/merge", json=mr(merge_when_pipeline_succeeds=True),
             match=[matchers.json_params_matcher(sent),
                    matchers.query_param_matcher({"sha": g.HEAD})])  # fmt: skip
    forge.set_auto_merge(7, g.HEAD)


def test_rest_names_of_every_17x_detailed_merge_status_have_words() -> None:
    """The REST values (the mergeability checks' identifiers), not GraphQL's enum names
    (app/graphql/types/merge_requests/detailed_merge_status_enum.rb maps BLOCKED_STATUS to
    merge_request_blocked, EXTERNAL_STATUS_CHECKS to status_checks_must_pass)."""
    from send_mergereq.gitlab.refusals import MERGE_STATUS_WORDS, refusal_reason

    rest = [
        "unchecked",
        "checking",
        "preparing",
        "mergeable",
        "ci_must_pass",
        "ci_still_running",
        "not_open",
        "draft_status",
        "discussions_not_resolved",
        "not_approved",
        "merge_request_blocked",
        "conflict",
        "need_rebase",
        "requested_changes",
        "jira_association_missing",
        "status_checks_must_pass",
        "security_policy_violations",
        "security_policy_pipeline_check",
        "locked_paths",
        "locked_lfs_files",
        "title_regex",
        "merge_time",
        "commits_status",
        "broken_status",
        "approvals_syncing",
    ]
    assert not [name for name in rest if name not in MERGE_STATUS_WORDS and name != "mergeable"]
    assert "external_status_checks" not in MERGE_STATUS_WORDS
    line = refusal_reason(405, "405 Method Not Allowed", iid=7,
                          detailed_status="status_checks_must_pass")  # fmt: skip
    assert line == "GitLab refused to merge !7 (405): external status checks have not passed"


def test_a_train_car_is_read_from_the_post_answer(rsps: responses.RequestsMock) -> None:
    """ee/lib/api/merge_trains.rb: the POST answers 201 with the whole train."""
    from responses import matchers

    forge = connect(rsps, merge_trains_enabled=True)
    assert forge.info.merge_trains_enabled
    train = g.pipeline(600, "refs/merge-requests/7/train", g.MERGE_SHA)
    other = {"id": 1, "merge_request": {"iid": 3}, "status": "fresh", "pipeline": None}
    mine = {"id": 2, "merge_request": {"iid": 7}, "status": "fresh", "pipeline": train}
    rsps.post(f"{g.P}/merge_trains/merge_requests/7", json=[other, mine], status=201,
              match=[matchers.json_params_matcher({"sha": g.HEAD})])  # fmt: skip
    car = forge.add_to_merge_train(7, g.HEAD)
    assert car is not None and car.id == 2
    pipeline = forge.train_pipeline(car)
    assert pipeline is not None and pipeline.id == 600


def test_a_train_refusal_is_one_line(rsps: responses.RequestsMock) -> None:
    from send_mergereq.gitlab.forge import MergeRefused

    forge = connect(rsps, merge_trains_enabled=True)
    rsps.post(f"{g.P}/merge_trains/merge_requests/7", status=409,
              json=g.error(f"SHA does not match HEAD of source branch: {g.OLD_HEAD}"))  # fmt: skip
    with pytest.raises(MergeRefused, match=r"\(409\): the source branch moved"):
        forge.add_to_merge_train(7, g.HEAD)
