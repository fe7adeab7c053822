"""bisect/probes.py: prefixes pushed for real to a bare remote (file://), GitLab a scripted
fake: each prefix judged, its pipeline canceled and its branch deleted with a lease, and
whatever is left cleaned by ``close()`` on every way out (an error, a timeout)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from triage_helpers import pull

from gitrepo import Repo, run_git
from send_mergereq import deadline
from send_mergereq.bisect.probes import Place, Probes
from send_mergereq.errors import ConfigError, ForgeError, TimedOutError, TransientForgeError
from send_mergereq.models import Job, Pipeline, PipelineKind
from send_mergereq.run.push import delete_branch

ENV = dict(os.environ)


@dataclass
class FakeForge:
    """GitLab as far as probes see it: a pipeline per created ref; ``outcome`` says what
    the bisected job does in each (by the branch's name): a list of statuses, one per
    poll (the last repeats), per attempt."""

    outcome: Callable[[str, int], list[str]]
    pipelines: dict[int, Pipeline] = field(default_factory=dict)
    polls: dict[int, int] = field(default_factory=dict)
    attempts: dict[int, int] = field(default_factory=dict)
    canceled: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    fail_listing: bool = False
    existing: dict[str, list[Pipeline]] = field(default_factory=dict)

    def sha_pipelines(self, sha: str) -> list[Pipeline]:
        return self.existing.get(sha, [])

    def branch_pipelines(self, ref: str, sha: str | None = None) -> list[Pipeline]:
        # pushes start none here; a killed run's pipelines are given in ``existing`` by ref
        return self.existing.get(ref, [])

    def create_pipeline(self, ref: str) -> Pipeline:
        pid = 100 + len(self.pipelines)
        made = Pipeline(pid, "running", ref, "", f"https://gl/p/{pid}", PipelineKind.BRANCH)
        self.pipelines[pid] = made
        self.attempts[pid] = 1
        return made

    def list_jobs(self, pipeline_id: int) -> list[Job]:
        if self.fail_listing:
            raise ForgeError("GitLab said no")
        if pipeline_id not in self.pipelines:
            return [Job(7, "check", "test", "success", pipeline_id=pipeline_id)]
        n = self.polls.get(pipeline_id, 0)
        self.polls[pipeline_id] = n + 1
        steps = self.outcome(self.pipelines[pipeline_id].ref, self.attempts[pipeline_id])
        status = steps[min(n, len(steps) - 1)]
        pid = pipeline_id
        return [Job(pid * 10, "check", "test", status, pipeline_id=pid),
                Job(pid * 10 + 1, "other", "test", "running", pipeline_id=pid)]  # fmt: skip

    def list_bridges(self, pipeline_id: int) -> list[Job]:
        return []

    def retry_job(self, job_id: int) -> Job:
        self.retried.append(job_id)
        pid = job_id // 10
        self.attempts[pid] += 1
        self.polls[pid] = 0
        return Job(job_id + 5, "check", "test", "pending", pipeline_id=pid)

    def cancel_pipeline(self, pipeline_id: int) -> Pipeline:
        self.canceled.append(pipeline_id)
        known = [p for ps in self.existing.values() for p in ps if p.id == pipeline_id]
        return self.pipelines.get(pipeline_id) or known[0]


@pytest.fixture
def staged(make_repo: Callable[..., Repo], tmp_path: Path) -> tuple[Repo, Path, list[str]]:
    repo = make_repo()
    shas = [pull(repo, f"pull-{n}", {f"dir{n}/f.c": str(n)}) for n in range(3)]
    bare = tmp_path / "origin.git"
    run_git(tmp_path, "init", "-q", "--bare", str(bare))
    repo.git("remote", "add", "origin", f"file://{bare}")
    repo.git("push", "-q", "origin", "master", "staging")
    return repo, bare, shas


def heads(bare: Path) -> list[str]:
    out = run_git(bare, "for-each-ref", "--format=%(refname:short)", "refs/heads/")
    return sorted(out.split())


def probes_for(repo: Repo, forge: FakeForge, **kw: object) -> tuple[Probes, list[str]]:
    said: list[str] = []
    place = Place(repo.path, "origin", ENV, "staging", "master")
    made = Probes(forge, place, ("check",), said.append, interval=0.0, pipeline_wait=0.0,
                  sleep=lambda _s: None, **kw)  # type: ignore[arg-type]  # fmt: skip
    return made, said


def by_branch(fails: set[str]) -> Callable[[str, int], list[str]]:
    return lambda ref, _attempt: ["running", "failed" if ref in fails else "success"]


def test_a_round_judges_each_prefix_then_cancels_and_deletes_it(staged) -> None:  # type: ignore[no-untyped-def]
    repo, bare, shas = staged
    forge = FakeForge(by_branch({"staging-bisect-2"}))
    probes, said = probes_for(repo, forge, retries=0)

    done = probes.run([(1, shas[0]), (2, shas[1])])

    assert [(p.k, p.result, p.branch) for p in done] == [
        (1, "passed", "staging-bisect-1"), (2, "failed", "staging-bisect-2")]  # fmt: skip
    assert sorted(forge.canceled) == sorted(forge.pipelines)  # each canceled once judged
    assert probes.deleted == ["staging-bisect-1", "staging-bisect-2"] and not probes.pushed
    assert heads(bare) == ["master", "staging"]  # BRANCH and the target untouched
    assert any("starting them through the API" in line for line in said)
    assert probes.close() == []  # nothing left


def test_a_failed_job_is_retried_before_the_prefix_counts_as_failing(staged) -> None:  # type: ignore[no-untyped-def]
    repo, _, shas = staged

    def flaky(_ref: str, attempt: int) -> list[str]:
        return ["failed"] if attempt == 1 else ["running", "success"]

    forge = FakeForge(flaky)
    probes, _ = probes_for(repo, forge, retries=1)
    (done,) = probes.run([(1, shas[0])])
    assert (done.result, done.retries, len(forge.retried)) == ("passed", 1, 1)


def test_an_error_mid_round_leaves_nothing_after_close(staged) -> None:  # type: ignore[no-untyped-def]
    repo, bare, shas = staged
    forge = FakeForge(by_branch(set()), fail_listing=True)
    probes, _ = probes_for(repo, forge)
    with pytest.raises(ForgeError):
        probes.run([(0, shas[0]), (1, shas[1])])
    assert heads(bare) == ["master", "staging", "staging-bisect-0", "staging-bisect-1"]
    assert probes.close() == []
    assert heads(bare) == ["master", "staging"]
    assert sorted(forge.canceled) == sorted(forge.pipelines)
    assert probes.all_pushed == ["staging-bisect-0", "staging-bisect-1"]


def test_a_timeout_mid_round_leaves_nothing_after_close(staged) -> None:  # type: ignore[no-untyped-def]
    repo, bare, shas = staged
    forge = FakeForge(lambda _r, _a: ["running"])  # never decides
    probes, _ = probes_for(repo, forge)
    with pytest.raises(TimedOutError), deadline.overall(0.5):
        probes.run([(1, shas[0])])
    probes.close()
    assert heads(bare) == ["master", "staging"] and forge.canceled == [100]


def test_a_branch_someone_moved_is_left_alone_and_said(staged) -> None:  # type: ignore[no-untyped-def]
    repo, bare, shas = staged
    forge = FakeForge(lambda _r, _a: ["running"])
    probes, said = probes_for(repo, forge)
    with pytest.raises(TimedOutError), deadline.overall(0.3):
        probes.run([(1, shas[0])])
    repo.git("push", "-q", "--force", "origin", f"{shas[2]}:refs/heads/staging-bisect-1")
    assert probes.close() == []
    assert heads(bare) == ["master", "staging", "staging-bisect-1"]
    assert said[-1] == "  left staging-bisect-1 on origin: someone moved it since"
    assert probes.deleted == []


def test_leftovers_of_a_killed_run_are_removed_by_exact_name_and_commit_only(staged) -> None:  # type: ignore[no-untyped-def]
    """Only a branch this bisection would push, holding the commit it would push: a
    same-pattern branch with another number or commit (a colleague's, another staging's)
    is left and said (bisect deleted wip-7 with the prefix wip- before)."""
    repo, bare, shas = staged
    for name in ("staging-bisect-1", "staging-bisect-2", "staging-bisect-12",
                 "staging-bisect-x", "staging-bisect-1b"):  # fmt: skip
        repo.git("push", "-q", "origin", f"{shas[0]}:refs/heads/{name}")
    killed = [
        Pipeline(n, status, "staging-bisect-1", shas[0], f"https://gl/p/{n}", PipelineKind.BRANCH)
        for n, status in ((91, "running"), (90, "failed"))
    ]
    forge = FakeForge(by_branch(set()), existing={"staging-bisect-1": killed})
    probes, said = probes_for(repo, forge)
    expected = {"staging-bisect-1": shas[0], "staging-bisect-2": shas[1]}
    assert probes.remove_leftovers(expected) == ["staging-bisect-1"]
    assert forge.canceled == [91]  # the killed run's pipeline still running, not the ended one
    assert heads(bare) == ["master", "staging", "staging-bisect-12", "staging-bisect-1b",
                           "staging-bisect-2", "staging-bisect-x"]  # fmt: skip
    assert said[-1] == ("left staging-bisect-12, staging-bisect-2 on origin: not a prefix of "
                        "this staging (another run's, or not bisect's)")  # fmt: skip


def test_a_reused_pipeline_decides_without_a_push(staged) -> None:  # type: ignore[no-untyped-def]
    repo, bare, shas = staged
    old = Pipeline(7, "success", "elsewhere", shas[0], "https://gl/p/7", PipelineKind.BRANCH)
    forge = FakeForge(by_branch(set()), existing={shas[0]: [old]})
    probes, _ = probes_for(repo, forge)
    reused = probes.reuse(1, shas[0])
    assert reused is not None and (reused.result, reused.reused) == ("passed", True)
    assert probes.reuse(2, shas[1]) is None and heads(bare) == ["master", "staging"]


def test_delete_branch_holds_a_lease(staged) -> None:  # type: ignore[no-untyped-def]
    repo, bare, shas = staged
    repo.git("push", "-q", "origin", f"{shas[0]}:refs/heads/tmp")
    assert not delete_branch(repo.path, remote="origin", branch="tmp", sha=shas[1], env=ENV)
    assert "tmp" in heads(bare)
    assert delete_branch(repo.path, remote="origin", branch="tmp", sha=shas[0], env=ENV)
    assert "tmp" not in heads(bare)
    assert delete_branch(repo.path, remote="origin", branch="tmp", sha=shas[0], env=ENV)


def test_a_prefix_naming_the_branch_itself_is_refused(staged) -> None:  # type: ignore[no-untyped-def]
    repo, _, _ = staged
    place = Place(repo.path, "origin", ENV, "staging", "master", prefix="stagin")
    assert place.name(3) == "stagin3"
    with pytest.raises(ConfigError):
        Place(repo.path, "origin", ENV, "master1", "master", prefix="master").name(1)
    with pytest.raises(ConfigError):
        Place(repo.path, "origin", ENV, "staging", "master", prefix="a..b").name(1)


def test_a_pipeline_started_but_not_yet_known_is_canceled_by_close(staged) -> None:  # type: ignore[no-untyped-def]
    """Cut short between the push and finding its pipeline (Ctrl-C, a lost answer): close()
    looks the branch's new pipelines up and cancels them; an earlier run's stay alone."""
    repo, bare, shas = staged
    old = Pipeline(40, "running", "staging-bisect-1", shas[0], "u", PipelineKind.BRANCH)
    new = Pipeline(50, "running", "staging-bisect-1", shas[0], "u", PipelineKind.BRANCH)
    listed: list[list[Pipeline]] = [[old], [old, new]]

    class Forge(FakeForge):
        def branch_pipelines(self, ref: str, sha: str | None = None) -> list[Pipeline]:
            return listed.pop(0) if listed else []

        def create_pipeline(self, ref: str) -> Pipeline:
            raise KeyboardInterrupt  # Ctrl-C while the request is out

    forge = Forge(by_branch(set()))
    forge.pipelines[50] = new
    probes, _ = probes_for(repo, forge)
    probes.pushes_start_pipelines = False
    with pytest.raises(KeyboardInterrupt):
        probes.run([(1, shas[0])])
    assert probes.close() == []
    assert forge.canceled == [50]
    assert heads(bare) == ["master", "staging"]


def test_a_fault_mid_pass_never_cancels_a_decided_prefix_twice(staged) -> None:  # type: ignore[no-untyped-def]
    repo, _, shas = staged
    faults = [101]

    class Forge(FakeForge):
        def list_jobs(self, pipeline_id: int) -> list[Job]:
            if pipeline_id in faults:
                faults.remove(pipeline_id)
                raise TransientForgeError("502")
            return super().list_jobs(pipeline_id)

    forge = Forge(lambda ref, _a: ["failed"] if ref.endswith("-1") else ["running", "success"])
    probes, _ = probes_for(repo, forge, retries=0)
    done = probes.run([(1, shas[0]), (2, shas[1])])
    assert [p.result for p in done] == ["failed", "passed"]
    assert sorted(forge.canceled) == [100, 101]  # each once
