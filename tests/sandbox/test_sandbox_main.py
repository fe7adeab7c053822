"""``python -m send_mergereq.sandbox``: one line with URL, token and repo, then it serves."""

from __future__ import annotations

import os
import subprocess
import sys

import requests

from send_mergereq.sandbox.faults import FaultInjector
from send_mergereq.sandbox.scenarios import FaultSpec


def test_foreground_entry_point_prints_one_line_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "send_mergereq.sandbox", "--port", "0", "--scenario", "red"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        assert proc.stdout is not None
        url, token, repo = proc.stdout.readline().split()
        assert url.startswith("http://127.0.0.1:") and token.startswith("glpat-")
        assert repo == f"{url}/sandbox/demo.git"
        answer = requests.get(
            f"{url}/api/v4/projects/sandbox%2Fdemo", headers={"PRIVATE-TOKEN": token}, timeout=5
        )
        assert answer.status_code == 200
        assert answer.json()["path_with_namespace"] == "sandbox/demo"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_foreground_entry_point_rejects_an_unknown_scenario() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "send_mergereq.sandbox", "--scenario", "purple"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "unknown sandbox scenario 'purple'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_fault_windows_count_matching_requests_only() -> None:
    faults = FaultInjector()
    faults.arm(FaultSpec("502", match="/jobs", first=2, last=3))
    seen = [faults.check(p) for p in ("/jobs", "/version", "/jobs", "/jobs", "/jobs")]
    assert [f.action if f else None for f in seen] == [None, None, "502", "502", None]
    assert faults.pending() == 0


def test_coinciding_faults_fire_one_after_the_other() -> None:
    faults = FaultInjector()
    faults.arm(FaultSpec("429", match="/p", first=1))
    faults.arm(FaultSpec("drop", match="/p", first=1))
    assert [f.action if f else None for f in (faults.check("/p") for _ in range(3))] == [
        "429",
        "drop",
        None,
    ]


def test_foreground_entry_point_takes_the_mr_pipeline_delay() -> None:
    """``--mr-pipeline-delay`` reaches ``create_project`` (a negative one is refused there)."""
    proc = subprocess.run(
        [sys.executable, "-m", "send_mergereq.sandbox", "--mr-pipeline-delay", "-1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "mr_pipeline_delay -1.0 must not be negative" in proc.stderr
    assert "Traceback" not in proc.stderr
