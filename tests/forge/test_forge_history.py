"""``gitlab/history.py`` against ``responses``: the exact queries GitLab documents
(``lib/api/ci/pipelines.rb``), paging to the limit and no further, the bounds, and each
pipeline's jobs with ``include_retried=true`` turned into attempts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import responses
from responses import matchers

import gitlab_api as g
from send_mergereq.errors import ForgeError
from send_mergereq.gitlab import history
from send_mergereq.gitlab.credentials import Secret, Token
from send_mergereq.gitlab.forge import Forge
from send_mergereq.jobs.cache import JobsCache
from send_mergereq.jobs.health import Attempt

PROJECT_URL = f"{g.API}/projects/{quote(g.PROJECT_PATH, safe='')}"
PIPELINES = f"{g.P}/pipelines"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gitlab.utils.time.sleep", lambda _s: None)


def connect(rsps: responses.RequestsMock) -> Forge:
    g.get(rsps, PROJECT_URL, g.project())
    return Forge.connect(g.URL, Token(Secret(g.TOKEN), "GITLAB_TOKEN"), g.PROJECT_PATH)


def finished(pid: int, ref: str = "master", status: str = "success") -> dict[str, Any]:
    return g.pipeline(pid, ref, g.HEAD, status)


def page(
    rsps: responses.RequestsMock, items: list[Any], number: int, pages: int | None, **query: Any
) -> None:
    """One page of the listing, asked exactly so; ``pages`` None: no totals said."""
    headers = {"X-Page": str(number), "X-Per-Page": "100"}
    if pages is not None:
        headers["X-Total-Pages"] = str(pages)
    if pages is None or number < pages:
        headers["X-Next-Page"] = str(number + 1)
    params = {"ref": "master", "scope": "finished", "order_by": "id", "sort": "desc",
              "per_page": "100", **query}  # fmt: skip
    if number > 1:
        params["page"] = str(number)
    rsps.get(PIPELINES, body=json.dumps(items), content_type="application/json",
             headers=headers, match=[matchers.query_param_matcher(params)])  # fmt: skip


def test_each_source_is_one_listing_read_to_the_limit_and_no_further(
    rsps: responses.RequestsMock,
) -> None:
    forge = connect(rsps)
    push = list(range(3000, 2700, -1))  # three pages of 100 on the server
    page(rsps, [finished(i) for i in push[:100]], 1, 3, source="push")
    page(rsps, [finished(i) for i in push[100:200]], 2, 3, source="push")
    scheduled = [{**finished(i), "source": "schedule"} for i in (3500, 2600)]
    page(rsps, scheduled, 1, 1, source="schedule")
    listed = history.list_finished(forge, "master", ("push", "schedule"), limit=150)
    ids = [p["id"] for p in listed]
    assert len(ids) == 150 and ids == sorted(ids, reverse=True)
    assert ids[:2] == [3500, 3000] and 2600 not in ids  # merged, the newest 150
    # page 3 of push was never asked: assert_all_requests_are_fired holds the rest


def test_a_small_limit_is_one_request(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    page(rsps, [finished(i) for i in range(500, 400, -1)], 1, 9, source="push")
    assert len(history.list_finished(forge, "master", ("push",), limit=20)) == 20


def test_updated_after_is_passed_as_gitlab_reads_it(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    since = "2026-10-01T00:00:00Z"
    page(rsps, [finished(7)], 1, 1, source="push", updated_after=since)
    listed = history.list_finished(forge, "master", ("push",), limit=5000, updated_after=since)
    assert [p["id"] for p in listed] == [7]


def test_other_refs_and_unfinished_pipelines_are_left_out(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    items = [finished(9), finished(8, ref="staging"), finished(7, status="running"),
             finished(6, status="canceled"), {**finished(5), "source": "web"}]  # fmt: skip
    page(rsps, items, 1, 1, source="push")
    assert [p["id"] for p in history.list_finished(forge, "master", ("push",), limit=10)] == [9, 6]


def test_a_page_past_the_announced_last_is_refused_in_one_line(
    rsps: responses.RequestsMock,
) -> None:
    forge = connect(rsps)
    rsps.get(PIPELINES, json=[finished(i) for i in range(100)],
             headers={"X-Next-Page": "5", "X-Total-Pages": "1"})  # fmt: skip
    with pytest.raises(ForgeError, match="after the 1 pages it said it holds"):
        history.list_finished(forge, "master", ("push",), limit=1000)


def test_an_endless_listing_stops_at_the_page_bound(
    rsps: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history, "MAX_PAGES", 3)
    forge = connect(rsps)
    for number in (1, 2, 3):
        page(rsps, [finished(number * 1000 + i) for i in range(100)], number, None, source="push")
    assert len(history.list_finished(forge, "master", ("push",), limit=5000)) == 300


def test_jobs_are_read_with_their_retried_attempts(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    jobs = [
        g.job(12, "check-unit", "success", pipeline_id=77),
        g.job(11, "check-unit", "failed", pipeline_id=77, retried=True),
        g.job(10, "build", "success", pipeline_id=77, allow_failure=True, duration=None),
    ]
    rsps.get(f"{PIPELINES}/77/jobs", json=jobs, match=[matchers.query_param_matcher(
        {"include_retried": "true", "per_page": "100"})])  # fmt: skip
    listed = [finished(77)]
    records, fetched = history.fetch_history(forge, listed, JobsCache(None).get)
    assert fetched == 1
    (record,) = records
    assert record.id == 77 and record.updated_at == "2026-11-25T14:00:05.000Z"
    unit_old = next(a for a in record.attempts if a.id == 11)
    assert (unit_old.status, unit_old.retried, unit_old.duration) == ("failed", True, 60.0)
    assert unit_old.finished_at == history.parse_time("2026-11-25T14:01:01.000Z")
    build = next(a for a in record.attempts if a.name == "build")
    assert build.allow_failure and build.duration is None


def test_a_cached_pipeline_is_not_read_again_unless_it_changed(
    rsps: responses.RequestsMock,
) -> None:
    forge = connect(rsps)
    kept = (Attempt(1, "build", "success"),)
    cached = {(77, "2026-11-25T14:00:05.000Z"): kept}
    rsps.get(f"{PIPELINES}/78/jobs", json=[g.job(5, "build", pipeline_id=78)])
    listed = [finished(78), finished(77)]
    seen: list[int] = []
    records, fetched = history.fetch_history(
        forge, listed, lambda pid, updated: cached.get((pid, updated)), seen.append
    )
    assert fetched == 1 and seen == [1, 2]
    assert records[1].attempts == kept


def test_a_closed_gate_s_history_failing_to_read_is_a_note_not_a_failure(
    rsps: responses.RequestsMock, tmp_path: Any
) -> None:
    from send_mergereq.jobs.gate_history import said

    forge = connect(rsps)
    rsps.get(PIPELINES, json={"message": "403 Forbidden"}, status=403)
    notes: list[str] = []
    assert said(forge, tmp_path, "master", ["check-qtest"], notes.append) == {}
    assert notes == [
        "master's history not read: GitLab refused (403) listing the finished pipelines of "
        "master: 403 Forbidden"
    ]


def test_a_closed_gate_reads_one_listing_page_of_the_target(
    rsps: responses.RequestsMock, tmp_path: Any
) -> None:
    import subprocess

    from send_mergereq.jobs.gate_history import LAST, histories

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    forge = connect(rsps)
    query = {"ref": "master", "scope": "finished", "order_by": "id", "sort": "desc",
             "per_page": str(LAST)}  # fmt: skip
    g.get(rsps, PIPELINES, [finished(9), finished(8, status="failed")], **query)
    rsps.get(f"{PIPELINES}/9/jobs", json=[g.job(90, "check-qtest", "failed", pipeline_id=9)])
    rsps.get(f"{PIPELINES}/8/jobs", json=[g.job(80, "check-qtest", "failed", pipeline_id=8)])
    found = histories(forge, tmp_path, "master", ["check-qtest", "new-job"])
    assert list(found) == ["check-qtest"]  # a job that never ran there has no history
    assert (found["check-qtest"].verdict, found["check-qtest"].failures) == ("broken_on_target", 2)


def test_a_listing_paged_by_link_alone_is_followed(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    base = {"ref": "master", "scope": "finished", "order_by": "id", "sort": "desc",
            "per_page": "100", "source": "push"}  # fmt: skip
    nxt = f"{PIPELINES}?page=2&per_page=100"
    rsps.get(PIPELINES, json=[finished(i) for i in range(300, 200, -1)],
             headers={"Link": f'<{nxt}>; rel="next"'},
             match=[matchers.query_param_matcher(base)])  # fmt: skip
    rsps.get(PIPELINES, json=[finished(i) for i in range(200, 150, -1)],
             match=[matchers.query_param_matcher({**base, "page": "2"})])  # fmt: skip
    assert len(history.list_finished(forge, "master", ("push",), limit=200)) == 150
