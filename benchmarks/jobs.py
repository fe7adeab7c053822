"""Benchmark ``send-mergereq jobs``: requests and time for N pipelines of M jobs.

Runs the INSTALLED CLI against the embedded sandbox over real HTTP, on a clone whose
``master`` is a seeded history (a tenth of the jobs flaky, one failing at the end),
twice: the first run reads every pipeline, the second only the listing (the cache).

    .venv/bin/python benchmarks/jobs.py                          # 200 pipelines of 50 jobs
    .venv/bin/python benchmarks/jobs.py --pipelines 500 --jobs 20

Target (issue 23): about one request per pipeline plus the listing pages on the first
run, the listing pages alone on a second run; seconds, not minutes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from send_mergereq.sandbox.app import Sandbox
from send_mergereq.sandbox.past import parse_history

CLI = Path(sys.executable).parent / "send-mergereq"
IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.org",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.org",
}


def history(pipelines: int, jobs: int) -> object:
    stories = []
    for n in range(jobs):
        if n % 10 == 1:
            story = ("sssssssssr" * (pipelines // 10 + 1))[:pipelines]
        elif n == 2:
            story = "s" * (pipelines - 3) + "fff"
        else:
            story = "s" * pipelines
        stories.append({"name": f"job-{n:02d}", "story": story, "duration": 60 + n})
    return parse_history({"pipelines": pipelines, "jobs": stories}, "benchmark")


def run(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [str(CLI), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"send-mergereq jobs failed ({done.returncode}): {done.stderr}")
    return elapsed, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=50)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Sandbox(time_scale=0) as sandbox:
        info = sandbox.create_project("bench/qemu", scenario="green")
        repo = Path(tmp) / "repo"
        env = {**os.environ, **IDENTITY, "HOME": tmp, "GITLAB_TOKEN": sandbox.token,
               "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}  # fmt: skip
        header = f"http.extraHeader=PRIVATE-TOKEN: {sandbox.token}"
        for argv in (
            ["git", "init", "-q", "-b", "master", str(repo)],
            ["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "start"],
            ["git", "-C", str(repo), "remote", "add", "origin", info.http_url_to_repo],
            ["git", "-C", str(repo), "-c", header, "push", "-q", "origin", "master"],
            ["git", "-C", str(repo), "-c", header, "fetch", "-q", "origin"],
        ):
            subprocess.run(argv, env=env, check=True)
        sandbox.seed_history("bench/qemu", history(options.pipelines, options.jobs))  # type: ignore[arg-type]
        print(f"{options.pipelines} pipelines of {options.jobs} jobs (a tenth flaky)")
        for label, extra in (("first run", []), ("second run (cache)", [])):
            sandbox.clear_request_log()
            elapsed, _ = run(["jobs", "--json", *extra], repo, env)
            paths = [r.path.split("?")[0] for r in sandbox.request_log if r.kind == "api"]
            jobs = sum(p.endswith("/jobs") for p in paths)
            listing = sum(p.endswith("/pipelines") for p in paths)
            print(f"{label:>20}: {len(paths):4d} API requests ({listing} listing pages, "
                  f"{jobs} job lists, {len(paths) - listing - jobs} other), "
                  f"{elapsed:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
