"""forge_land.py and land.py against GitLab's documented answers (``responses``): the
sha-guarded merge and each refusal, staleness, ancestry; the mode layers with a real repo."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import responses
from responses import matchers

import gitlab_api as g
from gitrepo import Repo
from send_mergereq.config import Flags, load_settings
from send_mergereq.credentials import Secret, Token
from send_mergereq.errors import ConfigError, ExitCode, TransientForgeError
from send_mergereq.forge import Forge
from send_mergereq.forge_land import branch_head, contains, merge_mr
from send_mergereq.gate import Outcome, Verdict
from send_mergereq.land import MrLanding, inspect, land_merge_request, mode_for
from send_mergereq.land_push import is_ancestor
from send_mergereq.landing import LandHow, LandMode
from send_mergereq.models import Pipeline, PipelineKind

PROJECT_URL = f"{g.API}/projects/{quote(g.PROJECT_PATH, safe='')}"
MR = f"{g.P}/merge_requests/7"
MASTER, MOVED, MERGE = "1" * 40, "2" * 40, "3" * 40
OPEN = Verdict(Outcome.OPEN, "pipeline passed")


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
    for call in mock.calls:
        assert g.TOKEN not in (call.request.url or "")


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gitlab.utils.time.sleep", lambda _s: None)


def connect(rsps: responses.RequestsMock, **project: Any) -> Forge:
    g.get(rsps, PROJECT_URL, g.project(**project))
    return Forge.connect(g.URL, Token(Secret(g.TOKEN), "GITLAB_TOKEN"), g.PROJECT_PATH)


def mr(**overrides: Any) -> dict[str, Any]:
    return g.merge_request(7, **overrides)


def put_merge(rsps: responses.RequestsMock, body: Any, status: int = 200) -> None:
    rsps.put(
        f"{MR}/merge",
        json=body,
        status=status,
        match=[matchers.query_param_matcher({"sha": g.HEAD})],
    )


def branch(rsps: responses.RequestsMock, sha: str, name: str = "master") -> None:
    g.get(rsps, f"{g.P}/repository/branches/{name}", {"name": name, "commit": {"id": sha}})


def commit(rsps: responses.RequestsMock, sha: str, parents: list[str]) -> None:
    body = {"id": sha, "short_id": sha[:8], "parent_ids": parents, "title": "Merge"}
    g.get(rsps, f"{g.P}/repository/commits/{sha}", body)


def merged_result(sha: str = MERGE) -> Pipeline:
    ref = "refs/merge-requests/7/merge"
    return Pipeline(42, "success", ref, sha, "", PipelineKind.MERGED_RESULT)


# -- the merge call and GitLab's refusals ---------------------------------------------------


def test_merge_sends_the_sha_guard_and_keeps_the_source_branch(
    rsps: responses.RequestsMock,
) -> None:
    forge = connect(rsps)
    put_merge(rsps, mr(state="merged", merge_commit_sha=MERGE))
    attempt = merge_mr(forge, 7, g.HEAD)
    assert attempt.merged and attempt.merge_commit_sha == MERGE and attempt.reason is None
    sent = rsps.calls[-1].request
    assert parse_qs(urlsplit(sent.url or "").query)["sha"] == [g.HEAD]
    assert json.loads(sent.body or "{}") == {"should_remove_source_branch": False}


def test_409_the_sha_guard_held(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    put_merge(rsps, g.error(f"SHA does not match HEAD of source branch: {g.OLD_HEAD}"), 409)
    attempt = merge_mr(forge, 7, g.HEAD)
    assert not attempt.merged
    assert attempt.reason == (
        "GitLab refused to merge !7 (409): the source branch moved since it was tested, the "
        f"sha guard held (SHA does not match HEAD of source branch: {g.OLD_HEAD})"
    )


@pytest.mark.parametrize(
    ("detailed", "words"),
    [
        ("not_approved", "approvals are missing"),
        ("discussions_not_resolved", "discussions are not resolved"),
        ("conflict", "the source branch conflicts with the target"),
        ("ci_must_pass", "the pipeline must succeed first (GitLab's head pipeline has not)"),
        ("draft_status", "it is a draft"),
        ("need_rebase", "it must be rebased onto the target (fast-forward or semi-linear merges)"),
    ],
)
def test_405_names_gitlabs_reason_from_the_detailed_merge_status(
    rsps: responses.RequestsMock, detailed: str, words: str
) -> None:
    forge = connect(rsps)
    put_merge(rsps, g.error("405 Method Not Allowed"), 405)
    g.get(rsps, MR, mr(detailed_merge_status=detailed))
    attempt = merge_mr(forge, 7, g.HEAD)
    assert attempt.reason == f"GitLab refused to merge !7 (405): {words}"


def test_405_on_a_merge_request_that_is_no_longer_open(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    put_merge(rsps, g.error("405 Method Not Allowed"), 405)
    g.get(rsps, MR, mr(state="closed", detailed_merge_status="not_open"))
    assert merge_mr(forge, 7, g.HEAD).reason == "GitLab refused to merge !7 (405): it is not open"


def test_406_older_gitlab_conflict(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    put_merge(rsps, g.error("Branch cannot be merged"), 406)
    g.get(rsps, MR, mr(detailed_merge_status="conflict", has_conflicts=True))
    reason = merge_mr(forge, 7, g.HEAD).reason
    assert reason == "GitLab refused to merge !7 (406): the source branch conflicts with the target"


def test_422_merge_failed_with_gitlabs_merge_error(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    put_merge(rsps, g.error("Branch cannot be merged"), 422)
    g.get(rsps, MR, mr(merge_error="Something went wrong during merge pre-receive hook"))
    assert merge_mr(forge, 7, g.HEAD).reason == (
        "GitLab could not merge !7 (422 Branch cannot be merged): "
        "Something went wrong during merge pre-receive hook"
    )


def test_401_is_a_refusal_not_a_token_error(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    put_merge(rsps, g.error("401 Unauthorized"), 401)
    reason = merge_mr(forge, 7, g.HEAD).reason or ""
    assert reason.startswith("GitLab refused to merge !7: this account may not merge")


def test_200_but_not_merged_reads_the_merge_error(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    put_merge(rsps, mr(state="opened"))
    error = "Merge failed: locked"
    g.get(rsps, MR, mr(state="opened", merge_error=error, detailed_merge_status="mergeable"))
    attempt = merge_mr(forge, 7, g.HEAD)
    assert not attempt.merged
    assert attempt.reason == "GitLab did not merge !7: Merge failed: locked"


def test_a_5xx_stays_a_transient_error(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    for _ in range(11):  # python-gitlab's own retries
        rsps.put(f"{MR}/merge", json=g.error("502 Bad Gateway"), status=502)
    with pytest.raises(TransientForgeError):
        merge_mr(forge, 7, g.HEAD)
    rsps.reset()


# -- reading the target and commits ---------------------------------------------------------


def test_branch_head_and_missing_branch(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    branch(rsps, MASTER)
    g.get(rsps, f"{g.P}/repository/branches/nope", g.error("404 Branch Not Found"), 404)
    assert branch_head(forge, "master") == MASTER
    assert branch_head(forge, "nope") is None


def test_contains_by_merge_base(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    url = f"{g.P}/repository/merge_base"
    g.get(rsps, url, {"id": MASTER}, **{"refs[]": [g.HEAD, MASTER]})
    g.get(rsps, url, {"id": MASTER}, **{"refs[]": [g.HEAD, MOVED]})
    assert contains(forge, g.HEAD, MASTER) is True
    assert contains(forge, g.HEAD, MOVED) is False
    assert contains(forge, MOVED, MOVED) is True  # no request


# -- land_merge_request ---------------------------------------------------------------------


def test_lands_a_fresh_merged_result_and_reports_the_merge(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    branch(rsps, MASTER)
    commit(rsps, MERGE, [MASTER, g.HEAD])
    put_merge(rsps, mr(state="merged", merge_commit_sha="4" * 40))
    branch(rsps, "4" * 40)
    commit(rsps, "4" * 40, [MASTER, g.HEAD])
    said: list[str] = []
    result = land_merge_request(
        forge, MrLanding(7, g.HEAD, "master"), merged_result(), OPEN, notify=said.append
    )
    assert result.landed and result.how is LandHow.MERGE_REQUEST
    assert (result.sha, result.target_head, result.tested_target) == ("4" * 40, "4" * 40, MASTER)
    assert result.notes == () and said == [f"merging !7 (only if its head is still {g.HEAD[:12]})"]


def test_warns_when_the_target_moved_between_check_and_merge(
    rsps: responses.RequestsMock,
) -> None:
    forge = connect(rsps)
    branch(rsps, MASTER)
    commit(rsps, MERGE, [MASTER, g.HEAD])
    put_merge(rsps, mr(state="merged", merge_commit_sha="4" * 40))
    branch(rsps, "4" * 40)
    commit(rsps, "4" * 40, [MOVED, g.HEAD])
    result = land_merge_request(forge, MrLanding(7, g.HEAD, "master"), merged_result(), OPEN)
    assert result.landed and len(result.notes) == 1 and "moved between" in result.notes[0]


def test_stale_merged_result_never_calls_merge(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    branch(rsps, MOVED)
    commit(rsps, MERGE, [MASTER, g.HEAD])
    result = land_merge_request(forge, MrLanding(7, g.HEAD, "master"), merged_result(), OPEN)
    assert not result.landed and result.stale and result.exit_code is ExitCode.NOT_LANDED
    assert (result.tested_target, result.current_target) == (MASTER, MOVED)
    assert not any(c.request.method == "PUT" for c in rsps.calls)


def test_a_merged_result_of_another_head_never_lands(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    branch(rsps, MASTER)
    commit(rsps, MERGE, [MASTER, g.OLD_HEAD])
    result = land_merge_request(forge, MrLanding(7, g.HEAD, "master"), merged_result(), OPEN)
    assert not result.landed and not result.stale
    assert result.reason == (
        f"pipeline #42 tested {MERGE[:12]}, which is not {g.HEAD[:12]} merged into master"
    )


def test_detached_result_lands_only_while_the_target_is_contained(
    rsps: responses.RequestsMock,
) -> None:
    forge = connect(rsps)
    ref = "refs/merge-requests/7/head"
    detached = Pipeline(43, "success", ref, g.HEAD, "", PipelineKind.DETACHED)
    branch(rsps, MOVED)
    g.get(rsps, f"{g.P}/repository/merge_base", {"id": MASTER}, **{"refs[]": [g.HEAD, MOVED]})
    basis = inspect(forge, detached, g.HEAD, "master")
    assert basis.stale and basis.tested_target is None and basis.current_target == MOVED


def test_a_closed_gate_asks_gitlab_nothing(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    closed = Verdict(Outcome.CLOSED, "check-unit failed")
    result = land_merge_request(forge, MrLanding(7, g.HEAD, "master"), merged_result(), closed)
    assert result.exit_code is ExitCode.GATE_CLOSED and len(rsps.calls) == 1


def test_a_refused_merge_is_exit_7_with_gitlabs_reason(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    branch(rsps, MASTER)
    commit(rsps, MERGE, [MASTER, g.HEAD])
    put_merge(rsps, g.error("405 Method Not Allowed"), 405)
    g.get(rsps, MR, mr(detailed_merge_status="not_approved"))
    result = land_merge_request(forge, MrLanding(7, g.HEAD, "master"), merged_result(), OPEN)
    assert result.exit_code is ExitCode.NOT_LANDED and not result.stale
    reason = "GitLab refused to merge !7 (405): approvals are missing"
    assert result.as_json()["landed_reason"] == reason


# -- local ancestry and the mode layers (real git) -----------------------------------------------


def test_is_ancestor_is_false_for_a_commit_the_repo_does_not_have(make_repo: Any) -> None:
    repo: Repo = make_repo()
    base = repo.head()
    top = repo.commit("on staging")
    assert is_ancestor(repo.path, base, top) and not is_ancestor(repo.path, top, base)
    assert not is_ancestor(repo.path, "f" * 40, top)


def test_mode_from_policy_on_the_target_then_git_config_then_flag(make_repo: Any) -> None:
    repo: Repo = make_repo()
    repo.git("checkout", "-q", "master")
    (repo.path / ".send-mergereq.toml").write_text('mode = "push"\n')
    repo.git("add", ".send-mergereq.toml")
    repo.git("commit", "-q", "-m", "policy: gate on branch pipelines")
    repo.git("checkout", "-q", "staging")  # staging does not have the file: the target's counts
    settings = load_settings(repo.path, "staging", Flags(target="master"), {})
    assert mode_for(settings, None) is LandMode.PUSH
    assert mode_for(settings, False) is LandMode.MR
    repo.git("config", "sendmergereq.mode", "mr")
    settings = load_settings(repo.path, "staging", Flags(target="master"), {})
    assert mode_for(settings, None) is LandMode.MR


def test_a_bad_mode_in_the_policy_file_is_a_config_error(make_repo: Any) -> None:
    repo: Repo = make_repo()
    repo.git("checkout", "-q", "master")
    (repo.path / ".send-mergereq.toml").write_text('mode = "yolo"\n')
    repo.git("add", ".send-mergereq.toml")
    repo.git("commit", "-q", "-m", "policy")
    with pytest.raises(ConfigError, match='mode: expected "mr" or "push"'):
        load_settings(repo.path, "staging", Flags(target="master"), {})
