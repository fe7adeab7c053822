"""Job outcomes that depend on the tested tree (``fails_if_path``, the ``culprit`` scenario):
the sandbox reads the tree of the pipeline's commit and fails the job when a path matches,
with a log naming that path the way a compiler does."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import gitlab
import pytest
from sandbox_helpers import Pusher

from send_mergereq.sandbox import Sandbox, load_scenario
from send_mergereq.sandbox.errors import ScenarioError
from send_mergereq.sandbox.gitrepo import BareRepo
from send_mergereq.sandbox.scenarios import parse_scenario

JOB = "cross-arm64-system"


def add_file(pusher: Pusher, path: str, subject: str) -> str:
    (pusher.repo.path / path).parent.mkdir(parents=True, exist_ok=True)
    return str(pusher.repo.commit(subject, filename=path))


def branch_pipeline(gl: gitlab.Gitlab, sha: str) -> object:
    project = gl.projects.get("group/proj", lazy=True)
    (pipeline,) = project.pipelines.list(sha=sha, get_all=True)
    return project.pipelines.get(pipeline.id)


def outcome(gl: gitlab.Gitlab, sandbox: Sandbox, sha: str) -> tuple[str, dict[str, str], str]:
    """Run the branch pipeline of ``sha`` to its end: its status, job statuses, the job's log."""
    sandbox.advance(4 * 3600)
    project = gl.projects.get("group/proj", lazy=True)
    pipeline = branch_pipeline(gl, sha)
    jobs = {j.name: j.status for j in pipeline.jobs.list(get_all=True)}  # type: ignore[attr-defined]
    (job,) = [j for j in pipeline.jobs.list(get_all=True) if j.name == JOB]  # type: ignore[attr-defined]
    trace = project.jobs.get(job.id).trace().decode()
    return pipeline.status, jobs, trace  # type: ignore[attr-defined]


def test_the_job_passes_on_a_tree_without_the_path(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pusher = pushed(scenario="culprit", branch_pipelines=True)
    sha = add_file(pusher, "block/qcow2.c", "block: fix qcow2")
    pusher.push("staging")
    status, jobs, trace = outcome(gl, sandbox, sha)
    assert status == "success"
    assert set(jobs.values()) == {"success"}
    assert "error:" not in trace


def test_the_job_fails_on_a_tree_with_the_path_and_names_it(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    pusher = pushed(scenario="culprit", branch_pipelines=True)
    add_file(pusher, "block/qcow2.c", "block: fix qcow2")
    sha = add_file(pusher, "net/virtio-net.c", "net: break virtio-net")
    pusher.push("staging")
    status, jobs, trace = outcome(gl, sandbox, sha)
    assert status == "failed"
    assert jobs.pop(JOB) == "failed"
    assert set(jobs.values()) == {"success"}  # one job breaks; the others stay green
    line = re.search(r"^\.\./net/virtio-net\.c:(\d+):5: error: implicit declaration", trace, re.M)
    assert line is not None, trace
    assert "FAILED: libcommon.fa.p/net/virtio-net.c.o" in trace
    # The line number is stable for the path: a retry tells the same story.
    project = gl.projects.get("group/proj", lazy=True)
    failed = next(j for j in branch_pipeline(gl, sha).jobs.list(get_all=True) if j.name == JOB)  # type: ignore[attr-defined]
    retried = project.jobs.get(failed.id, lazy=True).retry()
    sandbox.advance(3600)
    again = project.jobs.get(retried["id"])
    assert again.status == "failed"
    assert f"../net/virtio-net.c:{line.group(1)}:5: error:" in again.trace().decode()


def test_the_tree_is_that_of_the_pipeline_commit_not_the_branch_head(
    pushed: Callable[..., Pusher], sandbox: Sandbox, gl: gitlab.Gitlab
) -> None:
    """A prefix of staging without the breaking commit passes, even once the branch moves on:
    what bisection relies on."""
    pusher = pushed(scenario="culprit", branch_pipelines=True)
    good = add_file(pusher, "block/qcow2.c", "block: fix qcow2")
    pusher.push("staging")
    add_file(pusher, "net/tap.c", "net: break tap")
    pusher.push("staging")
    status, _, _ = outcome(gl, sandbox, good)
    assert status == "success"


def test_the_repository_lists_and_caches_the_tree(tmp_path: Path) -> None:
    repo = BareRepo.create(tmp_path / "p.git", "master", [])
    first = repo.initial_commit("README", "hi\n", "init", 0)
    calls: list[tuple[str, ...]] = []
    real = repo.git

    def counting(*args: str, **kwargs: object) -> str:
        calls.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    repo.git = counting  # type: ignore[method-assign]
    assert repo.paths(first) == ("README",)
    assert repo.paths(first) == ("README",)
    assert [c[0] for c in calls] == ["ls-tree"]  # once per commit


SHIPPED_JOB = 'stages = ["a"]\n[[jobs]]\nname = "j"\nstage = "a"\n'
BROKEN = [
    (SHIPPED_JOB + 'fails_if_path = ""\n', "jobs[0].fails_if_path: '' is not a relative path glob"),
    (SHIPPED_JOB + 'fails_if_path = "/hw/*"\n', "is not a relative path glob"),
    (SHIPPED_JOB + 'fails_if_path = 3\n', "jobs[0].fails_if_path: expected a string"),
    (SHIPPED_JOB + 'fails_if_path = "hw/*"\noutcome = "failed"\n', "drop 'outcome'"),
    (SHIPPED_JOB + 'fails_if_path = "hw/*"\nlog = "boom"\n', "jobs[0].log: a fails_if_path"),
    (SHIPPED_JOB + 'fails_if_path = "hw/*"\ntrigger = "c"\n[children.c]\nstages = ["x"]\n'
     '[[children.c.jobs]]\nname = "k"\nstage = "x"\n', "bridge"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_a_broken_fails_if_path_names_file_and_key(text: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "broken.toml")
    assert "scenario broken.toml" in caught.value.message
    assert expected in caught.value.message


def test_culprit_ships_one_tree_dependent_gating_job() -> None:
    scenario = load_scenario("culprit")
    deciding = [j for j in scenario.pipeline.jobs if j.fails_if_path is not None]
    assert [(j.name, j.fails_if_path, j.allow_failure) for j in deciding] == [(JOB, "net/*", False)]
    assert all(j.outcome == "success" and not j.flaky for j in scenario.pipeline.jobs)
