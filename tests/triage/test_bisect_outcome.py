"""bisect's pure parts: the failure to explain (failure.py) and the answer's words and
``--json`` document (result.py)."""

from __future__ import annotations

import pytest

from send_mergereq.bisect.failure import failing_jobs
from send_mergereq.bisect.probes import Probe
from send_mergereq.bisect.result import Outcome, plan_line
from send_mergereq.errors import ConfigError, ExitCode
from send_mergereq.models import Job, Pipeline, PipelineKind
from send_mergereq.triage.pulls import Pull
from send_mergereq.triage.search import Verdict


def pipeline(*jobs: Job, status: str = "failed") -> Pipeline:
    return Pipeline(5, status, "staging", "abc", "https://gl/p/5", PipelineKind.BRANCH, jobs=jobs)


def job(name: str, status: str, **kw: object) -> Job:
    return Job(hash(name) % 1000, name, "test", status, pipeline_id=5, **kw)  # type: ignore[arg-type]


def test_the_failure_is_the_failed_gating_jobs() -> None:
    closed = pipeline(job("a", "failed"), job("b", "failed", allow_failure=True),
                      job("c", "success"), job("d", "failed"))  # fmt: skip
    assert [j.name for j in failing_jobs(closed, ())] == ["a", "d"]
    assert [j.name for j in failing_jobs(closed, ("d*",))] == ["d"]
    with pytest.raises(ConfigError, match=r"no failed gating job .* matches --jobs x"):
        failing_jobs(closed, ("x",))


def test_a_pipeline_that_did_not_fail_is_a_usage_error() -> None:
    green = pipeline(job("a", "success"), status="success")
    with pytest.raises(ConfigError, match="did not fail: nothing to bisect") as caught:
        failing_jobs(green, ())
    assert caught.value.exit_code is ExitCode.USAGE
    with pytest.raises(ConfigError):
        failing_jobs(pipeline(job("a", "running"), status="running"), ())


def _pulls() -> tuple[Pull, ...]:
    return tuple(Pull(k, f"{k}" * 40, f"Merge {k}", True, tag=f"pull-{k}", url=f"https://x/{k}",
                      signer="Nils <n@x>") for k in (1, 2, 3))  # fmt: skip


def _probe(k: int, result: str, reused: bool = False) -> Probe:
    pipe = Pipeline(10 + k, "canceled", f"b-{k}", f"{k}" * 40, f"https://gl/p/{10 + k}",
                    PipelineKind.BRANCH)  # fmt: skip
    return Probe(k, f"{k}" * 40, pipe, reused, result)


def test_the_culprit_document_has_every_field_the_issue_lists() -> None:
    probes = {0: _probe(0, "passed"), 1: _probe(1, "passed"), 2: _probe(2, "failed"),
              3: _probe(3, "failed", reused=True)}  # fmt: skip
    outcome = Outcome("staging", "master", Verdict("culprit", 2), ("cross",), _pulls(), probes,
                      pushed=["s-0", "s-1", "s-2"], deleted=["s-0", "s-1", "s-2"])  # fmt: skip
    doc = outcome.document()
    assert {"result", "jobs", "culprit", "prefixes", "branches_pushed", "branches_deleted",
            "exit_code"} <= set(doc)  # fmt: skip
    assert doc["result"] == "culprit" and doc["exit_code"] == 0 and doc["jobs"] == ["cross"]
    assert doc["culprit"] == {
        "tag": "pull-2", "url": "https://x/2", "signer": "Nils <n@x>", "merge": "2" * 40, "k": 2,
        "pipelines": {"passing": "https://gl/p/11", "failing": "https://gl/p/12"},
    }  # fmt: skip
    assert doc["prefixes"][3] == {
        "k": 3, "sha": "3" * 40, "pipeline_id": 13, "pipeline_url": "https://gl/p/13",
        "reused": True, "jobs_result": "failed", "retries": 0,
    }  # fmt: skip
    lines = outcome.lines("send-mergereq status staging --retry-failed 1")
    assert lines[:2] == ["culprit: pull-2 (merge 222222222222)", "  signed by Nils <n@x>"]
    assert all(len(line) < 80 for line in lines)


def test_target_and_not_reproduced_exit_1_and_9() -> None:
    probes = {0: _probe(0, "failed"), 3: _probe(3, "failed", True)}
    target = Outcome("staging", "master", Verdict("target"), ("cross",), _pulls(), probes)
    assert target.exit_code is ExitCode.GATE_CLOSED and target.document()["culprit"] is None
    assert "no pull request to blame" in target.lines("x")[0]
    again = _probe(3, "passed")
    flaky = Outcome("staging", "master", Verdict("not_reproduced"), ("cross",), _pulls(),
                    probes, rerun=again)  # fmt: skip
    assert flaky.exit_code is ExitCode.NOT_REPRODUCED == 9
    said = flaky.lines("send-mergereq status staging --retry-failed 1")
    assert said[-3:] == ["the failure was flaky: cross", "retry the failed jobs with:",
                         "  send-mergereq status staging --retry-failed 1"]  # fmt: skip


def test_the_plan_says_the_rounds() -> None:
    assert (
        plan_line(7, 2, 3)
        == "7 prefixes to run, 2 at once: at most 3 rounds (one more if none fails)"
    )
    assert plan_line(0, 4, 0) == "no prefix left to run: the pipelines that exist decide"
