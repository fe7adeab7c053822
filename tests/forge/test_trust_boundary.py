"""The token goes to the configured GitLab origin only, and every request ends: real loopback
servers that redirect elsewhere or drip their answers one byte a second."""

from __future__ import annotations

import time
from typing import Any

import pytest

from hostile_http import PROJECT, Answer, json_answer, serve
from send_mergereq import deadline
from send_mergereq.errors import ExitCode, ForgeError, TimedOutError, TransientForgeError
from send_mergereq.gitlab import client
from send_mergereq.gitlab.credentials import Secret, Token
from send_mergereq.gitlab.entities import MrSpec
from send_mergereq.gitlab.forge import Forge
from send_mergereq.watch.loop import watch
from send_mergereq.watch.types import WatchOptions

CANARY = "glpat-CANARY-redirect-0123456789"
TOKEN = Token(Secret(CANARY), "GITLAB_TOKEN")
PROJECT_PATH = "/api/v4/projects/group%2Fproj"


def _to(base: str, status: int) -> Any:
    def handler(method: str, path: str) -> Answer:
        return Answer(status, b"", {"Location": base + path})

    return handler


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_port_is_refused_and_never_gets_the_token(status: int) -> None:
    with (
        serve(lambda method, path: json_answer(PROJECT)) as elsewhere,
        serve(_to(elsewhere.url, status)) as gitlab,
    ):
        with pytest.raises(ForgeError) as err:
            Forge.connect(gitlab.url, TOKEN, "group/proj")
        assert elsewhere.carrying(CANARY) == []
        assert elsewhere.seen == []
        assert len(gitlab.carrying(CANARY)) == 1  # the one request, to the configured origin
    assert err.value.exit_code is ExitCode.GITLAB_OR_GIT
    message = err.value.message
    assert f"GitLab at {gitlab.url} redirected ({status}) to {elsewhere.url}" in message
    assert "another origin" in message and CANARY not in message
    assert "--gitlab-url" in (err.value.hint or "")


@pytest.mark.parametrize("status", [307, 308])
def test_a_write_redirected_elsewhere_keeps_its_body_and_token_home(status: int) -> None:
    def gitlab_answers(method: str, path: str) -> Answer:
        if method == "POST":
            return Answer(status, b"", {"Location": elsewhere.url + path})
        if "/merge_requests" in path:
            return json_answer([])
        return json_answer(PROJECT)

    with serve(lambda m, p: json_answer({"iid": 1})) as elsewhere, serve(gitlab_answers) as gl:
        forge = Forge.connect(gl.url, TOKEN, "group/proj")
        with pytest.raises(ForgeError, match="another origin"):
            forge.open_or_update_mr("staging", "master", MrSpec("t", "d"))
        assert elsewhere.seen == []


def test_a_same_host_http_to_https_redirect_says_to_use_the_https_url() -> None:
    def handler(method: str, path: str) -> Answer:
        return Answer(301, b"", {"Location": f"https://127.0.0.1:{port}{path}"})

    with serve(handler) as gitlab:
        port = gitlab.url.rsplit(":", 1)[1]
        with pytest.raises(ForgeError) as err:
            Forge.connect(gitlab.url, TOKEN, "group/proj")
    assert "use the https URL: --gitlab-url https://127.0.0.1:" in (err.value.hint or "")
    assert err.value.exit_code is ExitCode.GITLAB_OR_GIT


def test_a_redirect_on_the_same_origin_is_followed() -> None:
    def handler(method: str, path: str) -> Answer:
        if path.startswith(PROJECT_PATH):
            return Answer(301, b"", {"Location": "/api/v4/projects/1"})
        return json_answer(PROJECT)

    with serve(handler) as gitlab:
        forge = Forge.connect(gitlab.url, TOKEN, "group/proj")
        assert forge.info.id == 1
        assert [r["path"] for r in gitlab.carrying(CANARY)][-1] == "/api/v4/projects/1"


def _drip_after_project(method: str, path: str) -> Answer:
    if path.startswith(PROJECT_PATH) and "/pipelines" not in path:
        return json_answer(PROJECT)
    return Answer(200, b'{"id": 5, "status": "running"}' + b" " * 1000, drip=0.2)


def test_a_dripping_answer_ends_at_the_request_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "REQUEST_DEADLINE", 1.0)
    with serve(lambda m, p: Answer(200, b"{}" + b" " * 1000, drip=0.2)) as gitlab:
        started = time.monotonic()
        with pytest.raises(TransientForgeError) as err:
            Forge.connect(gitlab.url, TOKEN, "group/proj")
        ended = time.monotonic() - started
    assert (
        err.value.message == "GitLab did not answer within 1s while looking up project group/proj"
    )
    assert ended < 30  # it ended (the drip alone lasts > 200 s)


def test_the_overall_deadline_ends_a_request_in_flight_as_timed_out() -> None:
    with serve(_drip_after_project) as gitlab:
        forge = Forge.connect(gitlab.url, TOKEN, "group/proj")
        with deadline.overall(1.0), pytest.raises(TimedOutError) as err:
            forge.get_pipeline(5)
    assert err.value.exit_code is ExitCode.TIMED_OUT


class _Quiet:
    def update(self, snapshot: object) -> None: ...
    def reconnecting(self, error: object, retry_in: float) -> None: ...
    def retried(self, job: object, count: int, limit: int) -> None: ...
    def finish(self, result: object) -> None: ...
    def close(self) -> None: ...


def test_the_watch_times_out_with_a_request_in_flight() -> None:
    with serve(_drip_after_project) as gitlab:
        forge = Forge.connect(gitlab.url, TOKEN, "group/proj")
        result = watch(forge, 5, _Quiet(), WatchOptions(timeout=1.0), resume_command="r")
    assert result.exit_code is ExitCode.TIMED_OUT


def test_no_answer_for_the_give_up_time_ends_the_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "REQUEST_DEADLINE", 0.5)
    options = WatchOptions(give_up_after=2.0, max_fault_wait=0.2)
    with serve(_drip_after_project) as gitlab:
        forge = Forge.connect(gitlab.url, TOKEN, "group/proj")
        with pytest.raises(ForgeError) as err:
            watch(forge, 5, _Quiet(), options, resume_command="send-mergereq status x")
    assert err.value.message.startswith("GitLab has not answered for ")
    assert "did not answer within 0.5s" in err.value.message
    assert (err.value.hint or "").endswith("resume with: send-mergereq status x")
