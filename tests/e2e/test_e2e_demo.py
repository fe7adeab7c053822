"""``send-mergereq demo``: the README's first command, run as a newcomer would."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_helpers import _SIGINT_DEFAULT as SIGINT_DEFAULT
from e2e_helpers import CLI, CliRun, kill_gpg_agent, run_cli

from send_mergereq.demo.flow import next_steps, scenario_names

pytestmark = pytest.mark.e2e

FAST_DEMO = ("--time-scale", "3000")


def _snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``root`` with its mtime and content."""
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _demo(*args: str, home: Path) -> CliRun:
    return run_cli("demo", *args, env=os.environ, cwd=home, timeout=120)


def _demo_root(stderr: str) -> Path:
    found = re.search(r"demo: repository (\S+) \(signing: (\w+)\)", stderr)
    assert found, stderr
    return Path(found[1]).parent


def test_demo_green_shows_checks_push_mr_and_an_open_gate_without_touching_the_user(
    hermetic_env: Path,
) -> None:
    gitconfig = Path(os.environ["GIT_CONFIG_GLOBAL"])
    gitconfig.write_text("[user]\n\tname = Sentinel User\n\temail = sentinel@example.org\n")
    before = _snapshot(hermetic_env)

    rc, out, err = _demo(*FAST_DEMO, "--", "--interval", "0.2", home=hermetic_env)

    assert rc == 0, out + err
    assert "signing: openpgp" in err or "signing: ssh" in err
    # staging is built by apply from two emailed pull requests, fetched from a second project
    assert "demo: running  send-mergereq apply pulls.mbox" in err
    assert re.search(r"applied pull-block-20261125: 2 commits, signed by Demo Submaintainers", out)
    assert re.search(r"applied pull-net-20261125: 2 commits, signed by Demo Submaintainers", out)
    assert "staging: created from origin/master" in out
    assert re.search(r"checks passed: 6 commits \(2 merges\) in origin/master\.\.staging", out)
    assert re.search(r"pushed [0-9a-f]{12} to origin/staging \(new\)", out)
    assert re.search(
        r"opened merge request !1: http://127\.0\.0\.1:\d+/demo/qemu/-/merge_requests/1", out
    )
    assert "merged results pipeline" in out
    assert re.search(r"gate open: pipeline passed .*\[9 success\]", out)
    tail = err.rstrip("\n").splitlines()[-8:]  # the demo's last lines: what to try next
    assert tail[0] == "demo: try next:"
    assert tail[1].startswith("  send-mergereq demo -- --land ") and "# land what passed" in tail[1]
    assert tail[2].startswith("  send-mergereq demo --scenario red ")
    assert tail[5] == "  # a sandbox GitLab of your own, to clone and send to:"
    assert tail[6].endswith(" -m send_mergereq.sandbox --readme")
    assert tail[7] == "  every scenario: send-mergereq demo --help"
    assert _snapshot(hermetic_env) == before  # HOME and the global git config untouched
    assert not _demo_root(err).exists()  # the throwaway repository is gone


def test_demo_red_closes_the_gate_with_the_log_tail(hermetic_env: Path) -> None:
    rc, out, err = _demo(*FAST_DEMO, "--scenario", "red", "--", "--interval", "0.2",
                         home=hermetic_env)  # fmt: skip

    assert rc == 1, out + err
    assert "gate closed:" in out
    assert "--- test/check-qtest failed, end of its log: http://127.0.0.1:" in out
    assert "make: *** [Makefile.mtest:1025: check-qtest] Error 1" in out
    assert "\x1b" not in out
    assert "demo: try next:" in err and "send-mergereq demo --scenario red " not in err


def test_demo_keep_leaves_the_repository(hermetic_env: Path) -> None:
    rc, out, err = _demo(*FAST_DEMO, "--keep", "--", "--interval", "0.2", home=hermetic_env)

    assert rc == 0, out + err
    root = _demo_root(err)
    assert f"demo: kept {root}" in err
    assert (root / "qemu" / ".git").is_dir()
    kill_gpg_agent(root / "gnupg")
    shutil.rmtree(root)


def test_demo_unknown_scenario_exits_2_listing_the_known_ones(hermetic_env: Path) -> None:
    rc, out, err = _demo("--scenario", "purple", home=hermetic_env)

    assert rc == 2
    assert "unknown scenario 'purple'" in err
    for name in scenario_names():
        assert name in err
    assert {"green", "red", "faults", "many"} <= set(scenario_names())
    assert "Traceback" not in err and out == ""


def test_demo_without_gpg_or_ssh_keygen_says_so_and_still_opens_the_gate(
    hermetic_env: Path, tmp_path: Path
) -> None:
    bare_path = tmp_path / "bin"  # git alone on PATH: no gpg, no ssh-keygen
    bare_path.mkdir()
    git = shutil.which("git")
    assert git
    (bare_path / "git").symlink_to(git)
    env = {**os.environ, "PATH": str(bare_path)}

    rc, out, err = run_cli(
        "demo", *FAST_DEMO, "--", "--interval", "0.2", env=env, cwd=hermetic_env, timeout=120
    )

    assert rc == 0, out + err
    assert "neither gpg nor ssh-keygen found" in err and "signing: none" in err
    assert "warning: [signed-tags]" in out
    assert "gate open" in out


def test_demo_push_only_lands_and_shows_the_real_command(hermetic_env: Path) -> None:
    rc, out, err = _demo(*FAST_DEMO, "--", "--no-mr", "--land", "--interval", "0.2",
                         home=hermetic_env)  # fmt: skip

    assert rc == 0, out + err
    assert "demo: running  send-mergereq staging --wait --no-mr --land --interval 0.2" in err
    assert "staging --wait\n" not in err
    assert err.count("virtual clock") == 1
    assert "watching the branch pipeline of staging" in out
    assert re.search(r"landed [0-9a-f]{12} \(fast-forward\); master is now at", out)
    assert "merge request" not in out


def test_demo_interrupted_says_the_sandbox_is_gone(hermetic_env: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGINT_DEFAULT, str(CLI), "demo", "--time-scale", "100", "--",
         "--interval", "0.2"],
        cwd=hermetic_env, env=os.environ, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if "watching pipeline #" in line:
                break
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C at a terminal: the whole process group
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, err
    said = out + err
    assert "status staging" not in said  # no resume command pointing at the gone sandbox
    assert "resume with: send-mergereq demo (a new sandbox: this one is gone with the demo)" in said
    assert "demo: interrupted; the demo's sandbox GitLab is gone with the demo" in err


@pytest.mark.parametrize("scenario", ["green", "red", "flaky", "manual"])
@pytest.mark.parametrize("extra", [(), ("--land",), ("--no-mr", "--land")])
def test_what_to_try_next_fits_an_80_column_terminal(scenario: str, extra: tuple[str, ...]) -> None:
    """Each line under 80 columns, so none wraps to column 0; the sandbox's command, as
    long as the Python's path, on a line of its own with nothing after it."""
    lines = next_steps(scenario, extra)
    sandbox = "  " + shlex.join([sys.executable, "-m", "send_mergereq.sandbox", "--readme"])
    assert sandbox in lines
    assert [line for line in lines if len(line) >= 80 and line != sandbox] == []
