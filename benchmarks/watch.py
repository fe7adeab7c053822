"""Benchmark the watch: API requests per poll, memory over a four-hour wait, faults.

Runs the real loop (``watch.loop.watch``) through the real ``Forge`` (python-gitlab over
HTTP) against the embedded sandbox, on the sandbox's virtual clock: the loop's
``sleep`` advances virtual time, so a four-hour pipeline is watched in seconds.

    .venv/bin/python benchmarks/watch.py            # every measure
    .venv/bin/python benchmarks/watch.py --hours 1  # a shorter long wait

Targets (docs/PRODUCT.md, "Speed and cost"): at most 1 + ⌈jobs/100⌉ + (bridges) requests
per poll with ``per_page=100``; no log fetched until a job fails; memory flat over a
four-hour wait.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import time
import tracemalloc
from collections.abc import Callable

from send_mergereq.gitlab.credentials import Secret, Token
from send_mergereq.gitlab.forge import Forge, MrSpec
from send_mergereq.sandbox.app import Sandbox
from send_mergereq.sandbox.reqlog import RequestRecord
from send_mergereq.sandbox.scenarios import Scenario, parse_scenario
from send_mergereq.watch.display import PlainDisplay
from send_mergereq.watch.loop import watch
from send_mergereq.watch.types import WatchOptions, WatchResult

IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.org",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.org",
}
WATCH_SIDE = (
    "*/send_mergereq/watch/*",
    "*/send_mergereq/gate.py",
    "*/send_mergereq/forge.py",
    "*/send_mergereq/models.py",
    "*/gitlab/*",
    "*/requests/*",
    "*/urllib3/*",
    "*/http/client.py",
    "*/json/*",
)


def two_stages(name: str, builds: int, tests: int, test_duration: int, extra: str = "") -> Scenario:
    """``builds`` jobs of 5 minutes, then ``tests`` jobs of ``test_duration``, plus ``extra``."""
    text = f"""
name = "{name}"
stages = ["build", "test"]
queue_delay = 5
[[jobs]]
name = "build-{{n}}"
stage = "build"
duration = 300
repeat = {builds}
[[jobs]]
name = "test-{{n}}"
stage = "test"
duration = {test_duration}
repeat = {tests}
{extra}"""
    return parse_scenario(text, "benchmarks/watch.py")


def long_wait(hours: float) -> Scenario:
    """120 jobs over two stages and one soak job lasting ``hours``."""
    soak = f'[[jobs]]\nname = "soak"\nstage = "test"\nduration = {int(hours * 3600)}\n'
    return two_stages("long-wait", 20, 99, 900, soak)


class Quiet(PlainDisplay):
    """Plain lines into /dev/null: the display's work is measured, not printed."""

    def __init__(self) -> None:
        super().__init__(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the run


def open_pipeline(sandbox: Sandbox, scenario: str | Scenario) -> tuple[Forge, int]:
    info = sandbox.create_project("qemu/qemu", scenario=scenario, initialize_with_readme=True)

    def git(*args: str) -> str:
        env = {**os.environ, **IDENTITY}
        out = subprocess.run(
            ["git", "-C", str(info.repo_path), *args], check=True, capture_output=True, env=env
        )
        return out.stdout.decode().strip()

    sha = git("commit-tree", git("rev-parse", "master^{tree}"), "-p", "master", "-m", "staging")
    git("update-ref", "refs/heads/staging", sha)
    forge = Forge.connect(sandbox.url, Token(Secret(sandbox.token), "benchmark"), "qemu/qemu")
    mr = forge.open_or_update_mr("staging", "master", MrSpec("staging", ""))
    pipelines = forge.mr_pipelines(mr.iid) or [forge.create_mr_pipeline(mr.iid)]
    sandbox.clear_request_log()
    return forge, pipelines[0].id


def run_watch(
    sandbox: Sandbox, forge: Forge, pipeline_id: int, sleep: Callable[[float], None] | None = None
) -> WatchResult:
    return watch(
        forge,
        pipeline_id,
        Quiet(),
        WatchOptions(),
        resume_command="send-mergereq status !1",
        clock=sandbox.now,
        sleep=sleep or sandbox.advance,
    )


def polls(sandbox: Sandbox, pipeline_id: int) -> list[list[RequestRecord]]:
    """API requests cut into polls at each GET of the watched pipeline."""
    cut: list[list[RequestRecord]] = []
    for record in sandbox.request_log:
        path = record.path.split("?")[0]
        if record.method == "GET" and path.endswith(f"/pipelines/{pipeline_id}"):
            cut.append([])
        if cut and record.kind == "api":
            cut[-1].append(record)
    return cut


def jobs_scenario(count: int) -> Scenario:
    """``count`` jobs in two stages, for the 10 / 250 / 1,000 job measures."""
    builds = max(1, count // 10)
    return two_stages(f"jobs-{count}", builds, count - builds, 600)


def measure_requests(scenario: str | Scenario) -> None:
    label = scenario if isinstance(scenario, str) else scenario.name
    with Sandbox(time_scale=0) as sandbox:
        forge, pid = open_pipeline(sandbox, scenario)
        started = time.perf_counter()
        result = run_watch(sandbox, forge, pid)
        wall = time.perf_counter() - started
        cut = polls(sandbox, pid)
        sizes = [len(p) for p in cut]
        kib = [sum(r.response_bytes for r in p) / 1024 for p in cut]
        pipeline = result.pipeline
        jobs = len(pipeline.jobs) if pipeline else 0
        bridges = sum(1 for j in pipeline.jobs if j.is_bridge) if pipeline else 0
        traces = sum(1 for r in sandbox.request_log if r.path.split("?")[0].endswith("/trace"))
        bound = 1 + math.ceil((jobs - bridges) / 100)
        print(
            f"{label:>13}: {result.verdict.outcome.value}, {jobs} jobs ({bridges} bridges), "
            f"{len(sizes)} polls, requests/poll median {statistics.median(sizes):g} "
            f"max {max(sizes)} (1 + pages = {bound}, + bridges), "
            f"KiB/poll median {statistics.median(kib):.1f}, {traces} log fetches, "
            f"{wall:.1f} s wall"
        )


def _watch_side(snapshot: tracemalloc.Snapshot) -> int:
    filters = [tracemalloc.Filter(True, pattern) for pattern in WATCH_SIDE]
    return sum(stat.size for stat in snapshot.filter_traces(filters).statistics("filename"))


def measure_memory(hours: float) -> None:
    marks = [3600.0 * hours / 4, 3600.0 * hours]
    samples: list[tuple[float, int]] = []
    with Sandbox(time_scale=0) as sandbox:
        forge, pid = open_pipeline(sandbox, long_wait(hours))
        start = sandbox.now()

        def sleep(seconds: float) -> None:
            sandbox.advance(seconds)
            if marks and sandbox.now() - start >= marks[0]:
                samples.append((marks.pop(0), _watch_side(tracemalloc.take_snapshot())))

        tracemalloc.start(1)
        wall = time.perf_counter()
        try:
            result = run_watch(sandbox, forge, pid, sleep)
        finally:
            tracemalloc.stop()
        wall = time.perf_counter() - wall
        count = len(polls(sandbox, pid))
    (t1, m1), (t2, m2) = samples
    print(
        f"{hours:g} h wait, 120 jobs: {result.verdict.outcome.value} after {count} polls "
        f"({wall:.0f} s wall, tracemalloc on); watch-side memory {m1 / 1024:.0f} KiB at "
        f"{t1 / 3600:g} h, {m2 / 1024:.0f} KiB at {t2 / 3600:g} h: "
        f"growth {(m2 - m1) / 1024:+.1f} KiB"
    )


def measure_faults() -> None:
    with Sandbox(time_scale=0) as sandbox:
        forge, pid = open_pipeline(sandbox, "faults")
        result = run_watch(sandbox, forge, pid)
        faults = [r.fault for r in sandbox.request_log if r.fault]
    verdict = result.verdict.outcome.value
    print(f"    faults: {verdict} through {len(faults)} injected faults {faults}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=4.0, help="length of the long wait")
    args = parser.parse_args()
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    for count in (10, 250, 1000):
        measure_requests(jobs_scenario(count))
    for scenario in ("green", "many", "allow-failure", "red", "child"):
        measure_requests(scenario)
    measure_faults()
    measure_memory(args.hours)


if __name__ == "__main__":
    main()
