"""The sandbox stands alone: it imports nothing of the tool outside ``send_mergereq.sandbox``,
and has its own error type, which the tool maps to its own ConfigError (exit 2)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from send_mergereq.demo import flow as demo
from send_mergereq.errors import ConfigError, ExitCode
from send_mergereq.sandbox.errors import ScenarioError
from send_mergereq.sandbox.scenarios import parse_scenario

BLOCKER = textwrap.dedent(
    """
    import sys

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.startswith("send_mergereq.") and not (
                name == "send_mergereq.sandbox" or name.startswith("send_mergereq.sandbox.")
            ):
                raise ImportError(f"the sandbox imported {name}")
            return None

    sys.meta_path.insert(0, Blocker())
    import send_mergereq.sandbox
    import send_mergereq.sandbox.__main__
    from send_mergereq.sandbox import Sandbox, load_scenario
    from send_mergereq.sandbox.errors import ScenarioError

    for name in ("green", "red", "many", "child", "faults", "late"):
        load_scenario(name)
    try:
        load_scenario("no-such-scenario")
    except ScenarioError as exc:
        print("ScenarioError:", exc.message)
    with Sandbox(time_scale=0) as sandbox:
        sandbox.create_project("g/p", scenario="red", initialize_with_readme=True)
    leaked = sorted(
        m for m in sys.modules
        if m.startswith("send_mergereq.") and not m.startswith("send_mergereq.sandbox")
    )
    print("leaked:", leaked)
    """
)


def test_the_sandbox_imports_nothing_of_the_tool() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCKER], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "ScenarioError: unknown sandbox scenario 'no-such-scenario'" in done.stdout
    assert "leaked: []" in done.stdout


def test_the_blocker_does_block() -> None:
    """The same blocker stops an import of the tool, so the test above can fail."""
    code = BLOCKER.split("import send_mergereq.sandbox\n")[0] + "import send_mergereq.errors\n"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0
    assert "the sandbox imported send_mergereq.errors" in done.stderr


def test_a_scenario_error_is_not_the_tools_config_error() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario("stages = [", "broken.toml")
    assert not isinstance(caught.value, ConfigError)
    assert caught.value.message.startswith("scenario broken.toml: not valid TOML")


def test_demo_maps_a_scenario_error_to_config_error_exit_2(
    tmp_path: Path, hermetic_env: Path
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('stages = ["test"]\n[[jobs]]\nname = "x"\nstage = "nope"\n')
    with pytest.raises(ConfigError) as caught:
        demo.run(scenario=str(broken), keep=False, time_scale=0, extra_args=(), say=print)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "jobs[0].stage: 'nope' is not one of test" in caught.value.message
