"""Fidelity probes: the Forge, the discovery and the watch against responses shaped exactly
like GitLab's documented examples (docs.gitlab.com REST API pages), not like our sandbox.

Each test is one thing a real GitLab (or an emulation of it) may do that the sandbox does
not: optional fields missing or null, basic field sets, pagination without ``per_page``,
rarer statuses, rate-limit headers, proxy error pages, truncated bodies, foreign projects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
import responses
from responses import matchers

import gitlab_api as g
from send_mergereq.errors import TransientForgeError
from send_mergereq.gate import Outcome, evaluate
from send_mergereq.gitlab.credentials import Secret, Token
from send_mergereq.gitlab.forge import Forge
from send_mergereq.models import Job, Pipeline, PipelineKind
from send_mergereq.run.discovery import Target, best, find_branch_pipeline
from send_mergereq.sandbox import Sandbox
from send_mergereq.watch.loop import fault_wait, watch
from send_mergereq.watch.types import Snapshot, WatchOptions, WatchResult

PROJECT_URL = f"{g.API}/projects/{quote(g.PROJECT_PATH, safe='')}"
MR_REF = "refs/merge-requests/7/merge"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr("gitlab.utils.time.sleep", waits.append)
    return waits


def connect(rsps: responses.RequestsMock, body: dict[str, Any] | None = None) -> Forge:
    g.get(rsps, PROJECT_URL, body if body is not None else g.project())
    return Forge.connect(g.URL, Token(Secret(g.TOKEN), "GITLAB_TOKEN"), g.PROJECT_PATH)


def basic_pipeline(pid: int, ref: str, sha: str, status: str = "running") -> dict[str, Any]:
    """The field set of "List merge request pipelines" in older GitLab docs: four fields."""
    return {"id": pid, "sha": sha, "ref": ref, "status": status}


def doc_job(jid: int, name: str, status: str, **more: Any) -> dict[str, Any]:
    """A job as "List pipeline jobs" documents it; no ``retried`` key (GitLab sends none)."""
    body = {
        "commit": {"id": g.HEAD, "short_id": g.HEAD[:8], "title": "Test the CI integration."},
        "coverage": None,
        "archived": False,
        "allow_failure": False,
        "created_at": "2015-12-24T15:51:21.802Z",
        "started_at": "2015-12-24T17:54:27.722Z",
        "finished_at": "2015-12-24T17:54:27.895Z",
        "erased_at": None,
        "duration": 0.173,
        "queued_duration": 0.010,
        "artifacts_expire_at": None,
        "tag_list": ["docker runner", "macos-10.15"],
        "id": jid,
        "name": name,
        "pipeline": {"id": 6, "project_id": 1, "ref": "main", "sha": g.HEAD, "status": "pending"},
        "ref": "main",
        "artifacts": [],
        "runner": None,
        "stage": "test",
        "status": status,
        "failure_reason": None,
        "tag": False,
        "web_url": f"https://example.com/foo/bar/-/jobs/{jid}",
        "project": {"ci_job_token_scope_enabled": False},
        "user": {"id": 1, "name": "Administrator", "username": "root"},
    }
    return body | more


def doc_bridge(
    jid: int, name: str, status: str, downstream: dict[str, Any] | None
) -> dict[str, Any]:
    """A bridge as "List pipeline trigger jobs" documents it (no runner, no artifacts)."""
    body = doc_job(jid, name, status)
    for key in ("artifacts", "runner", "artifacts_expire_at", "tag_list", "archived"):
        del body[key]
    body["downstream_pipeline"] = downstream
    return body


# -- project ------------------------------------------------------------------------------


def test_project_without_merge_pipelines_field_is_not_merged_results(
    rsps: responses.RequestsMock,
) -> None:
    body = g.project()
    del body["merge_pipelines_enabled"]  # GitLab Free: the field is not exposed at all
    del body["merge_trains_enabled"]
    assert connect(rsps, body).info.merge_pipelines_enabled is False


# -- merge request ------------------------------------------------------------------------


def test_merge_request_head_pipeline_null(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    g.get(rsps, f"{g.P}/merge_requests/7", g.merge_request(7, head_pipeline=None, pipeline=None))
    mr, head = forge.merge_request(7)
    assert (mr.iid, head) == (7, None)


def test_merge_request_without_head_pipeline_key(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    body = g.merge_request(7)
    del body["head_pipeline"]  # the list entity and older GitLab leave it out
    g.get(rsps, f"{g.P}/merge_requests/7", body)
    assert forge.merge_request(7)[1] is None


# -- pipelines ----------------------------------------------------------------------------


def test_mr_pipelines_with_only_the_basic_fields(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    g.get(rsps, f"{g.P}/merge_requests/7/pipelines",
          [basic_pipeline(77, MR_REF, g.MERGE_SHA, "success")], per_page="100")  # fmt: skip
    (pipeline,) = forge.mr_pipelines(7)
    assert (pipeline.kind, pipeline.source, pipeline.created_at) == (
        PipelineKind.MERGED_RESULT,
        "",
        None,
    )
    assert pipeline.web_url == f"{g.URL}/{g.PROJECT_PATH}/-/pipelines/77"


def pages_of_20(url: str, items: list[dict[str, Any]], *, link: bool) -> list[dict[str, Any]]:
    """What a GitLab that ignores ``per_page`` answers: pages of 20 and ``x-next-page``."""
    served = []
    for start in range(0, len(items), 20):
        number = start // 20 + 1
        last = start + 20 >= len(items)
        headers = {"x-page": str(number), "x-per-page": "20", "x-total": str(len(items)),
                   "x-total-pages": str((len(items) + 19) // 20),
                   "x-next-page": "" if last else str(number + 1)}  # fmt: skip
        if link and not last:
            headers["Link"] = f'<{url}?page={number + 1}&per_page=20>; rel="next"'
        served.append({"items": items[start : start + 20], "headers": headers, "page": number})
    return served


def register_pages(rsps: responses.RequestsMock, url: str, served: list[dict[str, Any]]) -> None:
    for entry in served:
        number = entry["page"]
        rsps.get(url, body=json.dumps(entry["items"]), content_type="application/json",
                 headers=entry["headers"],
                 match=[matchers.query_param_matcher({"page": str(number)}, strict_match=False)]
                 if number > 1 else [])  # fmt: skip


@pytest.mark.parametrize("link", [True, False], ids=["with-link", "x-next-page-only"])
def test_jobs_in_pages_of_20_when_per_page_is_ignored(
    rsps: responses.RequestsMock, link: bool
) -> None:
    forge = connect(rsps)
    url = f"{g.P}/pipelines/500/jobs"
    jobs = [doc_job(1000 + i, f"job-{i}", "success") for i in range(249)]
    jobs.append(doc_job(2000, "job-last", "failed"))
    register_pages(rsps, url, list(reversed(pages_of_20(url, jobs, link=link))))
    listed = forge.list_jobs(500)
    assert len(listed) == 250
    assert listed[-1].status == "failed"


def test_more_than_ten_thousand_jobs_without_a_total_are_read_whole(
    rsps: responses.RequestsMock,
) -> None:
    """GitLab counts at most 10,000 items: a longer listing comes without ``x-total``,
    ``x-total-pages`` or ``rel="last"`` (Kaminari's ``without_count``), and is still read to
    its end by ``x-next-page`` (the bound on listings is above it)."""
    forge = connect(rsps)
    url = f"{g.P}/pipelines/500/jobs"
    jobs = [doc_job(100_000 - i, f"job-{i}", "success") for i in range(10_050)]
    served = pages_of_100(url, jobs)
    assert all("x-total" not in entry["headers"] for entry in served)
    register_pages(rsps, url, list(reversed(served)))
    listed = forge.list_jobs(500)
    assert len(listed) == 10_050
    assert listed[-1].id == 100_000 - 10_049


def pages_of_100(url: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """GitLab's pages of 100 for a listing it does not count (more than 10,000 items)."""
    served = []
    for start in range(0, len(items), 100):
        number = start // 100 + 1
        last = start + 100 >= len(items)
        headers = {"x-page": str(number), "x-per-page": "100",
                   "x-next-page": "" if last else str(number + 1)}  # fmt: skip
        if not last:
            headers["Link"] = f'<{url}?page={number + 1}&per_page=100>; rel="next"'
        served.append({"items": items[start : start + 100], "headers": headers, "page": number})
    return served


def test_mr_pipelines_in_pages_of_20_without_link(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    url = f"{g.P}/merge_requests/7/pipelines"
    items = [basic_pipeline(900 - i, MR_REF, g.MERGE_SHA) for i in range(25)]
    register_pages(rsps, url, list(reversed(pages_of_20(url, items, link=False))))
    assert len(forge.mr_pipelines(7)) == 25


# -- canceling (POST /projects/:id/pipelines/:pipeline_id/cancel) ---------------------------


def test_cancel_answers_200_with_the_pipeline_even_when_nothing_was_left(
    rsps: responses.RequestsMock,
) -> None:
    """GitLab's endpoint answers 200 and the pipeline (reset) whether or not anything was
    cancelable (its own TODO: "when pipeline is not cancelable we should return an
    error"); what happened is read from the jobs, never from the status code."""
    forge = connect(rsps)
    url = f"{g.P}/pipelines/500/cancel"
    rsps.post(url, json=basic_pipeline(500, MR_REF, g.MERGE_SHA, "failed"), status=200)
    assert forge.cancel_pipeline(500).status == "failed"


@pytest.mark.parametrize("fault", ["502", "drop"])
def test_a_cancel_whose_answer_is_lost_is_sent_once(
    rsps: responses.RequestsMock, fault: str
) -> None:
    """It changes state at GitLab: python-gitlab's own retries are off for it, so a 502 or
    a dropped connection reaches the caller, who reads the state back."""
    forge = connect(rsps)
    url = f"{g.P}/pipelines/500/cancel"
    if fault == "drop":
        rsps.post(url, body=requests.ConnectionError("connection reset"))
    else:
        rsps.post(url, body=BAD_GATEWAY, status=502, content_type="text/html")
    with pytest.raises(TransientForgeError, match="canceling pipeline 500"):
        forge.cancel_pipeline(500)
    assert [c.request.method for c in rsps.calls].count("POST") == 1


def test_the_statuses_a_cancel_ends_are_gitlabs_in_the_tool_and_the_sandbox() -> None:
    """Ci::HasStatus::CANCELABLE_STATUSES (ALIVE_STATUSES + scheduled - canceling): what the
    tool counts as left to cancel, and what the sandbox's cancel ends. Never "manual"."""
    from send_mergereq.run.cancel import ALIVE
    from send_mergereq.sandbox.status import CANCELABLE

    gitlab_s = {"created", "waiting_for_resource", "preparing", "waiting_for_callback",
                "pending", "running", "scheduled"}  # fmt: skip
    assert set(ALIVE) == set(CANCELABLE) == gitlab_s


# -- jobs ---------------------------------------------------------------------------------


def test_job_that_has_not_started(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    body = doc_job(5, "build", "created", started_at=None, finished_at=None, duration=None,
                   queued_duration=None)  # fmt: skip
    g.get(rsps, f"{g.P}/pipelines/500/jobs", [body], per_page="100")
    (job,) = forge.list_jobs(500)
    assert (job.duration, job.started_at, job.retried, job.allow_failure) == (
        None,
        None,
        False,
        False,
    )


@pytest.mark.parametrize(
    "status", ["waiting_for_resource", "preparing", "scheduled", "canceling", "created"]
)
def test_jobs_on_their_way_keep_the_gate_pending(status: str) -> None:
    jobs = (
        Job(1, "build", "test", "success", pipeline_id=1),
        Job(2, "test", "test", status, pipeline_id=1),
    )
    pipeline = Pipeline(1, "running", MR_REF, g.MERGE_SHA, "u", PipelineKind.MERGED_RESULT,
                        jobs=jobs)  # fmt: skip
    assert evaluate(pipeline).outcome is Outcome.PENDING


@pytest.mark.parametrize("status", ["canceling", "waiting_for_resource", "preparing"])
def test_pipeline_statuses_on_their_way_never_open(status: str) -> None:
    jobs = (Job(1, "build", "test", "success", pipeline_id=1),)
    pipeline = Pipeline(1, status, MR_REF, g.MERGE_SHA, "u", PipelineKind.MERGED_RESULT,
                        jobs=jobs)  # fmt: skip
    assert evaluate(pipeline).outcome is Outcome.PENDING


def test_bridge_without_downstream_yet_then_with(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    url = f"{g.P}/pipelines/500/bridges"
    g.get(rsps, url, [doc_bridge(30, "child", "created", None)], per_page="100")
    child = {"id": 501, "sha": g.HEAD, "ref": "staging", "status": "pending",
             "created_at": "2015-12-24T17:54:27.722Z", "updated_at": "2015-12-24T17:58:27.896Z",
             "web_url": "https://example.com/diaspora/diaspora-client/pipelines/501"}  # fmt: skip
    g.get(rsps, url, [doc_bridge(30, "child", "running", child)], per_page="100")
    assert [b.downstream_pipeline_id for b in forge.list_bridges(500)] == [None]
    assert [b.downstream_pipeline_id for b in forge.list_bridges(500)] == [501]


# -- faults -------------------------------------------------------------------------------

BAD_GATEWAY = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"  # noqa: E501


def test_502_html_page_is_transient_and_said_in_words(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    for _ in range(3):  # the first try and the watch's 2 retries
        rsps.get(f"{g.P}/pipelines/500", body=BAD_GATEWAY, status=502, content_type="text/html")
    with pytest.raises(TransientForgeError) as err:
        forge.get_pipeline(500)
    assert (
        err.value.message
        == "GitLab answered 502 while reading pipeline 500: 502 Bad Gateway 502 Bad Gateway nginx"
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "2"},
        {"Retry-After": "1.5"},
        {"Retry-After": "Wed, 25 Nov 2026 15:00:00 GMT"},
        {"RateLimit-Reset": "1764082800", "RateLimit-Limit": "600", "RateLimit-Remaining": "0"},
        {"RateLimit-Reset": "1764082800.5"},
    ],
    ids=["seconds", "decimal", "http-date", "reset-epoch", "reset-decimal"],
)
def test_429_rate_limit_headers_never_crash(
    rsps: responses.RequestsMock, headers: dict[str, str], no_backoff_sleep: list[float]
) -> None:
    forge = connect(rsps)
    rsps.get(f"{g.P}/pipelines/500", json=g.error("429 Too Many Requests"), status=429,
             headers=headers)  # fmt: skip
    g.get(rsps, f"{g.P}/pipelines/500", g.pipeline(500, MR_REF, g.MERGE_SHA))
    assert forge.get_pipeline(500).id == 500
    assert len(no_backoff_sleep) == 1 and 0 <= no_backoff_sleep[0] <= 60


def test_429_after_the_retries_carries_retry_after(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    for _ in range(3):
        rsps.get(f"{g.P}/pipelines/500", json=g.error("429 Too Many Requests"), status=429,
                 headers={"Retry-After": "9"})  # fmt: skip
    with pytest.raises(TransientForgeError) as err:
        forge.get_pipeline(500)
    assert err.value.retry_after == 9


def test_truncated_body_is_transient(rsps: responses.RequestsMock) -> None:
    """A connection dropped mid-body by a server that sends no Content-Length."""
    forge = connect(rsps)
    rsps.get(f"{g.P}/pipelines/500", body='{"id": 500, "status": "runn',
             content_type="application/json")  # fmt: skip
    with pytest.raises(TransientForgeError, match="reading pipeline 500"):
        forge.get_pipeline(500)


def test_dropped_connection_mid_watch_is_retried(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    rsps.get(f"{g.P}/pipelines/500", body=requests.exceptions.ChunkedEncodingError("reset"))
    g.get(rsps, f"{g.P}/pipelines/500", g.pipeline(500, MR_REF, g.MERGE_SHA))
    assert forge.get_pipeline(500).status == "running"


def test_429_with_a_long_retry_after_is_not_slept_silently(
    rsps: responses.RequestsMock, no_backoff_sleep: list[float]
) -> None:
    """python-gitlab sleeps at most a minute per retry; the watch learns the full wait."""
    forge = connect(rsps)
    for _ in range(3):
        rsps.get(f"{g.P}/pipelines/500", json=g.error("429 Too Many Requests"), status=429,
                 headers={"Retry-After": "3600"})  # fmt: skip
    with pytest.raises(TransientForgeError) as err:
        forge.get_pipeline(500)
    assert no_backoff_sleep == [60, 60]
    assert err.value.retry_after == 3600


def test_watch_waits_out_a_long_retry_after_instead_of_giving_up() -> None:
    options = WatchOptions()
    error = TransientForgeError("429", retry_after=3600)
    assert fault_wait(error, 1, options) == options.max_fault_wait


def test_multi_project_downstream_is_read_from_its_own_project(
    rsps: responses.RequestsMock,
) -> None:
    """A bridge to another project's pipeline (``downstream_pipeline.project_id``, lib/api/
    entities/ci/bridge.rb): that pipeline, its jobs and bridges are read at
    ``/projects/:other/pipelines/:id`` (lib/api/ci/pipelines.rb, lib/api/ci/jobs.rb), never
    at this project's, and carry the other project's id."""
    forge = connect(rsps)
    other = {"id": 901, "project_id": 99, "sha": g.HEAD, "ref": "main", "status": "failed"}
    child = {"id": 902, "project_id": g.PROJECT_ID, "sha": g.HEAD, "ref": "staging",
             "status": "failed"}  # fmt: skip
    g.get(rsps, f"{g.P}/pipelines/500/bridges",
          [doc_bridge(30, "deploy-docs", "failed", other),
           doc_bridge(31, "child", "failed", child)], per_page="100")  # fmt: skip
    found = forge.list_bridges(500)
    assert [(b.downstream_pipeline_id, b.downstream_project_id) for b in found] == [
        (901, 99),
        (902, None),
    ]
    assert found[0].downstream_elsewhere == "pipeline #901 of project 99"
    there = f"{g.API}/projects/99"
    g.get(rsps, f"{there}/pipelines/901", g.pipeline(901, "main", g.HEAD, "failed"))
    docs = doc_job(40, "build-docs", "failed", pipeline=other)
    g.get(rsps, f"{there}/pipelines/901/jobs", [docs], per_page="100")
    g.get(rsps, f"{there}/pipelines/901/bridges", [], per_page="100")
    assert forge.get_pipeline(901, project=99).project_id == 99
    jobs = forge.list_jobs(901, project=99)
    assert [(j.id, j.project_id, j.pipeline_id) for j in jobs] == [(40, 99, 901)]
    assert forge.list_bridges(901, project=99) == []
    # a pipeline of that project whose bridge leads back here is read here, as ours
    g.get(rsps, f"{g.P}/pipelines/903", g.pipeline(903, "staging", g.HEAD, "running"))
    assert forge.get_pipeline(903, project=g.PROJECT_ID).project_id is None


def test_multi_project_downstream_the_token_cannot_read(rsps: responses.RequestsMock) -> None:
    """lib/api/helpers.rb ``find_project!``: a project the token may not read answers
    ``404 Project Not Found`` (a 403 where it is seen but its pipelines are not): both
    are ``UnreadableProject``, not an error that ends the watch; this project's own 404
    stays a ``ForgeError``."""
    from send_mergereq.errors import ForgeError, UnreadableProject

    forge = connect(rsps)
    g.get(rsps, f"{g.API}/projects/99/pipelines/901", g.error("404 Project Not Found"), 404)
    g.get(rsps, f"{g.API}/projects/98/pipelines/902/jobs", g.error("403 Forbidden"), 403,
          per_page="100")  # fmt: skip
    g.get(rsps, f"{g.P}/pipelines/903", g.error("404 Not found"), 404)
    with pytest.raises(UnreadableProject, match="cannot read project 99"):
        forge.get_pipeline(901, project=99)
    with pytest.raises(UnreadableProject, match="cannot read project 98"):
        forge.list_jobs(902, project=98)
    with pytest.raises(ForgeError) as err:
        forge.get_pipeline(903)
    assert not isinstance(err.value, UnreadableProject)


def test_a_failed_multi_project_bridge_is_named_with_gitlabs_reason() -> None:
    """lib/api/entities/ci/bridge.rb: ``downstream_pipeline`` (a PipelineBasic, with its
    ``web_url`` and ``project_id``) and JobBasic's ``failure_reason``, such as
    ``insufficient_bridge_permissions`` (app/models/concerns/enums/ci/commit_status.rb)
    for a bridge whose user may not run the downstream project's pipeline; never
    "(child pipeline #None)"."""
    from send_mergereq.watch.verdict import verdict_lines

    denied = Job(31, "deploy", "deploy", "failed", is_bridge=True, pipeline_id=1,
                 failure_reason="insufficient_bridge_permissions")  # fmt: skip
    other = Job(32, "docs", "deploy", "failed", is_bridge=True, pipeline_id=1,
                failure_reason="downstream_pipeline_failure",
                downstream_elsewhere="https://gitlab.example/docs/-/pipelines/901")  # fmt: skip
    top = Pipeline(1, "failed", MR_REF, g.MERGE_SHA, "u", PipelineKind.MERGED_RESULT,
                   jobs=(denied, other))  # fmt: skip
    verdict = evaluate(top)
    text = "\n".join(verdict_lines(WatchResult(verdict, top, {}, 1.0, "resume")))
    assert "#None" not in text
    assert "deploy/deploy (the token's user may not run the downstream project's pipeline)" in text
    assert "deploy/docs (downstream https://gitlab.example/docs/-/pipelines/901)" in text


# -- the watch over the real Forge --------------------------------------------------------


class Recorder:
    """A Display that keeps the faults it was shown and the verdicts."""

    def __init__(self) -> None:
        self.faults: list[tuple[str, float]] = []
        self.verdicts: list[str] = []

    def update(self, snapshot: Snapshot) -> None:
        self.verdicts.append(snapshot.verdict.outcome.value)

    def reconnecting(self, error: TransientForgeError, retry_in: float) -> None:
        self.faults.append((error.message, retry_in))

    def retried(self, job: Job, count: int, limit: int) -> None:
        raise AssertionError("no retry asked for")

    def finish(self, result: WatchResult) -> None:
        return None

    def close(self) -> None:
        return None


def test_watch_through_502_429_and_a_drop_to_an_open_gate(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    url = f"{g.P}/pipelines/500"
    jobs_url, bridges_url = f"{url}/jobs", f"{url}/bridges"
    # poll 1: running; GitLab's documented job with a flaky sibling already retried
    g.get(rsps, url, g.pipeline(500, MR_REF, g.MERGE_SHA, "running"))
    g.get(rsps, jobs_url, [doc_job(1, "build", "success"),
                           doc_job(3, "flaky", "running", started_at=None, duration=None)],
          per_page="100")  # fmt: skip
    g.get(rsps, bridges_url, [], per_page="100")
    for _ in range(3):  # poll 2: a 502 page three times (the first try and 2 retries)
        rsps.get(url, body=BAD_GATEWAY, status=502, content_type="text/html")
    for _ in range(3):  # poll 3: rate limited
        rsps.get(url, json=g.error("429 Too Many Requests"), status=429,
                 headers={"Retry-After": "4", "RateLimit-Reset": "1764082800"})  # fmt: skip
    for _ in range(3):  # poll 4: the connection drops
        rsps.get(url, body=requests.ConnectionError("Connection aborted"))
    # poll 5: done
    g.get(rsps, url, g.pipeline(500, MR_REF, g.MERGE_SHA, "success"))
    g.get(rsps, jobs_url, [doc_job(1, "build", "success"), doc_job(3, "flaky", "success")],
          per_page="100")  # fmt: skip
    g.get(rsps, bridges_url, [], per_page="100")
    slept: list[float] = []
    display = Recorder()
    result = watch(forge, 500, display, WatchOptions(), resume_command="resume",
                   clock=lambda: sum(slept), sleep=slept.append)  # fmt: skip
    assert result.verdict.outcome is Outcome.OPEN
    assert [wait for _, wait in display.faults] == [2.0, 4.0, 8.0]
    assert display.faults[1][0].startswith("GitLab answered 429")
    assert display.faults[2][0].startswith("cannot reach GitLab")


# -- discovery ----------------------------------------------------------------------------


def test_a_listed_child_pipeline_is_never_the_gate() -> None:
    """Child pipelines carry their parent's ref and sha with a higher id; GitLab leaves them
    out of pipeline lists, an emulation may not."""
    parent = Pipeline(601, "running", MR_REF, g.MERGE_SHA, "u", PipelineKind.MERGED_RESULT,
                      source="merge_request_event")  # fmt: skip
    child = Pipeline(602, "running", MR_REF, g.MERGE_SHA, "u", PipelineKind.MERGED_RESULT,
                     source="parent_pipeline")  # fmt: skip
    assert best([parent, child], Target(7, "staging", g.HEAD, floor=600)) == parent


def test_push_only_never_gates_on_a_child_pipeline(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    listed = [g.pipeline(702, "staging", g.HEAD, source="parent_pipeline"),
              g.pipeline(701, "staging", g.HEAD)]  # fmt: skip
    g.get(rsps, f"{g.P}/pipelines", listed, ref="staging", sha=g.HEAD, order_by="id",
          sort="desc", per_page="100")  # fmt: skip
    found = find_branch_pipeline(forge, "staging", g.HEAD, 700, reuse=False, timeout=0)
    assert found.id == 701


def test_watch_follows_a_child_created_late_to_a_closed_gate(
    rsps: responses.RequestsMock,
) -> None:
    """The bridge has no downstream pipeline yet, then a child that fails; with
    ``strategy: depend`` the bridge will fail too: the child's failed job closes the gate
    at once (fail fast), its log tail fetched once."""
    forge = connect(rsps)
    top, child = f"{g.P}/pipelines/500", f"{g.P}/pipelines/501"
    g.get(rsps, top, g.pipeline(500, MR_REF, g.MERGE_SHA, "running"))  # poll 1
    g.get(rsps, f"{top}/jobs", [doc_job(1, "build", "success")], per_page="100")
    g.get(rsps, f"{top}/bridges", [doc_bridge(2, "tests", "pending", None)], per_page="100")
    downstream = {"id": 501, "project_id": g.PROJECT_ID, "sha": g.MERGE_SHA, "ref": MR_REF,
                  "status": "failed", "source": "parent_pipeline"}  # fmt: skip
    g.get(rsps, top, g.pipeline(500, MR_REF, g.MERGE_SHA, "running"))  # poll 2
    g.get(rsps, f"{top}/jobs", [doc_job(1, "build", "success")], per_page="100")
    g.get(rsps, f"{top}/bridges", [doc_bridge(2, "tests", "running", downstream)],
          per_page="100")  # fmt: skip
    g.get(rsps, child, g.pipeline(501, MR_REF, g.MERGE_SHA, "failed", source="parent_pipeline"))
    failed = doc_job(7, "check-unit", "failed", failure_reason="script_failure")
    g.get(rsps, f"{child}/jobs", [failed], per_page="100")
    g.get(rsps, f"{child}/bridges", [], per_page="100")
    rsps.get(f"{g.P}/jobs/7/trace", body=b"\x1b[31mFAIL\x1b[0m test-aio\n")
    slept: list[float] = []
    result = watch(forge, 500, Recorder(), WatchOptions(), resume_command="resume",
                   clock=lambda: sum(slept), sleep=slept.append)  # fmt: skip
    assert result.verdict.outcome is Outcome.CLOSED
    assert [j.name for j in result.verdict.failed_gating] == ["check-unit"]
    assert result.logs[7].strip() == "FAIL test-aio"


# -- the sandbox behaves like GitLab 17.x where a client can tell (issue 15) ----------------
#
# Each test names the GitLab source it follows (gitlab-org/gitlab, 17.x). They run the
# sandbox over real HTTP with a real git push, and read the raw JSON a client sees.


class Lab:
    """A sandbox project with ``master`` pushed and ``staging`` one commit ahead, pushed."""

    def __init__(self, sandbox: Sandbox, repo: Any, **options: Any) -> None:
        self.sandbox, self.repo = sandbox, repo
        self.info = sandbox.create_project("group/proj", **options)
        self.env = {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Bearer {sandbox.token}",
        }
        self.push("master")
        repo.commit("hw/net: fix the thing", filename="net.c")
        self.push("staging")
        self.api = f"{sandbox.api_url}/projects/group%2Fproj"

    def push(self, *refspecs: str) -> None:
        self.repo.git("push", "-q", self.info.http_url_to_repo, *refspecs, env=self.env)

    def call(self, method: str, path: str, **params: Any) -> requests.Response:
        return requests.request(
            method,
            self.api + path,
            params=params,
            headers={"PRIVATE-TOKEN": self.sandbox.token},
            timeout=30,
        )

    def get(self, path: str, **params: Any) -> Any:
        answer = self.call("GET", path, **params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def open_mr(self) -> dict[str, Any]:
        answer = self.call(
            "POST", "/merge_requests", source_branch="staging", target_branch="master", title="Pull"
        )
        assert answer.status_code == 201, answer.text
        body: dict[str, Any] = answer.json()
        return body


@pytest.fixture
def lab(make_repo: Any) -> Iterator[Any]:
    """``lab(**create_project options)`` -> Lab, on a sandbox with frozen time."""
    with Sandbox(time_scale=0) as sandbox:
        yield lambda **options: Lab(sandbox, make_repo(), **options)
        assert sandbox.errors == []


def test_sandbox_mr_right_after_creation_has_no_pipeline_yet(lab: Any) -> None:
    """app/services/merge_requests/create_pipeline_service.rb (``execute_async``), run by
    MergeRequests::AfterCreateService in a worker; the MR is ``preparing`` until then
    (app/services/merge_requests/mergeability/detailed_merge_status_service.rb ``execute``,
    app/models/merge_request.rb ``public_merge_status``: preparing reads ``checking``)."""
    mr = lab().open_mr()
    assert mr["head_pipeline"] is None and mr["pipeline"] is None
    assert mr["detailed_merge_status"] == "preparing"
    assert mr["merge_status"] == "checking"
    assert mr["prepared_at"] is None


def test_sandbox_mr_pipeline_delay_shows_the_branch_pipeline_first(lab: Any) -> None:
    """app/models/merge_request.rb ``head_pipeline``/``diff_head_pipeline``: with branch
    pipelines, the branch pipeline of the head is the head pipeline until the MR pipeline
    (created after the configured delay) exists."""
    project = lab(branch_pipelines=True, mr_pipeline_delay=600)
    iid = project.open_mr()["iid"]
    mr = project.get(f"/merge_requests/{iid}")
    assert mr["prepared_at"] is not None and mr["detailed_merge_status"] != "preparing"
    assert mr["head_pipeline"]["source"] == "push" and mr["head_pipeline"]["ref"] == "staging"
    project.sandbox.advance(600)
    mr = project.get(f"/merge_requests/{iid}")
    assert mr["head_pipeline"]["source"] == "merge_request_event"


def test_sandbox_mr_pipeline_field_is_metrics_pipeline(lab: Any) -> None:
    """lib/api/entities/merge_request.rb: ``pipeline`` is ``merge_request.metrics&.pipeline``
    (null until the pipeline runs), ``head_pipeline`` is the head pipeline at once."""
    project = lab()
    iid = project.open_mr()["iid"]
    mr = project.get(f"/merge_requests/{iid}")
    assert mr["head_pipeline"]["status"] in ("created", "pending")
    assert mr["pipeline"] is None
    project.sandbox.advance(60)
    mr = project.get(f"/merge_requests/{iid}")
    assert mr["pipeline"]["id"] == mr["head_pipeline"]["id"]


def test_sandbox_mr_pipeline_field_ignores_a_branch_pipeline_started_before_the_mr(
    lab: Any,
) -> None:
    """app/workers/pipeline_metrics_worker.rb: ``metrics.pipeline`` is written on the
    pipeline's own transitions, for the MRs it heads then. A branch pipeline already
    running when the MR is opened is its head pipeline, but not yet its ``pipeline``."""
    project = lab(branch_pipelines=True, mr_pipeline_delay=3600)
    project.sandbox.advance(30)  # staging's branch pipeline is running
    iid = project.open_mr()["iid"]
    mr = project.get(f"/merge_requests/{iid}")
    assert mr["head_pipeline"]["ref"] == "staging"
    assert mr["head_pipeline"]["status"] == "running"
    assert mr["pipeline"] is None
    project.sandbox.advance(4 * 3600)  # it finishes: the worker writes it
    mr = project.get(f"/merge_requests/{iid}")
    assert mr["pipeline"] is not None


def test_sandbox_merge_status_is_git_only(lab: Any) -> None:
    """app/models/merge_request.rb ``public_merge_status`` (git mergeability only); CI is in
    ``detailed_merge_status`` (detailed_merge_status_service.rb ``check_ci_results``)."""
    project = lab(scenario="red")
    iid = project.open_mr()["iid"]
    project.sandbox.advance(60)
    mr = project.get(f"/merge_requests/{iid}")
    assert (mr["merge_status"], mr["detailed_merge_status"]) == (
        "can_be_merged",
        "ci_still_running",
    )
    project.sandbox.advance(4 * 3600)
    mr = project.get(f"/merge_requests/{iid}")
    assert mr["head_pipeline"]["status"] == "failed"
    assert (mr["merge_status"], mr["detailed_merge_status"]) == ("can_be_merged", "ci_must_pass")


def test_sandbox_mr_pipelines_include_the_branch_pipelines_of_its_commits(lab: Any) -> None:
    """app/finders/ci/pipelines_for_merge_request_finder.rb ``all``: MR pipelines, and the
    branch pipelines of the MR's commits (``POST /pipeline`` ones included)."""
    project = lab(branch_pipelines=True)
    iid = project.open_mr()["iid"]
    made = project.call("POST", "/pipeline", ref="staging")
    assert made.status_code == 201, made.text
    project.repo.git("checkout", "-q", "-b", "other", "master")
    project.repo.commit("other work", filename="other.c")
    project.push("other")
    listed = project.get(f"/merge_requests/{iid}/pipelines")
    refs = sorted((p["ref"], p["source"]) for p in listed)
    assert ("refs/merge-requests/1/merge", "merge_request_event") in refs
    assert ("staging", "push") in refs and ("staging", "api") in refs
    assert all(ref != "other" for ref, _ in refs)
    assert [p["id"] for p in listed] == sorted((p["id"] for p in listed), reverse=True)


def test_sandbox_conflict_merge_answers_422(lab: Any) -> None:
    """lib/api/merge_requests.rb, ``PUT …/merge`` in 17.x: a failed git-state check
    (``mergeable_git_state_checks``) answers 422 "Branch cannot be merged"; the MR's
    merge_status is then ``cannot_be_merged`` (app/models/merge_request.rb)."""
    project = lab()
    project.repo.git("checkout", "-q", "master")
    project.repo.commit("a different net.c", filename="net.c")
    project.push("master")
    iid = project.open_mr()["iid"]
    mr = project.get(f"/merge_requests/{iid}")
    assert (mr["merge_status"], mr["detailed_merge_status"]) == ("cannot_be_merged", "conflict")
    answer = project.call("PUT", f"/merge_requests/{iid}/merge", sha=mr["sha"])
    assert answer.status_code == 422
    assert answer.json() == {"message": "Branch cannot be merged"}


def test_sandbox_post_mr_pipeline_answers_200_or_202(lab: Any) -> None:
    """lib/api/merge_requests.rb ``POST …/pipelines``: ``status :ok`` with the pipeline;
    ``status :accepted`` with ``async`` (CreatePipelineService#execute_async)."""
    project = lab()
    iid = project.open_mr()["iid"]
    made = project.call("POST", f"/merge_requests/{iid}/pipelines")
    assert made.status_code == 200 and made.json()["source"] == "merge_request_event"
    before = len(project.get(f"/merge_requests/{iid}/pipelines"))
    later = project.call("POST", f"/merge_requests/{iid}/pipelines", **{"async": "true"})
    assert later.status_code == 202
    assert len(project.get(f"/merge_requests/{iid}/pipelines")) == before + 1  # in a worker


def test_sandbox_failed_bridge_has_a_failure_reason(lab: Any) -> None:
    """lib/api/entities/ci/bridge.rb exposes JobBasic's ``failure_reason``
    (lib/api/entities/ci/job_basic.rb, ``if: failed?``) on a failed depend bridge."""
    project = lab(scenario="child")
    iid = project.open_mr()["iid"]
    project.sandbox.advance(4 * 3600)
    pipeline = project.get(f"/merge_requests/{iid}")["head_pipeline"]
    (bridge,) = project.get(f"/pipelines/{pipeline['id']}/bridges")
    assert bridge["status"] == "failed"
    assert bridge["failure_reason"] == "downstream_pipeline_failure"


def test_sandbox_detailed_status_text_and_queued_duration(lab: Any) -> None:
    """lib/gitlab/ci/status/success.rb, failed.rb (16.0+): ``text`` ``Passed``/``Failed``,
    ``label`` lower case; lib/api/entities/ci/pipeline.rb: ``queued_duration`` an integer."""
    project = lab()
    iid = project.open_mr()["iid"]
    project.get(f"/merge_requests/{iid}")
    project.sandbox.advance(4 * 3600)
    pipeline = project.get(f"/merge_requests/{iid}")["head_pipeline"]
    assert pipeline["detailed_status"]["text"] == "Passed"
    assert pipeline["detailed_status"]["label"] == "passed"
    assert isinstance(pipeline["queued_duration"], int)


def test_sandbox_entity_fields_are_gitlabs(lab: Any) -> None:
    """lib/api/entities/project.rb (``_links``, ``open_issues_count``…), branch.rb and
    commit.rb (the branch's commit), commit_detail.rb (``stats``, ``status``,
    ``last_pipeline``, ``project_id``), merge_request.rb (``diverged_commits_count`` and
    ``rebase_in_progress`` only when asked; no ``merged_commit_sha``), ci/job_basic.rb
    (``pipeline`` as PipelineBasic, with ``iid``)."""
    project = lab()
    info = project.get("")
    assert {"_links", "merge_requests_access_level", "open_issues_count"} <= set(info)
    assert "shared_runners_enabled" in info
    commit = project.get("/repository/branches/staging")["commit"]
    assert {"parent_ids", "committer_name", "committer_email", "trailers", "web_url"} <= set(commit)
    detail = project.get(f"/repository/commits/{commit['id']}")
    assert {"stats", "status", "last_pipeline", "project_id"} <= set(detail)
    assert detail["stats"] == {"additions": 1, "deletions": 0, "total": 1}
    iid = project.open_mr()["iid"]
    mr = project.get(f"/merge_requests/{iid}")
    assert not {"diverged_commits_count", "rebase_in_progress", "merged_commit_sha"} & set(mr)
    asked = project.get(
        f"/merge_requests/{iid}",
        include_diverged_commits_count="true",
        include_rebase_in_progress="true",
    )
    assert (asked["diverged_commits_count"], asked["rebase_in_progress"]) == (0, False)
    pipeline_id = mr["head_pipeline"]["id"]
    job = project.get(f"/pipelines/{pipeline_id}/jobs")[0]
    assert job["pipeline"]["iid"] == mr["head_pipeline"]["iid"]
    detail = project.get(f"/repository/commits/{mr['head_pipeline']['sha']}")  # merge commit
    assert detail["last_pipeline"]["id"] == pipeline_id


def test_sandbox_429_observes_more_than_the_limit(lab: Any) -> None:
    """Rack::Attack (lib/gitlab/rack_attack.rb, ``throttled_responder``): a 429 reports the
    observed count, above the limit, and nothing remaining."""
    project = lab()
    project.sandbox.inject_fault("429", match="/merge_requests")
    answer = project.call("GET", "/merge_requests")
    assert answer.status_code == 429
    observed, limit = (int(answer.headers[h]) for h in ("RateLimit-Observed", "RateLimit-Limit"))
    assert observed > limit and answer.headers["RateLimit-Remaining"] == "0"


def test_sandbox_merge_base_of_an_unknown_ref_is_400(lab: Any) -> None:
    """lib/api/repositories.rb ``merge_base``: unknown refs answer 400 "Could not find ref";
    no common ancestor answers 404 "Merge Base Not Found"."""
    project = lab()
    answer = project.call("GET", "/repository/merge_base", **{"refs[]": ["master", "nope"]})
    assert answer.status_code == 400
    assert answer.json() == {"message": "Could not find ref: nope"}


def test_sandbox_users_by_username_whole_and_any_case_search_by_part(lab: Any) -> None:
    """app/finders/users_finder.rb: ``username`` is User.by_username (``iwhere``: the whole
    name, any case); ``search`` is User.search (fuzzy_arel_match: a word of three characters
    or more anywhere in the name or username, a shorter one only whole)."""
    project = lab()

    def names(**params: str) -> list[str]:
        answer = requests.get(
            f"{project.sandbox.api_url}/users", params=params, timeout=30,
            headers={"PRIVATE-TOKEN": project.sandbox.token},
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        return [u["username"] for u in answer.json()]

    assert names(username="ALICE") == ["alice"]
    assert names(username="alic") == []
    assert names(search="bob") == ["bob.reviewer"]
    assert names(search="review") == ["bob.reviewer"]
    assert names(search="ca") == []
    assert names(search="alcie") == []  # no typo tolerance: the client's difflib does that
    assert names(search="maintainer")[0] == "maintainer"  # the exact username first
    members = project.get("/members/all", per_page=100)  # lib/api/members.rb: direct, inherited
    assert {m["username"] for m in members} >= {"maintainer", "alice", "bob.reviewer"}
    assert all(isinstance(m["access_level"], int) for m in members)


def test_sandbox_lists_merged_merge_requests_by_branch(lab: Any) -> None:
    """lib/api/merge_requests.rb ``GET /projects/:id/merge_requests``: ``state`` one of
    opened, closed, locked, merged, all; ``source_branch``/``target_branch`` filters;
    ``order_by`` created_at, updated_at, merged_at (17.0+), title, ..., else 400
    ("order_by does not have a valid value"); each MR carries ``merged_at``."""
    project = lab()
    iid = project.open_mr()["iid"]
    mine = {"source_branch": "staging", "target_branch": "master"}
    assert project.get("/merge_requests", state="merged", **mine) == []
    assert [m["iid"] for m in project.get("/merge_requests", state="opened", **mine)] == [iid]
    assert project.get("/merge_requests", state="opened", source_branch="other") == []
    bad = project.call("GET", "/merge_requests", order_by="sha")
    assert bad.status_code == 400
    assert bad.json() == {"error": "order_by does not have a valid value"}
    project.sandbox.advance(7200)  # the MR prepared, its pipeline done
    answer = project.call("PUT", f"/merge_requests/{iid}/merge")
    assert answer.status_code == 200, answer.text

    merged = project.get(
        "/merge_requests", state="merged", order_by="updated_at", sort="desc", **mine
    )

    assert [(m["iid"], m["state"]) for m in merged] == [(iid, "merged")]
    assert merged[0]["merged_at"] and merged[0]["merge_commit_sha"]
    assert project.get("/merge_requests", state="opened", **mine) == []


def test_sandbox_bisect_calls_pipelines_by_sha_create_and_cancel(lab: Any) -> None:
    """lib/api/ci/pipelines.rb: ``GET :id/pipelines`` filters by ``sha`` alone, on any ref
    (Ci::PipelinesFinder ``by_sha``); ``POST :id/pipeline`` answers 201 with the pipeline
    (``source`` ``api``); ``POST :id/pipelines/:pipeline_id/cancel`` answers 200 with the
    pipeline reloaded, and a pipeline that cannot be canceled any more is answered as it is
    (no error: "inconsistent behavior … fixed on V5")."""
    project = lab(branch_pipelines=True)
    head = project.repo.git("rev-parse", "staging")
    project.push("staging:refs/heads/staging-bisect-1")
    by_sha = project.get("/pipelines", sha=head)
    assert sorted(p["ref"] for p in by_sha) == ["staging", "staging-bisect-1"]
    created = project.call("POST", "/pipeline", ref="staging-bisect-1")
    assert created.status_code == 201, created.text
    assert (created.json()["source"], created.json()["sha"]) == ("api", head)
    canceled = project.call("POST", f"/pipelines/{created.json()['id']}/cancel")
    assert (canceled.status_code, canceled.json()["status"]) == (200, "canceled")
    project.sandbox.advance(4 * 3600)
    (done,) = [p for p in project.get("/pipelines", sha=head) if p["ref"] == "staging"]
    again = project.call("POST", f"/pipelines/{done['id']}/cancel")
    assert (again.status_code, again.json()["status"]) == (200, "success")


# -- GitLab as it really behaves (issue 24) --------------------------------------------------

_CHILD_WAITS = """
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

_CHILD_SKIPPED = """
name = "child-skipped"
stages = ["test"]
[[jobs]]
name = "cross-builds"
stage = "test"
trigger = "cross"
[children.cross]
stages = ["cross"]
[[children.cross.jobs]]
name = "benchmark"
stage = "cross"
when = "manual"
allow_failure = true
"""

_AUTO_RETRY = """
name = "auto-retry"
stages = ["test", "lint"]
queue_delay = 5
auto_retry_delay = 30
[[jobs]]
name = "check-unit"
stage = "test"
duration = 60
retry = 1
fails_first = 1
[[jobs]]
name = "checkpatch"
stage = "lint"
duration = 60
"""


def _scenario(tmp_path: Any, text: str) -> str:
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _head_pipeline(project: Any, iid: int) -> dict[str, Any]:
    pipeline: dict[str, Any] = project.get(f"/merge_requests/{iid}")["head_pipeline"]
    return pipeline


def test_sandbox_depend_bridge_stays_running_while_its_child_waits_on_a_manual_job(
    lab: Any, tmp_path: Any
) -> None:
    """app/models/ci/bridge.rb ``inherit_status_from_downstream!``: a depend bridge takes
    only its child's end (success, canceled, failed/skipped → failed); a child waiting on a
    manual job (``manual``) leaves the bridge ``running``, so the parent never shows
    ``manual``: a client must look into the child to tell it is blocked."""
    project = lab(scenario=_scenario(tmp_path, _CHILD_WAITS))
    iid = project.open_mr()["iid"]
    project.sandbox.advance(3600)
    pipeline = _head_pipeline(project, iid)
    (bridge,) = project.get(f"/pipelines/{pipeline['id']}/bridges")
    child = project.get(f"/pipelines/{bridge['downstream_pipeline']['id']}")
    assert child["status"] == "manual"
    assert bridge["status"] == "running"
    assert project.get(f"/pipelines/{pipeline['id']}")["status"] == "running"


def test_sandbox_a_skipped_child_fails_its_bridge(lab: Any, tmp_path: Any) -> None:
    """app/models/ci/bridge.rb ``inherit_status_from_downstream!``: ``'failed', 'skipped'``
    → ``inherit_failed!``: the bridge of a skipped child is ``failed``, never ``skipped``."""
    project = lab(scenario=_scenario(tmp_path, _CHILD_SKIPPED))
    iid = project.open_mr()["iid"]
    project.sandbox.advance(3600)
    pipeline = _head_pipeline(project, iid)
    (bridge,) = project.get(f"/pipelines/{pipeline['id']}/bridges")
    assert project.get(f"/pipelines/{bridge['downstream_pipeline']['id']}")["status"] == "skipped"
    assert bridge["status"] == "failed"


def test_sandbox_retry_keyword_retries_a_failed_job_by_itself(lab: Any, tmp_path: Any) -> None:
    """app/models/ci/build.rb ``after_transition any => [:failed]``: when
    ``auto_retry_allowed?`` (``retry:`` in the CI config, lib/gitlab/ci/build/auto_retry.rb)
    Ci::RetryJobService makes the next attempt after the failure is saved; the old attempt
    is ``retried`` and ``GET /pipelines/:id/jobs`` lists only the new one (lib/api/ci/jobs.rb
    ``include_retried``). Until it appears, the failed attempt is listed and the pipeline
    still runs. Retrying the old attempt then answers 403 "Job is not retryable"
    (lib/api/ci/jobs.rb ``post ':id/jobs/:job_id/retry'``, Ci::Build#retryable?)."""
    project = lab(scenario=_scenario(tmp_path, _AUTO_RETRY))
    iid = project.open_mr()["iid"]
    project.sandbox.advance(5 + 60)  # the first attempt has just failed
    pipeline = _head_pipeline(project, iid)
    jobs = f"/pipelines/{pipeline['id']}/jobs"
    (first,) = [j for j in project.get(jobs) if j["stage"] == "test"]
    assert first["status"] == "failed"
    assert project.get(f"/pipelines/{pipeline['id']}")["status"] == "running"
    project.sandbox.advance(30)  # GitLab's moment: the next attempt exists
    (second,) = [
        j for j in project.get(f"/pipelines/{pipeline['id']}/jobs") if j["stage"] == "test"
    ]
    assert second["name"] == "check-unit" and second["id"] > first["id"]
    assert second["status"] in ("pending", "running")
    every = project.get(f"/pipelines/{pipeline['id']}/jobs", include_retried="true")
    assert {first["id"], second["id"]} <= {j["id"] for j in every}
    again = project.call("POST", f"/jobs/{first['id']}/retry")
    assert again.status_code == 403
    assert again.json() == {"message": "403 Forbidden - Job is not retryable"}
    project.sandbox.advance(3600)
    assert project.get(f"/pipelines/{pipeline['id']}")["status"] == "success"


def test_sandbox_merge_train_cars_pipelines_merge_and_404(lab: Any) -> None:
    """ee/lib/api/merge_trains.rb: ``POST /projects/:id/merge_trains/merge_requests/:iid``
    (``sha`` must be the source head: 409) answers 201 with the train's cars; a car's
    ``pipeline`` tests ``refs/merge-requests/IID/train`` (the MR merged onto the target);
    once it passes the MR is merged and the car ``merged``; the project says
    ``merge_trains_enabled``; a project without trains answers 403, an MR never on a
    train 404 (ee/app/models/merge_trains/car.rb statuses)."""
    project = lab()
    iid = project.open_mr()["iid"]
    assert project.get("")["merge_trains_enabled"] is False
    denied = project.call("POST", f"/merge_trains/merge_requests/{iid}")
    assert denied.status_code == 403
    project.sandbox.set_project("group/proj", merge_trains_enabled=True)
    assert project.get("")["merge_trains_enabled"] is True
    assert project.call("GET", f"/merge_trains/merge_requests/{iid}").status_code == 404
    project.sandbox.advance(4 * 3600)
    head = project.get(f"/merge_requests/{iid}")["sha"]
    moved = project.call("POST", f"/merge_trains/merge_requests/{iid}", sha="0" * 40)
    assert moved.status_code == 409
    added = project.call("POST", f"/merge_trains/merge_requests/{iid}", sha=head)
    assert added.status_code == 201
    (car,) = added.json()
    assert car["merge_request"]["iid"] == iid and car["status"] == "fresh"
    assert car["pipeline"]["ref"] == f"refs/merge-requests/{iid}/train"
    project.sandbox.advance(4 * 3600)
    done = project.get(f"/merge_trains/merge_requests/{iid}")
    assert done["status"] == "merged" and done["merged_at"]
    mr = project.get(f"/merge_requests/{iid}")
    assert mr["state"] == "merged" and mr["merge_commit_sha"] == car["pipeline"]["sha"]
    assert [c["id"] for c in project.get("/merge_trains")] == [car["id"]]


_MULTI_PROJECT = """
name = "multi-project"
stages = ["test", "deploy"]
[[jobs]]
name = "unit"
stage = "test"
duration = 60
[[jobs]]
name = "docs"
stage = "deploy"
trigger_project = "group/docs"
[[jobs]]
name = "website"
stage = "deploy"
trigger_project = "group/nowhere"
"""


def test_sandbox_multi_project_bridges(lab: Any, tmp_path: Any) -> None:
    """lib/api/entities/ci/bridge.rb: a bridge's ``downstream_pipeline`` is the other
    project's pipeline (its own ``project_id``, source ``pipeline``); a bridge whose project
    does not exist fails with ``downstream_bridge_project_not_found`` and has none
    (app/models/concerns/enums/ci/commit_status.rb failure reasons)."""
    project = lab(scenario=_scenario(tmp_path, _MULTI_PROJECT))
    docs = project.sandbox.create_project("group/docs", initialize_with_readme=True)
    iid = project.open_mr()["iid"]
    project.sandbox.advance(4 * 3600)
    pipeline = _head_pipeline(project, iid)
    bridges = {b["name"]: b for b in project.get(f"/pipelines/{pipeline['id']}/bridges")}
    assert bridges["docs"]["status"] == "success"
    downstream = bridges["docs"]["downstream_pipeline"]
    assert downstream["project_id"] == docs.id != project.info.id
    assert downstream["source"] == "pipeline"
    assert bridges["website"]["status"] == "failed"
    assert bridges["website"]["failure_reason"] == "downstream_bridge_project_not_found"
    assert bridges["website"]["downstream_pipeline"] is None


def test_sandbox_a_project_the_token_cannot_read_is_not_found(lab: Any, tmp_path: Any) -> None:
    """lib/api/helpers.rb ``find_project!``: a project the token's user may not read answers
    ``404 Project Not Found`` on every ``/projects/:id/...`` endpoint, as one that does not
    exist; the bridge leading to its pipeline still names it (``downstream_pipeline``)."""
    project = lab(scenario=_scenario(tmp_path, _MULTI_PROJECT))
    docs = project.sandbox.create_project("group/docs", initialize_with_readme=True)
    iid = project.open_mr()["iid"]
    project.sandbox.advance(4 * 3600)
    project.sandbox.set_project("group/docs", token_can_read=False)
    pipeline = _head_pipeline(project, iid)
    bridges = {b["name"]: b for b in project.get(f"/pipelines/{pipeline['id']}/bridges")}
    downstream = bridges["docs"]["downstream_pipeline"]
    assert downstream["project_id"] == docs.id
    other = project.api.rsplit("/", 1)[0] + f"/{docs.id}"
    for path in ("", f"/pipelines/{downstream['id']}", f"/pipelines/{downstream['id']}/jobs"):
        answer = requests.get(
            other + path, headers={"PRIVATE-TOKEN": project.sandbox.token}, timeout=30
        )
        assert answer.status_code == 404, path
        assert answer.json() == {"message": "404 Project Not Found"}


def _past(story: dict[str, str], **top: Any) -> Any:
    from send_mergereq.sandbox.past import parse_history

    count = len(next(iter(story.values())))
    jobs = [{"name": name, "story": codes, "duration": 90} for name, codes in story.items()]
    return parse_history({"pipelines": count, "jobs": jobs, **top}, "test")


def test_sandbox_history_pipelines_filtered_as_gitlab_does(lab: Any) -> None:
    """lib/api/ci/pipelines.rb ``GET :id/pipelines``: ``ref``, ``source`` (one value),
    ``scope=finished`` (Ci::PipelinesFinder: success, failed, canceled, skipped),
    ``updated_after`` (ISO 8601), ``order_by=id`` ``sort=desc``, offset pages with
    ``X-Total-Pages``/``X-Next-Page``; each entry has ``created_at``, ``updated_at``,
    ``source`` (Entities::Ci::PipelineBasic)."""
    project = lab(branch_pipelines=True)
    pushes = project.sandbox.seed_history("group/proj", _past({"build": "s" * 130}))
    schedules = project.sandbox.seed_history(
        "group/proj", _past({"build": "sf"}, source="schedule", every_hours=1)
    )
    query = {"ref": "master", "scope": "finished", "order_by": "id", "sort": "desc"}
    first = project.call("GET", "/pipelines", source="push", per_page=100, **query)
    assert first.headers["X-Total"] == "130" and first.headers["X-Next-Page"] == "2"
    assert first.headers["X-Total-Pages"] == "2"
    listed = first.json()
    assert [p["id"] for p in listed] == sorted(pushes, reverse=True)[:100]
    assert {(p["ref"], p["source"], p["status"]) for p in listed} == {("master", "push", "success")}
    assert listed[0]["created_at"] < listed[0]["updated_at"]
    assert listed[1]["created_at"] < listed[0]["created_at"]
    scheduled = project.get("/pipelines", source="schedule", **query)
    assert [(p["id"], p["status"]) for p in scheduled] == [
        (schedules[1], "failed"), (schedules[0], "success")]  # fmt: skip
    # the time shown is cut to milliseconds, the one stored is finer (as GitLab's database
    # has microseconds): "after the 10th newest's updated_at" includes it
    recent = project.get("/pipelines", updated_after=listed[9]["updated_at"], **query)
    assert sorted(p["id"] for p in recent) == sorted(pushes[-10:] + schedules)
    later = project.get("/pipelines", updated_after=listed[8]["created_at"], **query)
    assert pushes[-10] not in [p["id"] for p in later]
    running = project.get("/pipelines", ref="staging", scope="finished")
    assert all(p["status"] in ("success", "failed", "canceled", "skipped") for p in running)
    # ``optional :source, values: ::Ci::Pipeline.sources.keys`` (Enums::Ci::Pipeline.sources):
    # another value is Grape's 400, not an empty list
    bogus = project.call("GET", "/pipelines", source="bogus", **query)
    assert bogus.status_code == 400
    assert bogus.json() == {"error": "source does not have a valid value"}


def test_sandbox_history_jobs_include_retried_as_gitlab_does(lab: Any) -> None:
    """lib/api/ci/pipelines.rb ``GET :id/pipelines/:pipeline_id/jobs``: ``include_retried``
    (Boolean, default false; Ci::JobsFinder) adds the retried attempts; a retry is a new
    job of the same name with a higher id, and Entities::Ci::Job has no ``retried`` key.
    ``allow_failure``, ``duration``, ``created_at`` and ``finished_at`` on every job;
    canceled-before-start and skipped jobs have no times."""
    project = lab()
    (pid,) = project.sandbox.seed_history(
        "group/proj", _past({"unit": "r", "fuzz": "f", "docs": "m", "qtest": "c", "lint": "k"})
    )
    latest = project.get(f"/pipelines/{pid}/jobs")
    every = project.get(f"/pipelines/{pid}/jobs", include_retried="true")
    assert sorted(j["name"] for j in latest) == ["docs", "fuzz", "lint", "qtest", "unit"]
    units = sorted((j for j in every if j["name"] == "unit"), key=lambda j: j["id"])
    assert [j["status"] for j in units] == ["failed", "success"]
    assert all("retried" not in j for j in every)
    assert units[0]["finished_at"] <= units[1]["created_at"] and units[1]["duration"] == 90
    by_name = {j["name"]: j for j in latest}
    assert by_name["fuzz"]["allow_failure"] is False and by_name["fuzz"]["status"] == "failed"
    assert by_name["docs"]["status"] == "manual" and by_name["docs"]["finished_at"] is None
    assert by_name["docs"]["allow_failure"] is True  # when: manual may fail by default
    assert by_name["qtest"]["started_at"] is None and by_name["lint"]["status"] == "skipped"
    assert project.get(f"/pipelines/{pid}")["status"] == "failed"
