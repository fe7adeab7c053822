"""The pure core of ``send-mergereq jobs``: counting runs and flaky runs, streaks,
durations, the strip, and the tier advice by the ``[tiers]`` policy, on hand-built data."""

from __future__ import annotations

import pytest

from send_mergereq.errors import ConfigError
from send_mergereq.jobs.health import (
    Attempt,
    PipelineRecord,
    job_health,
    percentile,
)
from send_mergereq.jobs.tier_policy import TierPolicy, tiers_from_policy
from send_mergereq.jobs.tiers import DAY, HOUR, advise, target_history

NOW = 1_800_000_000.0
_ids = iter(range(10_000, 10**9))


def attempt(name: str, status: str, **kw: object) -> Attempt:
    return Attempt(id=next(_ids), name=name, status=status, stage="test", **kw)  # type: ignore[arg-type]


def outcome(name: str, code: str, *, allow_failure: bool = False, at: float = 0.0,
            duration: float = 60.0) -> list[Attempt]:  # fmt: skip
    """``s`` success, ``f`` failed, ``r`` failed then passed on a retry, ``c`` canceled,
    ``k`` skipped, ``m`` manual, ``R`` failed twice then passed."""
    common = {"allow_failure": allow_failure, "finished_at": at, "duration": duration}
    if code in "sfck":
        status = {"s": "success", "f": "failed", "c": "canceled", "k": "skipped"}[code]
        return [attempt(name, status, **common)]
    if code == "m":
        return [attempt(name, "manual", allow_failure=allow_failure)]
    if code == "r":
        return [attempt(name, "failed", retried=True, **common), attempt(name, "success", **common)]
    if code == "R":
        return [
            attempt(name, "failed", retried=True, **common),
            attempt(name, "failed", retried=True, **common),
            attempt(name, "success", **common),
        ]
    raise AssertionError(code)


def history(stories: dict[str, str], *, every: float = 12 * HOUR, end: float = NOW,
            allow_failure: frozenset[str] = frozenset()) -> list[PipelineRecord]:  # fmt: skip
    """Pipelines ``every`` apart ending at ``end``; ``stories[name]`` one code a pipeline
    (``-``: the job is absent from that pipeline)."""
    count = max(len(s) for s in stories.values())
    records = []
    for i in range(count):
        at = end - (count - 1 - i) * every
        attempts: list[Attempt] = []
        for name, story in stories.items():
            code = story[i] if i < len(story) else "-"
            if code != "-":
                attempts += outcome(name, code, allow_failure=name in allow_failure, at=at)
        records.append(PipelineRecord(id=1000 + i, created_at=at, attempts=tuple(attempts)))
    return records


def health(stories: dict[str, str], **kw: object) -> dict[str, object]:
    return {h.name: h for h in job_health(history(stories, **kw))}  # type: ignore[arg-type]


def actions(
    stories: dict[str, str], policy: TierPolicy | None = None, **kw: object
) -> set[tuple[str, str]]:
    records = history(stories, **kw)  # type: ignore[arg-type]
    found = advise(job_health(records), [p.id for p in records], policy or TierPolicy(), NOW)
    return {(a.job, a.action) for a in found}


# -- counting ---------------------------------------------------------------------------


def test_runs_successes_failures_and_flaky_counted_by_the_last_attempt() -> None:
    job = job_health(history({"check": "ssfrRsckm"}))[0]
    assert (len(job.runs), job.successes, job.failures, job.flaky) == (6, 5, 1, 2)
    assert job.strip == "..Xrr."
    assert job.manual  # seen manual once: a manual job


def test_canceled_and_skipped_are_not_runs() -> None:
    job = job_health(history({"check": "ccckks"}))[0]
    assert (len(job.runs), job.successes, job.failures) == (1, 1, 0)
    assert not job.manual


def test_a_retried_attempt_never_counts_as_the_result_even_with_a_higher_id() -> None:
    late_retried = Attempt(id=9, name="j", status="failed", retried=True, finished_at=5.0)
    current = Attempt(id=3, name="j", status="success", finished_at=6.0)
    job = job_health([PipelineRecord(1, 0.0, (late_retried, current))])[0]
    assert (job.successes, job.failures, job.flaky) == (1, 0, 1)


def test_a_failure_after_a_retry_is_a_failure_not_flaky() -> None:
    first = Attempt(id=1, name="j", status="failed", retried=True)
    second = Attempt(id=2, name="j", status="failed")
    job = job_health([PipelineRecord(1, 0.0, (first, second))])[0]
    assert (len(job.runs), job.failures, job.flaky) == (1, 1, 0)


def test_streaks_and_last_failure() -> None:
    jobs = health({"green": "sfsss", "red": "ssfff", "none": "ccc"})
    green, red, none = jobs["green"], jobs["red"], jobs["none"]
    assert (green.streak.state, green.streak.runs) == ("green", 3)  # type: ignore[attr-defined]
    assert green.last_failure == NOW - 3 * 12 * HOUR  # type: ignore[attr-defined]
    assert (red.streak.state, red.streak.runs) == ("failing", 3)  # type: ignore[attr-defined]
    assert red.streak.since == NOW - 2 * 12 * HOUR  # type: ignore[attr-defined]
    assert none.streak.state == "none" and none.last_failure is None  # type: ignore[attr-defined]


def test_durations_median_and_p90_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 90) == 5.0
    values = [float(v) for v in range(1, 11)]  # 1..10
    assert percentile(values, 50) == 5.0
    assert percentile(values, 90) == 9.0
    assert percentile(list(reversed(values)), 90) == 9.0


def test_the_strip_keeps_the_last_forty_runs_newest_right() -> None:
    job = job_health(history({"j": "f" + "s" * 45}))[0]
    assert len(job.strip) == 40 and job.strip == "." * 40
    job = job_health(history({"j": "s" * 45 + "f"}))[0]
    assert job.strip.endswith("X") and len(job.strip) == 40


def test_the_tier_today_is_the_newest_attempt_s() -> None:
    records = history({"j": "sss"})
    newest = records[-1]
    flagged = tuple(Attempt(a.id, a.name, a.status, allow_failure=True) for a in newest.attempts)
    records[-1] = PipelineRecord(newest.id, newest.created_at, flagged)
    assert job_health(records)[0].allow_failure


# -- promote ----------------------------------------------------------------------------

AF = frozenset({"j"})


def test_promote_after_100_runs_spanning_60_days() -> None:
    # 120 green runs 12 h apart, the last one now: 60 days of green
    assert actions({"j": "s" * 120}, allow_failure=AF) == {("j", "promote")}
    # 119 of them: 59.5 days
    assert actions({"j": "s" * 119}, allow_failure=AF) == set()


def test_no_promotion_with_100_runs_in_fewer_than_60_days() -> None:
    assert actions({"j": "s" * 150}, allow_failure=AF, every=6 * HOUR) == set()


def test_no_promotion_with_60_days_but_fewer_than_100_runs() -> None:
    assert actions({"j": "s" * 99}, allow_failure=AF, every=DAY) == set()


def test_promotion_counts_from_the_last_failure() -> None:
    # 200 runs over 100 days, but the failure 50 runs ago restarts both counts.
    assert actions({"j": "s" * 150 + "f" + "s" * 49}, allow_failure=AF) == set()
    # a failure long ago: 130 clean runs over 65 days since it
    assert actions({"j": "s" * 10 + "f" + "s" * 130}, allow_failure=AF) == {("j", "promote")}


def test_a_gating_job_is_never_promoted() -> None:
    assert actions({"j": "s" * 200}) == set()


def test_the_policy_thresholds_are_read() -> None:
    policy = TierPolicy(promote_runs=10, promote_days=5)
    assert actions({"j": "s" * 11}, policy, allow_failure=AF) == {("j", "promote")}


# -- demote -----------------------------------------------------------------------------


def test_demote_after_two_failures_still_failing_24_hours_later() -> None:
    # failing for the last 3 pipelines 12 h apart: 24 h since the first failure
    assert actions({"j": "s" * 30 + "fff"}) == {("j", "demote")}


def test_two_failures_within_24_hours_are_not_yet_demoted() -> None:
    assert actions({"j": "s" * 30 + "ff"}) == set()  # 12 h since the first


def test_failures_repaired_within_24_hours_keep_the_job() -> None:
    assert actions({"j": "s" * 30 + "ffs" + "s" * 5}) == set()


def test_one_failure_is_never_a_demotion() -> None:
    assert actions({"j": "s" * 30 + "f"}, every=3 * DAY) == set()


def test_an_allow_failure_job_is_never_demoted() -> None:
    assert actions({"j": "s" * 30 + "fffff"}, allow_failure=AF) == set()


def test_demotion_reason_says_the_numbers() -> None:
    records = history({"j": "s" * 30 + "fff"})
    (advice,) = advise(job_health(records), [p.id for p in records], TierPolicy(), NOW)
    assert advice.numbers["failures"] == 3 and advice.numbers["hours"] == 24.0
    assert "failed its last 3 runs" in advice.reason
    assert advice.document()["action"] == "demote"


# -- flaky, gone, manual ----------------------------------------------------------------


def test_flaky_above_five_percent() -> None:
    assert actions({"j": "sssssssssr" * 5}) == {("j", "flaky")}  # 10 %
    assert actions({"j": "s" * 19 + "r"}) == set()  # exactly 5 %: not more
    assert actions({"j": "s" * 18 + "r"}) == {("j", "flaky")}  # 5.3 %


def test_a_flaky_allow_failure_job_is_flagged_not_promoted() -> None:
    assert actions({"j": ("s" * 9 + "r") * 13}, allow_failure=AF) == {("j", "flaky")}


def test_jobs_absent_from_the_last_20_pipelines_are_gone() -> None:
    stories = {"kept": "s" * 40, "removed": "s" * 20 + "-" * 20, "late": "s" * 21 + "-" * 19}
    assert actions(stories) == {("removed", "gone")}


def test_no_job_is_gone_when_there_are_no_more_pipelines_than_the_window() -> None:
    assert actions({"kept": "s" * 20, "removed": "s" + "-" * 19}) == set()


def test_never_advise_on_manual_jobs() -> None:
    stories = {
        "manual-gone": "m" * 20 + "-" * 20,
        "manual-flaky": ("m" + "r") * 20,
        "manual-red": "m" + "s" * 30 + "fff",
    }
    assert actions(stories) == set()


# -- the [tiers] table ------------------------------------------------------------------


def test_tiers_table_read_and_validated() -> None:
    policy = tiers_from_policy(
        {"promote": {"runs": 50, "days": 30}, "demote": {"failures": 3, "hours": 12},
         "flaky": {"rate": "10%"}, "gone": {"pipelines": 10}}, "f",
    )  # fmt: skip
    assert policy == TierPolicy(50, 30.0, 3, 12.0, 0.10, 10)
    assert tiers_from_policy({}, "f") == TierPolicy()
    for bad, said in (
        ({"promote": {"runs": 0}}, "tiers.promote.runs"),
        ({"promote": {"runs": 1.5}}, "whole number"),
        ({"flaky": {"rate": 5}}, "out of range"),
        ({"flaky": {"rate": "x%"}}, "expected a number"),
        ({"demote": {"days": 1}}, "unknown key"),
        ({"other": {}}, "unknown key"),
        ({"promote": 3}, "expected a table"),
        ([], "expected a table"),
    ):
        with pytest.raises(ConfigError, match=said):
            tiers_from_policy(bad, "f")


# -- the target's history (a red gate, bisect) -----------------------------------------


def test_target_history_verdicts() -> None:
    broken = target_history("master", "j", history({"j": "s" * 20 + "fff"}), last=10)
    assert (broken.verdict, broken.failures, broken.runs, broken.pipelines) == (
        "broken_on_target", 3, 10, 10)  # fmt: skip
    assert broken.failing_since == NOW - 2 * 12 * HOUR
    assert broken.line().startswith("also failing on master: 3 of the last 10 pipelines, since ")
    flaky = target_history("master", "j", history({"j": "ssrsrs"}))
    assert (flaky.verdict, flaky.flaky) == ("flaky", 2)
    assert flaky.line() == "flaky: rescued by a retry in 2 of the last 6"
    green = target_history("master", "j", history({"j": "fsss", "k": "ssss"}), last=3)
    assert green.verdict == "green_on_target" and green.document()["failing_since"] is None
    assert green.line() == "green on master for the last 3 pipelines"
    mended = target_history("master", "j", history({"j": "ffssssssss"}))
    assert mended.verdict == "green_on_target" and mended.failures == 2
    assert mended.line() == "green on master for the last 8 pipelines"
