"""A listing is read to its end, never endlessly: a GitLab that offers one more page forever
(``X-Next-Page: page+1``) is stopped at what it said it holds, or at a hard bound, with one
line (exit 6). Real loopback servers, as a hostile GitLab would answer."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from hostile_http import PROJECT, Answer, json_answer, serve
from send_mergereq.errors import ExitCode, ForgeError
from send_mergereq.gitlab import client
from send_mergereq.gitlab.credentials import Secret, Token
from send_mergereq.gitlab.forge import Forge

TOKEN = Token(Secret("glpat-endless-0123456789"), "GITLAB_TOKEN")


def _job(number: int) -> dict[str, object]:
    return {"id": number, "name": f"job-{number}", "status": "success", "stage": "test"}


def endless(per_page: int = 100, **headers: str) -> object:
    """A GitLab whose every jobs page is full and names the next one, forever."""

    def handler(method: str, path: str) -> Answer:
        if "/jobs" not in path and "/bridges" not in path and "/users" not in path:
            return json_answer(PROJECT)
        page = int(parse_qs(urlsplit(path).query).get("page", ["1"])[0])
        if "/bridges" in path:
            return json_answer([])
        items = [_job(page * 1000 + i) for i in range(per_page)]
        extra = {k.replace("_", "-"): v for k, v in headers.items()}
        return Answer(
            200,
            json.dumps(items).encode(),
            {"Content-Type": "application/json", "X-Next-Page": str(page + 1), **extra},
        )

    return handler


def _list_jobs(url: str) -> ForgeError:
    forge = Forge.connect(url, TOKEN, "group/proj")
    with pytest.raises(ForgeError) as err:
        forge.list_jobs(5)
    return err.value


def test_endless_pages_without_a_total_stop_at_the_item_bound() -> None:
    with serve(endless()) as gitlab:
        error = _list_jobs(gitlab.url)
        pages = [r for r in gitlab.seen if "/jobs" in r["path"]]
    assert error.exit_code is ExitCode.GITLAB_OR_GIT
    assert error.message == (
        f"GitLab's list holds more than {client.MAX_ITEMS:,} items; send-mergereq reads at "
        f"most {client.MAX_ITEMS:,} (while listing jobs of pipeline 5)"
    )
    assert len(pages) == client.MAX_ITEMS // 100 + 1


def test_endless_empty_pages_stop_at_the_page_bound() -> None:
    with serve(endless(per_page=0)) as gitlab:
        error = _list_jobs(gitlab.url)
        pages = [r for r in gitlab.seen if "/jobs" in r["path"]]
    assert error.message == (
        f"GitLab's list went on past {client.MAX_PAGES} pages (0 items); not followed "
        "(while listing jobs of pipeline 5)"
    )
    assert len(pages) == client.MAX_PAGES
    assert "keeps offering pages" in (error.hint or "")


def test_a_next_page_past_the_announced_total_is_not_followed() -> None:
    with serve(endless(X_Total="250", X_Total_Pages="3")) as gitlab:
        error = _list_jobs(gitlab.url)
        pages = [r for r in gitlab.seen if "/jobs" in r["path"]]
    assert error.message == (
        "GitLab's list offered page 4 after the 250 items it said it holds (X-Total); "
        "not followed (while listing jobs of pipeline 5)"
    )
    assert len(pages) == 3


def test_a_next_page_past_the_announced_page_count_is_not_followed() -> None:
    with serve(endless(X_Total_Pages="2")) as gitlab:
        error = _list_jobs(gitlab.url)
    assert "offered page 3 after the 2 pages it said it holds (X-Total-Pages)" in error.message


def test_a_total_beyond_the_bound_is_refused_on_the_first_page() -> None:
    with serve(endless(X_Total="1000000")) as gitlab:
        error = _list_jobs(gitlab.url)
        pages = [r for r in gitlab.seen if "/jobs" in r["path"]]
    assert error.message.startswith(
        f"GitLab's list holds 1,000,000 items; send-mergereq reads at most {client.MAX_ITEMS:,}"
    )
    assert len(pages) == 1


def test_a_user_lookup_is_bounded_too() -> None:
    with serve(endless()) as gitlab:
        forge = Forge.connect(gitlab.url, TOKEN, "group/proj")
        with pytest.raises(ForgeError) as err:
            forge.user_id("alice")
    assert err.value.message.endswith("(while looking up user alice)")
    assert "more than" in err.value.message


def test_a_listing_that_ends_as_announced_is_read_whole() -> None:
    def handler(method: str, path: str) -> Answer:
        if "/jobs" not in path:
            return json_answer(PROJECT)
        page = int(parse_qs(urlsplit(path).query).get("page", ["1"])[0])
        items = [_job(page * 1000 + i) for i in range(100 if page < 3 else 50)]
        headers = {"Content-Type": "application/json", "X-Total": "250", "X-Total-Pages": "3"}
        headers["X-Next-Page"] = str(page + 1) if page < 3 else ""
        return Answer(200, json.dumps(items).encode(), headers)

    with serve(handler) as gitlab:
        jobs = Forge.connect(gitlab.url, TOKEN, "group/proj").list_jobs(5)
    assert len(jobs) == 250
    assert jobs[-1].id == 3049
