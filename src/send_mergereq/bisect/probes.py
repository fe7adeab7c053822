"""Running prefixes of staging on GitLab: each pushed to a temporary branch, its pipeline
found (or started where pushes start none), judged on the bisected jobs as soon as they
allow it (``triage/judge.py``), then canceled and its branch deleted.

``Probes`` remembers every branch it pushed and every pipeline it started; ``close()``
cancels and deletes what is left, and the command calls it on every way out (a verdict,
a timeout, an error, Ctrl-C, SIGTERM) with signals held meanwhile. Branches are pushed
with the lease "must not exist" and deleted with the lease of the commit pushed: a
branch someone else moved is never overwritten nor deleted. Canceling is sent once
(``Forge.cancel_pipeline``), never retried blindly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from send_mergereq import deadline, git
from send_mergereq.errors import (
    ConfigError,
    ForgeError,
    GitError,
    TimedOutError,
    TransientForgeError,
)
from send_mergereq.models import FINISHED, Job, Pipeline
from send_mergereq.run.push import delete_branch, push_branch
from send_mergereq.triage.judge import FAILED, INCONCLUSIVE, PASSED, judge
from send_mergereq.triage.search import bisect_branch, leftovers

REUSE_LOOKS = 3  # finished pipelines of one commit whose jobs are read to reuse a result
GIVE_UP_AFTER = 300.0  # seconds without a successful poll


class ProbeForge(Protocol):
    """What running prefixes needs of GitLab (``gitlab/forge.py``'s ``Forge`` has it)."""

    def sha_pipelines(self, sha: str) -> list[Pipeline]: ...
    def branch_pipelines(self, ref: str, sha: str | None = None) -> list[Pipeline]: ...
    def create_pipeline(self, ref: str) -> Pipeline: ...
    def list_jobs(self, pipeline_id: int) -> list[Job]: ...
    def list_bridges(self, pipeline_id: int) -> list[Job]: ...
    def retry_job(self, job_id: int) -> Job: ...
    def cancel_pipeline(self, pipeline_id: int) -> Pipeline: ...


@dataclass
class Probe:
    """One prefix: its commit, where it ran and what the bisected jobs said there."""

    k: int
    sha: str
    pipeline: Pipeline | None = None
    reused: bool = False
    result: str | None = None  # passed | failed
    branch: str | None = None  # the temporary branch it was pushed to
    retries: int = 0  # failed bisected jobs retried on it
    floor: int = 0  # the newest pipeline of its branch before the push (an earlier run's)

    def document(self) -> dict[str, object]:
        return {
            "k": self.k,
            "sha": self.sha,
            "pipeline_id": self.pipeline.id if self.pipeline else None,
            "pipeline_url": self.pipeline.web_url if self.pipeline else None,
            "reused": self.reused,
            "jobs_result": self.result,
            "retries": self.retries,
        }


@dataclass
class Place:
    """Where the temporary branches go: the repository, the remote, git's environment
    (the session's), the branch bisected and the configured name prefix."""

    repo: Path
    remote: str
    env: Mapping[str, str]
    branch: str
    target: str
    prefix: str | None = None

    def name(self, k: int) -> str:
        name = bisect_branch(self.branch, k, self.prefix)
        if (
            name in (self.branch, self.target)
            or git.query(self.repo, "check-ref-format", f"refs/heads/{name}") is None
        ):
            raise ConfigError(
                f"the temporary branch {name!r} would be {self.branch} or {self.target}, "
                "or is no valid branch name",
                hint="set another prefix: git config sendmergereq.bisectPrefix staging-bisect-",
            )
        return name


@dataclass
class Probes:
    """The prefixes run so far, and what is left to clean up."""

    forge: ProbeForge
    place: Place
    jobs: Sequence[str]
    say: Callable[[str], None]
    retries: int = 1  # how often a failed bisected job is retried before it counts
    interval: float = 10.0
    pipeline_wait: float = 10.0  # for the pipeline a push starts, before creating one
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    pushed: dict[str, str] = field(default_factory=dict)  # branch -> sha, not deleted yet
    deleted: list[str] = field(default_factory=list)
    all_pushed: list[str] = field(default_factory=list)
    running: dict[int, Pipeline] = field(default_factory=dict)  # started, not canceled yet
    unfound: dict[str, int] = field(default_factory=dict)  # pushed, pipeline unknown: floor
    started: int = 0  # pipelines this run started (pushed or created)
    pushes_start_pipelines: bool | None = None

    # -- before: what exists ------------------------------------------------------------

    def remove_leftovers(self, expected: Mapping[str, str]) -> list[str]:
        """Delete the temporary branches a killed run left: those of ``expected`` (each
        temporary branch this bisection would push, by name, and the commit it would
        hold) that are there with that very commit, each with its commit as the lease.
        A branch of the same pattern with another name or commit (a colleague's
        ``wip-7``, a run on another staging) is left, and said; their names."""
        place = self.place
        start = place.prefix if place.prefix is not None else f"{place.branch}-bisect-"
        heads = git.remote_heads(place.repo, place.remote, f"{start}*", place.env)
        gone, kept = [], []
        for name in leftovers(list(heads), self.place.branch, self.place.prefix):
            if name in (self.place.branch, self.place.target):
                continue
            if expected.get(name) != heads[name]:
                kept.append(name)
            elif delete_branch(self.place.repo, remote=self.place.remote, branch=name,
                               sha=heads[name], env=self.place.env):  # fmt: skip
                gone.append(name)
                self._cancel_left(name)
        if kept:
            self.say(f"left {', '.join(kept)} on {place.remote}: not a prefix of this "
                     f"{place.branch} (another run's, or not bisect's)")  # fmt: skip
        return gone

    def _cancel_left(self, name: str) -> None:
        """The killed run's pipelines on a leftover branch, still running: canceled (they
        would hold runners for an answer no one waits for). Best effort: a failure here
        is said, and the bisection goes on."""
        from send_mergereq.run.cancel import ALIVE

        try:
            for pipeline in self.forge.branch_pipelines(name):
                if pipeline.status in ALIVE:
                    self.forge.cancel_pipeline(pipeline.id)
        except ForgeError as exc:
            self.say(f"  could not cancel the pipelines of {name}: {exc.message}")

    def reuse(self, k: int, sha: str) -> Probe | None:
        """Prefix ``k`` judged from a finished pipeline of its commit, if one ran the jobs."""
        looked = 0
        for pipeline in self.forge.sha_pipelines(sha):
            if pipeline.status not in FINISHED or pipeline.source == "parent_pipeline":
                continue
            looked += 1
            said = judge(self._jobs(pipeline.id), self.jobs)
            if said in (PASSED, FAILED):
                return Probe(k, sha, pipeline, reused=True, result=said)
            if looked >= REUSE_LOOKS:
                break
        return None

    # -- a round ------------------------------------------------------------------------

    def run(self, wanted: Sequence[tuple[int, str]]) -> list[Probe]:
        """Push and run the prefixes ``(k, sha)`` at once; each judged, canceled and its
        branch deleted as soon as the bisected jobs allow it."""
        probes = [Probe(k, sha) for k, sha in wanted]
        for probe in probes:
            self._push(probe)
        for probe in probes:
            probe.pipeline = self._pipeline_of(probe)
        last_ok = self.clock()
        while True:
            active = [p for p in probes if p.result is None]  # a decided one is never
            if not active:  # polled (nor canceled) again, even after a fault mid-pass
                return probes
            left = deadline.left()
            if left is not None and left <= 0:
                raise TimedOutError("timed out waiting for the prefixes' pipelines")
            try:
                for probe in active:
                    self._poll(probe)
                last_ok = self.clock()
            except TransientForgeError as exc:
                if self.clock() - last_ok > GIVE_UP_AFTER:
                    said = f"GitLab has not answered for 5 minutes: {exc.message}"
                    raise ForgeError(said) from exc
            if any(p.result is None for p in probes):
                wait = self.interval if left is None else max(0.0, min(self.interval, left))
                self.sleep(wait)

    def _push(self, probe: Probe) -> None:
        name = self.place.name(probe.k)
        probe.branch = name
        # the pipelines its branch already has (an earlier run's) are not this push's
        probe.floor = max((p.id for p in self.forge.branch_pipelines(name)), default=0)
        self.pushed[name] = probe.sha  # before the push: an interrupted push is cleaned too
        self.unfound[name] = probe.floor
        self.all_pushed.append(name)
        push_branch(self.place.repo, remote=self.place.remote, branch=name, sha=probe.sha,
                    env=self.place.env, expect="")  # fmt: skip

    def _pipeline_of(self, probe: Probe) -> Pipeline:
        """The pipeline the push started; else (after ``pipeline_wait`` seconds, at once
        once pushes are known to start none) a new one for the branch."""
        assert probe.branch is not None
        found = self._pushed_pipeline(probe.branch, probe.sha, probe.floor)
        if found is None:
            found = self.forge.create_pipeline(probe.branch)
        self.running[found.id] = found
        self.unfound.pop(probe.branch, None)
        self.started += 1
        self.say(f"  prefix {probe.k} on {probe.branch}: pipeline #{found.id}")
        return found

    def _pushed_pipeline(self, branch: str, sha: str, floor: int) -> Pipeline | None:
        if self.pushes_start_pipelines is False:
            return None
        until = self.clock() + self.pipeline_wait
        while True:
            found = [p for p in self.forge.branch_pipelines(branch, sha)
                     if p.source != "parent_pipeline" and p.id > floor]  # fmt: skip
            if found:
                self.pushes_start_pipelines = True
                return min(found, key=lambda p: p.id)
            if self.clock() >= until:  # (pushes that start them may take a moment too)
                break
            self.sleep(min(1.0, self.interval))
        if self.pushes_start_pipelines is None:
            self.pushes_start_pipelines = False
            self.say(f"no pipeline started by the push within {self.pipeline_wait:g}s: "
                     "starting them through the API")  # fmt: skip
        return None

    def _poll(self, probe: Probe) -> bool:
        """Whether ``probe`` is decided now (then its pipeline is canceled, its branch
        deleted)."""
        assert probe.pipeline is not None
        jobs = self._jobs(probe.pipeline.id)
        said = judge(jobs, self.jobs)
        if said == FAILED and probe.retries < self.retries:
            failed = [j for j in jobs if j.name in self.jobs and j.status == "failed"]
            for job in failed:
                self.forge.retry_job(job.id)
            probe.retries += 1
            self.say(f"  prefix {probe.k}: {', '.join(j.name for j in failed)} failed; "
                     f"retried ({probe.retries} of {self.retries})")  # fmt: skip
            return False
        if said is None:
            return False
        if said == INCONCLUSIVE:
            raise ForgeError(
                f"pipeline #{probe.pipeline.id} of prefix {probe.k} ran without the jobs "
                f"{', '.join(self.jobs)} finishing (skipped, canceled or absent): "
                f"{probe.pipeline.web_url}",
                hint="the job rules may differ on that branch; bisect by hand, or with --jobs",
            )
        probe.result = said
        self._finish(probe)
        return True

    def _jobs(self, pipeline_id: int) -> list[Job]:
        return [*self.forge.list_jobs(pipeline_id), *self.forge.list_bridges(pipeline_id)]

    def _finish(self, probe: Probe) -> None:
        """Cancel the prefix's pipeline (what else still runs) and delete its branch."""
        if probe.pipeline is not None:
            self._cancel(probe.pipeline)
        if probe.branch is not None:
            self._delete(probe.branch)

    def _cancel(self, pipeline: Pipeline) -> None:
        self.running.pop(pipeline.id, None)  # sent once, whatever its answer
        try:
            self.forge.cancel_pipeline(pipeline.id)
        except TransientForgeError:
            self.say(f"  GitLab's answer to canceling #{pipeline.id} was lost (not asked again)")
        except ForgeError as exc:
            self.say(f"  could not cancel pipeline #{pipeline.id}: {exc.message}")

    def _delete(self, branch: str) -> None:
        sha = self.pushed.pop(branch, None)
        if sha is None:
            return
        try:
            gone = delete_branch(self.place.repo, remote=self.place.remote, branch=branch,
                                 sha=sha, env=self.place.env)  # fmt: skip
        except GitError as exc:
            self.say(f"  could not delete {branch} on {self.place.remote}: {exc.message}")
            self.pushed[branch] = sha
            return
        if gone:
            self.deleted.append(branch)
        else:
            self.say(f"  left {branch} on {self.place.remote}: someone moved it since")

    # -- after: on every way out ----------------------------------------------------------

    def close(self) -> list[str]:
        """Cancel every pipeline still running and delete every branch still pushed; what
        could not be cleaned, as lines to say (never raises for GitLab or git)."""
        problems: list[str] = []
        for branch, floor in list(self.unfound.items()):  # cut short before it was known
            self.unfound.pop(branch)
            try:
                late = [p for p in self.forge.branch_pipelines(branch)
                        if p.id > floor and p.status not in FINISHED]  # fmt: skip
            except ForgeError as exc:
                self.say(f"  could not look for the pipeline of {branch}: {exc.message}")
                continue
            for pipeline in late:
                self.running.setdefault(pipeline.id, pipeline)
        for pipeline in list(self.running.values()):
            self._cancel(pipeline)
        for branch in list(self.pushed):
            self._delete(branch)  # says what it could not do
        for branch in self.pushed:
            problems.append(
                f"left {branch} on {self.place.remote}: delete it with "
                f"git push {self.place.remote} --delete {branch}"
            )
        return problems
