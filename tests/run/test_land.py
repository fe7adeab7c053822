"""run/land.py in MR mode against GitLab's documented answers (``responses``): what lands,
what is stale, and a refused merge as an outcome."""

from __future__ import annotations

import pytest
import responses

import gitlab_api as g
from land_api import MASTER, MERGE, MOVED, MR, branch, commit, connect, mr, put_merge
from send_mergereq.errors import ExitCode
from send_mergereq.gate import Outcome, Verdict
from send_mergereq.models import Pipeline, PipelineKind
from send_mergereq.run.document import landing_document
from send_mergereq.run.land import MrLanding, inspect, land_merge_request
from send_mergereq.run.land_decision import LandHow

OPEN = Verdict(Outcome.OPEN, "pipeline passed")


pytestmark = pytest.mark.usefixtures("no_backoff_sleep")  # rsps and it: land_api.py


def merged_result(sha: str = MERGE) -> Pipeline:
    ref = "refs/merge-requests/7/merge"
    return Pipeline(42, "success", ref, sha, "", PipelineKind.MERGED_RESULT)


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
    assert landing_document(result)["landed_reason"] == reason
