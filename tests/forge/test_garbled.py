"""Badly typed JSON from GitLab is a garbled answer (exit 6; a transient fault mid-watch with
the resume hint), never "internal error (a bug)"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import responses

import gitlab_api as g
from send_mergereq.cli import run
from send_mergereq.errors import ExitCode, ForgeError, TransientForgeError
from send_mergereq.gitlab.credentials import Secret, Token
from send_mergereq.gitlab.forge import Forge
from send_mergereq.watch.loop import watch
from send_mergereq.watch.types import WatchOptions

PROJECT_URL = f"{g.API}/projects/{quote(g.PROJECT_PATH, safe='')}"
JOBS = f"{g.P}/pipelines/500/jobs"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gitlab.utils.time.sleep", lambda seconds: None)


def _forge(rsps: responses.RequestsMock) -> Forge:
    g.get(rsps, PROJECT_URL, g.project())
    return Forge.connect(g.URL, Token(Secret(g.TOKEN), "GITLAB_TOKEN"), g.PROJECT_PATH)


def test_a_project_id_that_is_not_a_number_is_a_garbled_answer(
    rsps: responses.RequestsMock,
) -> None:
    g.get(rsps, PROJECT_URL, g.project(id="not-an-int"))
    with pytest.raises(ForgeError) as err:
        Forge.connect(g.URL, Token(Secret(g.TOKEN), "GITLAB_TOKEN"), g.PROJECT_PATH)
    assert err.value.exit_code is ExitCode.GITLAB_OR_GIT
    assert err.value.message == "GitLab's answer is garbled: project id is 'not-an-int'"


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("duration", "ten", "job duration is 'ten'"),
        ("id", "not-an-int", "job id is 'not-an-int'"),
        ("name", {"a": 1}, "job name is {'a': 1}"),
        ("allow_failure", "yes", "job allow_failure is 'yes'"),
        ("duration", "\x1b]0;x\x07", "job duration is '\\x1b]0;x\\x07'"),
    ],
)
def test_a_badly_typed_job_field_is_a_transient_garbled_answer(
    rsps: responses.RequestsMock, field: str, value: Any, said: str
) -> None:
    forge = _forge(rsps)
    g.paged(rsps, JOBS, [[g.job(1, "build") | {field: value}]], per_page=100)
    with pytest.raises(TransientForgeError) as err:
        forge.list_jobs(500)
    assert err.value.message == f"GitLab's answer is garbled: {said}"


def test_a_list_answered_as_an_object_is_garbled(rsps: responses.RequestsMock) -> None:
    forge = _forge(rsps)
    rsps.get(JOBS, json={"id": 1})
    with pytest.raises(TransientForgeError, match="garbled while listing jobs of pipeline 500"):
        forge.list_jobs(500)


class _Faults:
    def __init__(self) -> None:
        self.faults: list[str] = []

    def update(self, snapshot: object) -> None: ...
    def reconnecting(self, error: TransientForgeError, retry_in: float) -> None:
        self.faults.append(error.message)

    def retried(self, job: object, count: int, limit: int) -> None: ...
    def finish(self, result: object) -> None: ...
    def close(self) -> None: ...


def test_mid_watch_a_garbled_answer_is_ridden_out_then_ends_with_the_resume_hint(
    rsps: responses.RequestsMock,
) -> None:
    forge = _forge(rsps)
    g.get(rsps, f"{g.P}/pipelines/500", g.pipeline(500, "staging", g.HEAD))
    g.paged(rsps, f"{g.P}/pipelines/500/bridges", [[]], per_page=100)
    g.paged(rsps, JOBS, [[g.job(1, "build", duration="ten")]], per_page=100)
    now = [0.0]
    display = _Faults()
    with pytest.raises(ForgeError) as err:
        watch(
            forge, 500, display, WatchOptions(give_up_after=60.0, timeout=600.0),
            resume_command="RESUME",
            clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s),
        )  # fmt: skip
    assert display.faults and all("garbled" in f for f in display.faults)
    assert err.value.exit_code is ExitCode.GITLAB_OR_GIT
    assert (err.value.hint or "").endswith("resume with: RESUME")


def test_the_cli_exits_6_in_one_line_not_70(
    make_repo: Any,
    rsps: responses.RequestsMock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo()
    repo.git("remote", "add", "origin", f"{g.URL}/{g.PROJECT_PATH}.git")
    monkeypatch.setenv("GITLAB_TOKEN", g.TOKEN)
    g.get(rsps, PROJECT_URL, g.project(id="not-an-int"))
    code = run(["status", "staging", "--target", "master", "-C", str(repo.path)])
    err = capsys.readouterr().err
    assert code == 6, err
    assert err.splitlines()[0] == (
        "send-mergereq: GitLab's answer is garbled: project id is 'not-an-int'"
    )
    assert "internal error" not in err
