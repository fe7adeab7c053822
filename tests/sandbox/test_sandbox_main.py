"""``python -m send_mergereq.sandbox``: where it is, labelled, and how to clone; then it serves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

from send_mergereq.sandbox.__main__ import CREDENTIAL_HELPER, start_lines
from send_mergereq.sandbox.faults import FaultInjector
from send_mergereq.sandbox.scenarios import FaultSpec


def test_foreground_entry_point_labels_what_it_prints_and_the_clone_command_works(
    tmp_path: Path,
) -> None:
    """Issue 20: the start line was three unlabelled words. Each value is labelled, and the
    printed ``export`` and ``git clone`` lines, pasted into a shell with nothing else set
    up, clone the project (user oauth2, the token as the password) and leave no token in
    the clone's ``.git/config``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "send_mergereq.sandbox", "--port", "0", "--scenario", "red",
         "--readme"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().rstrip("\n") for _ in range(9)]
        said = dict(ln.strip().split(":  ", 1) for ln in lines[1:5])
        url, repo = said["GitLab URL"].strip(), said["repository"].strip()
        token = said["token"].split()[0]
        assert lines[0].startswith("sandbox GitLab is up (scenario 'red', 20x real time)")
        assert url.startswith("http://127.0.0.1:") and token.startswith("glpat-")
        assert said["project"].strip() == "sandbox/demo" and repo == f"{url}/sandbox/demo.git"
        assert lines[6] == f"  export GITLAB_TOKEN={token}"
        assert (
            lines[7].startswith("  git clone --config 'credential.helper=")
            and token not in lines[7]
        )
        assert "send-mergereq BRANCH --wait" in lines[8]
        answer = requests.get(
            f"{url}/api/v4/projects/sandbox%2Fdemo", headers={"PRIVATE-TOKEN": token}, timeout=5
        )
        assert answer.status_code == 200
        assert answer.json()["path_with_namespace"] == "sandbox/demo"

        home = tmp_path / "home"
        home.mkdir()
        fresh = {"PATH": os.environ["PATH"], "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1",
                 "GIT_TERMINAL_PROMPT": "0"}  # fmt: skip
        pasted = "set -e\n" + lines[6] + "\n" + lines[7] + "\n"
        done = subprocess.run(["bash", "-c", pasted], cwd=tmp_path, env=fresh,
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "demo" / "README.md").exists()
        assert token not in (tmp_path / "demo" / ".git" / "config").read_text()
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_the_clone_command_holds_no_token_and_an_empty_project_is_said() -> None:
    """The helper reads the token from the environment when git runs it."""
    lines = start_lines("http://h", "glpat-x", "p/q", "http://h/p/q.git", scenario="green",
                        time_scale=20, seeded=False)  # fmt: skip
    assert CREDENTIAL_HELPER in lines[7] and "glpat-x" not in lines[7]
    assert "the project is empty: push master first, or start with --readme" in lines[8]


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


def test_a_scenario_with_a_history_is_seeded_by_the_standalone_sandbox() -> None:
    """``--scenario tiers --readme`` (what the README suggests for ``jobs``) had no past
    pipelines: only the demo seeded them, so ``jobs`` found none."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "send_mergereq.sandbox", "--port", "0", "--scenario", "tiers",
         "--readme"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().rstrip("\n") for _ in range(10)]
        said = dict(ln.strip().split(":  ", 1) for ln in lines[1:5])
        url, token = said["GitLab URL"].strip(), said["token"].split()[0]
        assert "  160 past pipelines seeded (the scenario's [history])" in lines
        listed = requests.get(
            f"{url}/api/v4/projects/sandbox%2Fdemo/pipelines",
            params={"ref": "master", "scope": "finished", "per_page": 100},
            headers={"PRIVATE-TOKEN": token}, timeout=5,
        )  # fmt: skip
        assert listed.status_code == 200 and len(listed.json()) == 100
    finally:
        proc.terminate()
        proc.wait(timeout=10)
