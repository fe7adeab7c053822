"""gitlab/forge.py, the landing calls: the sha-guarded merge and GitLab's refusals, branch
heads, ancestry by GitLab's merge base; GitLab's side through ``responses``."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

import gitlab_api as g
from land_api import MASTER, MERGE, MOVED, MR, branch, connect, mr, put_merge
from send_mergereq.errors import ForgeError, TransientForgeError

pytestmark = pytest.mark.usefixtures("no_backoff_sleep")  # rsps and it: land_api.py


# -- the merge call and GitLab's refusals ---------------------------------------------------


def test_merge_sends_the_sha_guard_and_keeps_the_source_branch(
    rsps: responses.RequestsMock,
) -> None:
    forge = connect(rsps)
    put_merge(rsps, mr(state="merged", merge_commit_sha=MERGE))
    attempt = forge.merge_mr(7, g.HEAD)
    assert attempt.merged and attempt.merge_commit_sha == MERGE and attempt.reason is None
    sent = rsps.calls[-1].request
    assert parse_qs(urlsplit(sent.url or "").query)["sha"] == [g.HEAD]
    assert json.loads(sent.body or "{}") == {"should_remove_source_branch": False}


def test_409_the_sha_guard_held(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    put_merge(rsps, g.error(f"SHA does not match HEAD of source branch: {g.OLD_HEAD}"), 409)
    attempt = forge.merge_mr(7, g.HEAD)
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
    attempt = forge.merge_mr(7, g.HEAD)
    assert attempt.reason == f"GitLab refused to merge !7 (405): {words}"


def test_405_on_a_merge_request_that_is_no_longer_open(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    put_merge(rsps, g.error("405 Method Not Allowed"), 405)
    g.get(rsps, MR, mr(state="closed", detailed_merge_status="not_open"))
    assert forge.merge_mr(7, g.HEAD).reason == "GitLab refused to merge !7 (405): it is not open"


def test_406_older_gitlab_conflict(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    put_merge(rsps, g.error("Branch cannot be merged"), 406)
    g.get(rsps, MR, mr(detailed_merge_status="conflict", has_conflicts=True))
    reason = forge.merge_mr(7, g.HEAD).reason
    assert reason == "GitLab refused to merge !7 (406): the source branch conflicts with the target"


def test_422_merge_failed_with_gitlabs_merge_error(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    put_merge(rsps, g.error("Branch cannot be merged"), 422)
    g.get(rsps, MR, mr(merge_error="Something went wrong during merge pre-receive hook"))
    assert forge.merge_mr(7, g.HEAD).reason == (
        "GitLab could not merge !7 (422 Branch cannot be merged): "
        "Something went wrong during merge pre-receive hook"
    )


def test_401_is_a_refusal_not_a_token_error(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    put_merge(rsps, g.error("401 Unauthorized"), 401)
    reason = forge.merge_mr(7, g.HEAD).reason or ""
    assert reason.startswith("GitLab refused to merge !7: this account may not merge")


def test_200_but_not_merged_reads_the_merge_error(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    put_merge(rsps, mr(state="opened"))
    error = "Merge failed: locked"
    g.get(rsps, MR, mr(state="opened", merge_error=error, detailed_merge_status="mergeable"))
    attempt = forge.merge_mr(7, g.HEAD)
    assert not attempt.merged
    assert attempt.reason == "GitLab did not merge !7: Merge failed: locked"


def test_a_5xx_stays_a_transient_error(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    for _ in range(11):  # python-gitlab's own retries
        rsps.put(f"{MR}/merge", json=g.error("502 Bad Gateway"), status=502)
    with pytest.raises(TransientForgeError):
        forge.merge_mr(7, g.HEAD)
    rsps.reset()


# -- reading the target and commits ---------------------------------------------------------


def test_branch_head_and_missing_branch(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    branch(rsps, MASTER)
    g.get(rsps, f"{g.P}/repository/branches/nope", g.error("404 Branch Not Found"), 404)
    assert forge.branch_head("master") == MASTER
    assert forge.branch_head("nope") is None


def test_contains_by_merge_base(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    url = f"{g.P}/repository/merge_base"
    g.get(rsps, url, {"id": MASTER}, **{"refs[]": [g.HEAD, MASTER]})
    g.get(rsps, url, {"id": MASTER}, **{"refs[]": [g.HEAD, MOVED]})
    assert forge.contains(g.HEAD, MASTER) is True
    assert forge.contains(g.HEAD, MOVED) is False
    assert forge.contains(MOVED, MOVED) is True  # no request


# -- a failed merge base is "unknown", never "not an ancestor" (issue 15) ---------------------


def _commit(rsps: responses.RequestsMock, sha: str, *parents: str) -> None:
    g.get(rsps, f"{g.P}/repository/commits/{sha}", {"id": sha, "parent_ids": list(parents)})


def test_no_common_ancestor_is_a_definite_no(rsps: responses.RequestsMock) -> None:
    """lib/api/repositories.rb, merge_base: ``not_found!("Merge Base")`` when none exists."""
    forge = connect(rsps)
    url = f"{g.P}/repository/merge_base"
    g.get(rsps, url, g.error("404 Merge Base Not Found"), 404, **{"refs[]": [g.HEAD, MOVED]})
    assert forge.contains(g.HEAD, MOVED) is False


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, g.error("Could not find ref: " + MASTER)),  # GitLab: an unknown ref
        (404, g.error("404 Not Found")),  # an instance or proxy that does not serve it
        (404, None),  # an HTML 404 page
    ],
)
def test_a_failed_merge_base_falls_back_to_parent_ids(
    rsps: responses.RequestsMock, status: int, body: object
) -> None:
    forge = connect(rsps)
    url = f"{g.P}/repository/merge_base"
    g.get(rsps, url, body, status, **{"refs[]": [g.HEAD, MASTER]})
    _commit(rsps, g.HEAD, "d" * 40)
    _commit(rsps, "d" * 40, MASTER)
    assert forge.contains(g.HEAD, MASTER) is True


def test_the_parent_walk_says_no_only_when_it_reaches_the_root(
    rsps: responses.RequestsMock,
) -> None:
    forge = connect(rsps)
    url = f"{g.P}/repository/merge_base"
    g.get(rsps, url, g.error("404 Not Found"), 404, **{"refs[]": [g.HEAD, MOVED]})
    _commit(rsps, g.HEAD, "d" * 40, "e" * 40)
    _commit(rsps, "d" * 40, "f" * 40)
    _commit(rsps, "e" * 40, "f" * 40)
    _commit(rsps, "f" * 40)
    assert forge.contains(g.HEAD, MOVED) is False


def test_a_failed_walk_is_an_error_not_a_stale_result(rsps: responses.RequestsMock) -> None:
    forge = connect(rsps)
    url = f"{g.P}/repository/merge_base"
    g.get(rsps, url, g.error("404 Not Found"), 404, **{"refs[]": [g.HEAD, MOVED]})
    g.get(rsps, f"{g.P}/repository/commits/{g.HEAD}", g.error("403 Forbidden"), 403)
    with pytest.raises(ForgeError) as caught:
        forge.contains(g.HEAD, MOVED)
    assert "stale" not in caught.value.message


def test_a_walk_too_long_is_unknown_and_says_so(
    rsps: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("send_mergereq.gitlab.forge_landing.ANCESTRY_WALK", 2)
    forge = connect(rsps)
    url = f"{g.P}/repository/merge_base"
    g.get(rsps, url, g.error("404 Not Found"), 404, **{"refs[]": [g.HEAD, MOVED]})
    _commit(rsps, g.HEAD, "d" * 40)
    _commit(rsps, "d" * 40, "e" * 40)
    with pytest.raises(ForgeError) as caught:
        forge.contains(g.HEAD, MOVED)
    assert caught.value.message.startswith("could not tell whether")


def test_contained_on_server(rsps: responses.RequestsMock) -> None:
    from send_mergereq.run.target import contained_on_server

    forge = connect(rsps)
    branch(rsps, MASTER)  # GitLab's master moved past what was checked, and contains HEAD
    g.get(rsps, f"{g.P}/repository/merge_base", {"id": g.HEAD}, **{"refs[]": [MASTER, g.HEAD]})
    found = contained_on_server(forge, "master", "staging", g.HEAD, checked_over=MOVED)
    assert found is not None and found.target_sha == MASTER and found.where == "on GitLab"
    assert found.line().startswith(f"master already contains staging ({g.HEAD[:12]}) on GitLab")
    rsps.reset()
    branch(rsps, MASTER)  # the head the checks ran over: one call, no merge base
    assert contained_on_server(forge, "master", "staging", g.HEAD, checked_over=MASTER) is None
    assert [c.request.url for c in rsps.calls if "merge_base" in (c.request.url or "")] == []
