"""Tier advice by the project's policy (``[tiers]`` of the target's ``.send-mergereq.toml``),
and a job's recent history on the target (for a red gate, and for bisect). Pure.

The policy (the gating-CI proposal, issue 23):

- **promote** an ``allow_failure`` job that has passed its last ``promote.runs`` runs
  spanning at least ``promote.days``, both counted from its first run or its last
  failure, whichever is later (a job flagged flaky is not promoted); N runs a spacing
  apart span N spacings to now (120 runs 12 h apart: 60 days);
- **demote** a gating job that failed at least ``demote.failures`` times in a row and is
  still failing ``demote.hours`` after the first failure of that streak;
- **flaky**: runs rescued by a retry at more than ``flaky.rate`` of its runs;
- **gone**: absent from the last ``gone.pipelines`` pipelines (to drop from the config);
- never a word on a manual job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from send_mergereq.jobs.health import JobHealth, PipelineRecord, Run, iso, run_of
from send_mergereq.jobs.tier_policy import TierPolicy

DAY, HOUR = 86400.0, 3600.0
ACTIONS = ("promote", "demote", "flaky", "gone")


@dataclass(frozen=True)
class Advice:
    job: str
    action: str  # promote, demote, flaky, gone
    reason: str
    numbers: Mapping[str, object]

    def document(self) -> dict[str, object]:
        return {"job": self.job, "action": self.action, "reason": self.reason, **self.numbers}


def advise(
    jobs: Sequence[JobHealth], pipeline_ids: Sequence[int], policy: TierPolicy, now: float
) -> list[Advice]:
    """One piece of advice per job that should change (manual jobs never), in job order."""
    recent = set(sorted(pipeline_ids)[-policy.gone_pipelines :])
    enough = len(set(pipeline_ids)) > policy.gone_pipelines
    found: list[Advice] = []
    for job in jobs:
        if job.manual:
            continue
        if enough and not recent & set(job.appeared):
            last = job.appeared[-1]
            found.append(Advice(job.name, "gone",
                f"absent from the last {policy.gone_pipelines} pipelines (last in pipeline "
                f"{last}): drop it from the CI configuration",
                {"last_pipeline": last, "pipelines": policy.gone_pipelines}))  # fmt: skip
            continue
        flaky = bool(job.runs) and job.flaky_rate > policy.flaky_rate
        if flaky:
            found.append(Advice(job.name, "flaky",
                f"rescued by a retry in {job.flaky} of {len(job.runs)} runs "
                f"({job.flaky_rate:.1%} > {policy.flaky_rate:.1%})",
                {"flaky": job.flaky, "runs": len(job.runs),
                 "rate": round(job.flaky_rate, 4)}))  # fmt: skip
        advice = _promotion(job, policy, now) if not flaky else None
        advice = advice or _demotion(job, policy, now)
        if advice:
            found.append(advice)
    return found


def _promotion(job: JobHealth, policy: TierPolicy, now: float) -> Advice | None:
    """An ``allow_failure`` job green over its last ``promote.runs`` runs and ``days``."""
    if not job.allow_failure or not job.runs:
        return None
    failed = [i for i, run in enumerate(job.runs) if not run.passed]
    clean = job.runs[failed[-1] + 1 :] if failed else job.runs
    start = job.runs[failed[-1]].at if failed else job.runs[0].at
    # N runs a spacing apart cover N spacings (each vouches for the interval it opens):
    # 120 runs 12 h apart are 60 days of green, to the run that closes the last one.
    spacing = (clean[-1].at - clean[0].at) / (len(clean) - 1) if len(clean) > 1 else 0.0
    days = (max(now, clean[-1].at) - start + spacing) / DAY if clean else 0.0
    if len(clean) < policy.promote_runs or days < policy.promote_days:
        return None
    since = "its last failure" if failed else "its first run"
    return Advice(job.name, "promote",
        f"passed {len(clean)} runs over {days:.0f} days since {since} "
        f"(policy: {policy.promote_runs} runs and {policy.promote_days:g} days)",
        {"runs": len(clean), "days": round(days, 1), "since": iso(start)})  # fmt: skip


def _demotion(job: JobHealth, policy: TierPolicy, now: float) -> Advice | None:
    """A gating job failing ``demote.failures`` runs in a row, ``hours`` after the first."""
    streak = job.streak
    if job.allow_failure or streak.state != "failing" or streak.since is None:
        return None
    hours = (now - streak.since) / HOUR
    if streak.runs < policy.demote_failures or hours < policy.demote_hours:
        return None
    return Advice(job.name, "demote",
        f"failed its last {streak.runs} runs, failing since {iso(streak.since)} "
        f"({hours:.0f} h; policy: {policy.demote_failures} failures, "
        f"{policy.demote_hours:g} h)",
        {"failures": streak.runs, "hours": round(hours, 1),
         "since": iso(streak.since)})  # fmt: skip


# -- a job's recent history on the target (a red gate's line, bisect) --------------------


@dataclass(frozen=True)
class TargetHistory:
    """How one job fared in the target's last pipelines."""

    ref: str
    runs: int
    failures: int
    flaky: int
    failing_since: float | None  # the first failure of a streak still failing
    pipelines: int  # how many pipelines were looked at
    green: int = 0  # its runs since its last failure there

    @property
    def verdict(self) -> str:
        if self.failing_since is not None:
            return "broken_on_target"
        return "flaky" if self.flaky else "green_on_target"

    def line(self) -> str:
        """The words a red gate's failing job gets."""
        if self.verdict == "broken_on_target":
            return (
                f"also failing on {self.ref}: {self.failures} of the last {self.pipelines} "
                f"pipelines, since {_minute(self.failing_since)}"
            )
        if self.verdict == "flaky":
            return f"flaky: rescued by a retry in {self.flaky} of the last {self.pipelines}"
        return f"green on {self.ref} for the last {self.green} pipelines"

    def document(self) -> dict[str, object]:
        return {
            "ref": self.ref,
            "runs": self.runs,
            "failures": self.failures,
            "flaky": self.flaky,
            "failing_since": iso(self.failing_since),
            "verdict": self.verdict,
        }


def target_history(
    ref: str, job: str, pipelines: Sequence[PipelineRecord], last: int = 50
) -> TargetHistory:
    """How ``job`` fared in the ``last`` newest of the target's ``pipelines``: its runs,
    failures, flaky runs and, when its newest run failed, since when it has been failing."""
    newest = sorted(pipelines, key=lambda p: p.id)[-last:]
    runs: list[Run] = []
    for pipeline in newest:
        attempts = [a for a in pipeline.attempts if a.name == job]
        run = run_of(pipeline, attempts) if attempts else None
        if run is not None:
            runs.append(run)
    failing_since = None
    for run in reversed(runs):
        if run.passed:
            break
        failing_since = run.at
    failed = [i for i, run in enumerate(runs) if not run.passed]
    return TargetHistory(
        ref=ref,
        runs=len(runs),
        failures=sum(not r.passed for r in runs),
        flaky=sum(r.rescued for r in runs),
        failing_since=failing_since,
        pipelines=len(newest),
        green=len(runs) - 1 - failed[-1] if failed else len(runs),
    )


def _minute(stamp: float | None) -> str:
    text = iso(stamp) or "?"
    return text[:16].replace("T", " ")
