"""The triage pieces together, against the sandbox over real HTTP: a staging of three real
pull requests, pushed; the ``culprit`` scenario fails the job the net pull request breaks;
the job's log tail, as the watch shows it, names that pull request; and the prefix of
staging without it passes (what ``bisect`` will rely on)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import gitlab
import pytest
from triage_helpers import pull

from gitrepo import Repo
from send_mergereq.logtext import log_tail
from send_mergereq.sandbox import Sandbox
from send_mergereq.triage.pulls import pulls_in
from send_mergereq.triage.suspects import suspect


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(time_scale=0) as sb:
        yield sb
        assert sb.errors == []


def test_the_log_of_the_broken_job_names_the_pull_request_that_breaks_it(
    sandbox: Sandbox, make_repo: Callable[..., Repo]
) -> None:
    info = sandbox.create_project("qemu/qemu", scenario="culprit", branch_pipelines=True)
    repo = make_repo()
    pull(repo, "pull-block", {"block/qcow2.c": "b", "tests/qemu-iotests/042": "t"}, commits=2)
    pull(repo, "pull-net", {"net/tap.c": "n", "include/net/net.h": "h"})
    pull(repo, "pull-arm", {"hw/arm/virt.c": "a"})
    env = {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Bearer {sandbox.token}",
    }
    pulls = pulls_in(repo.path, "master", "staging")
    repo.git("push", "-q", info.http_url_to_repo, "master", "staging", env=env)
    for p in pulls:  # every prefix of staging, as bisect pushes them
        repo.git("push", "-q", info.http_url_to_repo, f"{p.merge}:refs/heads/try-{p.k}", env=env)
    sandbox.advance(4 * 3600)

    project = gitlab.Gitlab(sandbox.url, private_token=sandbox.token).projects.get("qemu/qemu")

    def pipeline_of(ref: str) -> object:
        (found,) = project.pipelines.list(ref=ref, get_all=True)
        return found

    staging = pipeline_of("staging")
    assert staging.status == "failed"  # type: ignore[attr-defined]
    (failed,) = staging.jobs.list(scope="failed", get_all=True)  # type: ignore[attr-defined]
    tail = log_tail(project.jobs.get(failed.id).trace().decode(), 20).splitlines()

    found = suspect(failed.name, tail, pulls)
    assert (found.basis, [s.tag for s in found.suspects]) == ("log", ["pull-net"])
    (net,) = found.suspects
    assert net.merge == pulls[1].merge
    assert any(line.startswith("../include/net/net.h:") or line.startswith("../net/tap.c:")
               for line in net.evidence)  # fmt: skip
    # The prefixes: without the net pull request the job passes; with it, it fails.
    assert [pipeline_of(f"try-{p.k}").status for p in pulls] == [  # type: ignore[attr-defined]
        "success",
        "failed",
        "failed",
    ]
