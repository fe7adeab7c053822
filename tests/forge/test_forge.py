from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import requests
import responses
from responses import matchers

import gitlab_api as g
from send_mergereq.errors import ConfigError, ForgeError, TransientForgeError
from send_mergereq.gitlab.credentials import Secret, Token
from send_mergereq.gitlab.forge import Forge, MrSpec
from send_mergereq.models import PipelineKind
from send_mergereq.run.people import did_you_mean, resolve

PROJECT_URL = f"{g.API}/projects/{quote(g.PROJECT_PATH, safe='')}"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
    for call in mock.calls:
        assert g.TOKEN not in call.request.url  # never in a URL
        assert call.request.headers.get("PRIVATE-TOKEN") == g.TOKEN


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """python-gitlab sleeps between retries; record the waits instead of sleeping."""
    waits: list[float] = []
    monkeypatch.setattr("gitlab.utils.time.sleep", waits.append)
    return waits


def token() -> Token:
    return Token(Secret(g.TOKEN), "GITLAB_TOKEN")


def connect(rsps: responses.RequestsMock, **project: object) -> Forge:
    g.get(rsps, PROJECT_URL, g.project(**project))
    return Forge.connect(g.URL, token(), g.PROJECT_PATH)


# -- project ------------------------------------------------------------------


def test_connect_reads_the_project_by_its_path(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    assert forge.info.id == g.PROJECT_ID
    assert forge.info.merge_pipelines_enabled is True
    assert forge.info.default_branch == "master"
    assert len(rsps.calls) == 1


def test_project_without_merged_results_field(rsps: responses.RequestsMock) -> None:
    body = g.project()
    del body["merge_pipelines_enabled"]  # GitLab Free does not send it
    g.get(rsps, PROJECT_URL, body)
    assert Forge.connect(g.URL, token(), g.PROJECT_PATH).info.merge_pipelines_enabled is False


def test_project_404_names_the_project(rsps: responses.RequestsMock) -> None:
    g.get(rsps, PROJECT_URL, g.error("404 Project Not Found"), status=404)
    with pytest.raises(ForgeError) as err:
        Forge.connect(g.URL, token(), g.PROJECT_PATH)
    assert err.value.message == f"GitLab project {g.PROJECT_PATH} not found at {g.URL} (404)"
    assert err.value.exit_code == 6


def test_401_says_token_rejected_without_the_token(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    g.get(rsps, PROJECT_URL, g.error("401 Unauthorized"), status=401)
    with pytest.raises(ForgeError) as err:
        Forge.connect(g.URL, token(), g.PROJECT_PATH)
    assert "GitLab rejected the token (401)" in err.value.message
    assert "GITLAB_TOKEN" in str(err.value.hint)
    assert err.value.exit_code == 6
    for text in (err.value.message, str(err.value.hint), repr(err.value), caplog.text):
        assert g.TOKEN not in text
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_5xx_is_retried_by_python_gitlab_then_transient(
    rsps: responses.RequestsMock, no_backoff_sleep: list[float]
) -> None:
    for _ in range(6):  # the first try and 5 retries: an unreachable GitLab is said in ~3 s
        g.get(rsps, PROJECT_URL, g.error("502 Bad Gateway"), status=502)
    with pytest.raises(TransientForgeError, match="GitLab answered 502 while looking up project"):
        Forge.connect(g.URL, token(), g.PROJECT_PATH)
    assert no_backoff_sleep == [0.1, 0.2, 0.4, 0.8, 1.6]


def test_429_honours_retry_after_then_succeeds(
    rsps: responses.RequestsMock, no_backoff_sleep: list[float]
) -> None:
    rsps.get(PROJECT_URL, json=g.error("429 Too Many Requests"), status=429,
             headers={"Retry-After": "7"})  # fmt: skip
    g.get(rsps, PROJECT_URL, g.project())
    assert Forge.connect(g.URL, token(), g.PROJECT_PATH).info.id == g.PROJECT_ID
    assert no_backoff_sleep == [7]


def test_dropped_connection_is_transient(rsps: responses.RequestsMock) -> None:
    for _ in range(6):  # the first try and 5 retries
        rsps.get(PROJECT_URL, body=requests.ConnectionError("connection reset"))
    with pytest.raises(TransientForgeError, match="cannot reach GitLab") as err:
        Forge.connect(g.URL, token(), g.PROJECT_PATH)
    assert err.value.exit_code == 6


@pytest.mark.parametrize(("status", "expected"), [(200, True), (404, False), (403, None)])
def test_is_protected(rsps: responses.RequestsMock, status: int, expected: bool | None) -> None:
    forge = connect(rsps)
    body = {"id": 1, "name": "staging", "push_access_levels": [], "merge_access_levels": []}
    g.get(rsps, f"{g.P}/protected_branches/staging", body if status == 200 else g.error("x"),
          status=status)  # fmt: skip
    assert forge.is_protected("staging") is expected


# -- merge requests -----------------------------------------------------------

SPEC = MrSpec(title="Merge staging: 2 pull requests (pull-a, pull-b)", description="new text")
LIST_MR = {"source_branch": "staging", "target_branch": "master", "state": "opened",
           "per_page": "100"}  # fmt: skip


def test_opens_the_merge_request_when_none_is_open(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    g.get(rsps, f"{g.P}/merge_requests", [], **LIST_MR)
    rsps.post(
        f"{g.P}/merge_requests",
        json=g.merge_request(7, title=SPEC.title, description=SPEC.description),
        status=201,
        match=[matchers.json_params_matcher({"source_branch": "staging",
               "target_branch": "master", "title": SPEC.title, "description": "new text"})],
    )  # fmt: skip
    mr = forge.open_or_update_mr("staging", "master", SPEC)
    assert (mr.iid, mr.created, mr.title) == (7, True, SPEC.title)
    assert mr.web_url.endswith("/-/merge_requests/7")


def test_updates_the_open_one_with_only_what_changed(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    g.get(rsps, f"{g.P}/merge_requests", [g.merge_request(7, title=SPEC.title)], **LIST_MR)
    rsps.put(
        f"{g.P}/merge_requests/7",
        json=g.merge_request(7, title=SPEC.title, description="new text"),
        match=[matchers.json_params_matcher({"description": "new text"})],
    )
    mr = forge.open_or_update_mr("staging", "master", SPEC)
    assert (mr.iid, mr.created) == (7, False)


def test_unchanged_merge_request_is_not_written(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    same = g.merge_request(7, title=SPEC.title, description=SPEC.description)
    g.get(rsps, f"{g.P}/merge_requests", [same], **LIST_MR)
    assert forge.open_or_update_mr("staging", "master", SPEC).iid == 7
    assert [c.request.method for c in rsps.calls] == ["GET", "GET"]


def test_list_filters_are_checked_client_side(rsps: responses.RequestsMock) -> None:
    """A server that ignores the filters must not make us update someone else's MR."""
    forge = connect(rsps)
    others = [
        g.merge_request(3, source_branch="feature"),
        g.merge_request(4, target_branch="stable-8.0"),
        g.merge_request(5, state="merged"),
        g.merge_request(6, source_project_id=99),  # from a fork, same branch name
    ]
    g.get(rsps, f"{g.P}/merge_requests", others, **LIST_MR)
    rsps.post(f"{g.P}/merge_requests", json=g.merge_request(8), status=201)
    assert forge.open_or_update_mr("staging", "master", SPEC).iid == 8


def test_409_race_updates_the_one_another_run_opened(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    g.get(rsps, f"{g.P}/merge_requests", [], **LIST_MR)
    rsps.post(
        f"{g.P}/merge_requests",
        json={"message": ["Another open merge request already exists for this source branch: !9"]},
        status=409,
    )
    g.get(rsps, f"{g.P}/merge_requests", [g.merge_request(9, title="theirs")], **LIST_MR)
    rsps.put(f"{g.P}/merge_requests/9", json=g.merge_request(9, title=SPEC.title))
    mr = forge.open_or_update_mr("staging", "master", SPEC)
    assert (mr.iid, mr.created) == (9, False)
    assert [c.request.method for c in rsps.calls] == ["GET", "GET", "POST", "GET", "PUT"]


def test_409_without_an_open_one_is_an_error(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    g.get(rsps, f"{g.P}/merge_requests", [], **LIST_MR)
    rsps.post(f"{g.P}/merge_requests", json={"message": ["conflict"]}, status=409)
    g.get(rsps, f"{g.P}/merge_requests", [], **LIST_MR)
    with pytest.raises(ForgeError, match="409"):
        forge.open_or_update_mr("staging", "master", SPEC)


def test_403_on_create_says_what_was_refused(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    g.get(rsps, f"{g.P}/merge_requests", [], **LIST_MR)
    rsps.post(f"{g.P}/merge_requests", json=g.error("403 Forbidden"), status=403)
    with pytest.raises(ForgeError) as err:
        forge.open_or_update_mr("staging", "master", SPEC)
    assert err.value.message == (
        "GitLab refused (403) opening the merge request staging → master: 403 Forbidden"
    )
    assert not isinstance(err.value, TransientForgeError)


def test_labels_and_assignees_are_sent(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    g.get(rsps, f"{g.API}/users", [{"id": 42, "username": "max", "name": "Max"}],
          username="Max", per_page="100")  # fmt: skip
    g.get(rsps, f"{g.API}/users", [{"id": 43, "username": "rita", "name": "Rita"}],
          username="rita", per_page="100")  # fmt: skip
    people = resolve(forge, ["Max"], ["rita"])  # GitLab matches a username in any case
    spec = MrSpec(title="t", description="d", labels=("ci", "pull"),
                  assignee_ids=people.assignee_ids, reviewer_ids=people.reviewer_ids)  # fmt: skip
    g.get(rsps, f"{g.P}/merge_requests", [], **LIST_MR)
    rsps.post(
        f"{g.P}/merge_requests",
        json=g.merge_request(7, labels=["ci", "pull"]),
        status=201,
        match=[matchers.json_params_matcher({"source_branch": "staging",
               "target_branch": "master", "title": "t", "description": "d",
               "labels": "ci,pull", "assignee_ids": [42], "reviewer_ids": [43]})],
    )  # fmt: skip
    forge.open_or_update_mr("staging", "master", spec)


def test_unknown_assignee_is_a_usage_error_with_the_close_names(
    rsps: responses.RequestsMock,
) -> None:
    forge = connect(rsps)
    g.get(rsps, f"{g.API}/users", [], username="maxx", per_page="100")
    g.get(rsps, f"{g.API}/users", [{"id": 44, "username": "maxine"}], search="maxx",
          per_page="100")  # fmt: skip
    g.get(rsps, f"{g.API}/users", [{"id": 42, "username": "max"}, {"id": 44, "username": "maxine"}],
          search="max", per_page="100")  # fmt: skip
    g.get(rsps, f"{g.P}/members/all", [{"id": 9, "username": "rita"}], per_page="100")
    with pytest.raises(ConfigError) as err:
        resolve(forge, ["maxx"], [])
    assert err.value.message == "--assignee maxx: no such GitLab user"
    assert err.value.hint == "did you mean 'max' or 'maxine'? nothing was pushed"


def test_a_mention_is_a_username_and_an_empty_one_is_refused(
    rsps: responses.RequestsMock,
) -> None:
    forge = connect(rsps)
    g.get(rsps, f"{g.API}/users", [{"id": 42, "username": "max"}], username="max", per_page="100")
    assert resolve(forge, ["@max"], []).assignee_ids == (42,)
    with pytest.raises(ConfigError, match="--reviewer needs a GitLab username"):
        resolve(forge, [], [" "])


def test_close_names_are_matched_without_regard_to_case() -> None:
    assert did_you_mean("Alcie", ["bob", "ALICE", "carol"]) == ["ALICE"]
    assert did_you_mean("zzz", ["bob", "alice"]) == []


def test_auto_merge_guards_with_sha(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    rsps.put(
        f"{g.P}/merge_requests/7/merge",
        json=g.merge_request(7, merge_when_pipeline_succeeds=True),
        match=[matchers.json_params_matcher({"merge_when_pipeline_succeeds": True}),
               matchers.query_param_matcher({"sha": g.HEAD})],
    )  # fmt: skip
    forge.set_auto_merge(7, g.HEAD)


def test_merge_request_with_head_pipeline(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    head = g.pipeline(501, "refs/merge-requests/7/merge", g.MERGE_SHA)
    g.get(rsps, f"{g.P}/merge_requests/7", g.merge_request(7, head_pipeline=head))
    mr, pipeline = forge.merge_request(7)
    assert mr.sha == g.HEAD
    assert pipeline is not None
    assert (pipeline.id, pipeline.kind) == (501, PipelineKind.MERGED_RESULT)


# -- pipelines ----------------------------------------------------------------


def test_mr_pipelines_follow_pagination(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    first = [g.pipeline(600 - i, "staging", g.OLD_HEAD) for i in range(100)]
    second = [
        g.pipeline(400, "refs/merge-requests/7/head", g.HEAD),
        g.pipeline(399, "refs/merge-requests/7/merge", g.MERGE_SHA),
    ]
    g.paged(rsps, f"{g.P}/merge_requests/7/pipelines", [first, second], per_page=100)
    pipelines = forge.mr_pipelines(7)
    assert len(pipelines) == 102
    assert pipelines[-2].kind == PipelineKind.DETACHED
    assert pipelines[-1].kind == PipelineKind.MERGED_RESULT
    assert pipelines[0].web_url == f"{g.URL}/{g.PROJECT_PATH}/-/pipelines/600"


def test_branch_pipelines_filter_and_recheck(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    g.get(
        rsps,
        f"{g.P}/pipelines",
        [g.pipeline(510, "staging", g.HEAD), g.pipeline(509, "master", g.HEAD)],
        ref="staging", sha=g.HEAD, order_by="id", sort="desc", per_page="100",
    )  # fmt: skip
    assert [p.id for p in forge.branch_pipelines("staging", g.HEAD)] == [510]


def test_create_mr_pipeline(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    body = g.pipeline(520, "refs/merge-requests/7/merge", g.MERGE_SHA, "created")
    rsps.post(f"{g.P}/merge_requests/7/pipelines", status=201, json=body)
    created = forge.create_mr_pipeline(7)
    assert (created.id, created.kind, created.status) == (
        520,
        PipelineKind.MERGED_RESULT,
        "created",
    )


def test_create_mr_pipeline_refused_by_ci_config(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    rsps.post(f"{g.P}/merge_requests/7/pipelines", status=400,
              json={"message": {"base": ["No stages / jobs for this pipeline."]}})  # fmt: skip
    with pytest.raises(
        ForgeError, match=r"GitLab 400 while creating a pipeline for !7: .*No stages"
    ):
        forge.create_mr_pipeline(7)


# -- the watch loop's source ----------------------------------------------------


def test_get_pipeline_kind_from_ref(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    g.get(rsps, f"{g.P}/pipelines/500", g.pipeline(500, "refs/merge-requests/7/head", g.HEAD))
    pipeline = forge.get_pipeline(500)
    assert (pipeline.kind, pipeline.sha, pipeline.status) == (
        PipelineKind.DETACHED,
        g.HEAD,
        "running",
    )


def test_list_jobs_all_pages_of_100(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    pages = [[g.job(1000 + i, f"job-{i}") for i in range(100)], [g.job(2000, "last", "failed")]]
    g.paged(rsps, f"{g.P}/pipelines/500/jobs", pages, per_page=100)
    jobs = forge.list_jobs(500)
    assert len(jobs) == 101
    assert jobs[-1].status == "failed"
    assert jobs[-1].failure_reason == "script_failure"
    assert jobs[-1].pipeline_id == 500
    assert len(rsps.calls) == 3


def test_manual_job_and_allow_failure(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    g.get(rsps, f"{g.P}/pipelines/500/jobs",
          [g.job(1, "deploy", "manual", allow_failure=True)], per_page="100")  # fmt: skip
    (deploy,) = forge.list_jobs(500)
    assert (deploy.when, deploy.allow_failure, deploy.is_bridge) == ("manual", True, False)


def test_list_bridges_with_downstream(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    bridge = g.job(30, "trigger-child", "running",
                   downstream_pipeline=g.pipeline(501, "staging", g.HEAD))  # fmt: skip
    waiting = g.job(31, "trigger-later", "created", downstream_pipeline=None)
    g.get(rsps, f"{g.P}/pipelines/500/bridges", [bridge, waiting], per_page="100")
    found = forge.list_bridges(500)
    assert [(b.is_bridge, b.downstream_pipeline_id) for b in found] == [(True, 501), (True, None)]


def test_trace_retry_play(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    rsps.get(f"{g.P}/jobs/7/trace", body=b"\x1b[31mboom\x1b[0m\nexit 1\n\xff")
    rsps.post(f"{g.P}/jobs/7/retry", json=g.job(8, "build", "pending"), status=201)
    rsps.post(f"{g.P}/jobs/9/play", json=g.job(9, "deploy", "pending"))
    g.get(rsps, f"{g.P}/jobs/9", g.job(9, "deploy", "pending"))
    assert forge.job_trace(7).startswith("\x1b[31mboom")
    retried = forge.retry_job(7)
    assert (retried.id, retried.status, retried.pipeline_id) == (8, "pending", 500)
    assert forge.play_job(9).status == "pending"


def test_redaction_canary_nowhere(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    """Every request authenticates by header; no error, log or repr carries the token."""
    caplog.set_level(logging.DEBUG)
    forge = connect(rsps)
    g.get(rsps, f"{g.P}/pipelines/1", g.error("404 Not found"), status=404)
    with pytest.raises(ForgeError) as err:
        forge.get_pipeline(1)
    shown = [err.value.message, str(err.value.hint), repr(err.value), repr(forge), caplog.text]
    shown += [json.dumps(c.request.url) for c in rsps.calls]
    assert all(g.TOKEN not in text for text in shown)


def test_the_last_merged_merge_request_is_the_latest_merged_at_of_this_project(
    rsps: responses.RequestsMock,
) -> None:
    forge = connect(rsps)
    merged = {"state": "merged", "merge_commit_sha": "c" * 40}
    g.get(rsps, f"{g.P}/merge_requests", [
        g.merge_request(4, **merged, merged_at="2026-12-01T10:00:00.000Z"),
        g.merge_request(9, **merged, merged_at="2026-12-05T10:00:00.000Z",
                        source_project_id=999),  # a fork's staging: not ours
        g.merge_request(6, **merged, merged_at="2026-12-03T10:00:00.000Z"),
    ], source_branch="staging", target_branch="master", state="merged", order_by="updated_at",
       sort="desc", per_page="100")  # fmt: skip

    found = forge.last_merged_mr("staging", "master")

    assert found is not None and found.iid == 6 and found.state == "merged"
    assert found.merged_at == "2026-12-03T10:00:00.000Z" and found.merge_commit_sha == "c" * 40


def test_no_merged_merge_request(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    g.get(rsps, f"{g.P}/merge_requests", [], source_branch="staging", target_branch="master",
          state="merged", order_by="updated_at", sort="desc", per_page="100")  # fmt: skip
    assert forge.last_merged_mr("staging", "master") is None
