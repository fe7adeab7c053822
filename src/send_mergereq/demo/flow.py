"""``send-mergereq demo``: the whole flow against the embedded sandbox, as a newcomer sees it.

Builds the throwaway repository (``demo_repo``), starts the sandbox on loopback,
pushes ``master`` there, then runs exactly what a maintainer runs —
``send-mergereq staging --wait`` and whatever followed ``--`` — as a child process
in the demo's own environment, so its output, live table and exit code are the real
ones. With ``--no-mr`` the sandbox runs branch pipelines (push-only's gate).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from send_mergereq.demo import repo as demo_repo
from send_mergereq.errors import ConfigError, ExitCode, GitError

if TYPE_CHECKING:
    from send_mergereq.sandbox import Sandbox

SCENARIO_DIR = Path(__file__).parents[1] / "sandbox" / "scenarios"
PROJECT = "demo/qemu"
PULLS_PROJECT = "submaintainers/qemu"  # where the submaintainers publish their signed tags
DEMO_ENV = "SEND_MERGEREQ_DEMO_SANDBOX"
DEMO_GONE = "the demo's sandbox GitLab is gone with the demo: nothing to resume"
DEMO_RESUME = "send-mergereq demo (a new sandbox: this one is gone with the demo)"


def scenario_names() -> list[str]:
    """The shipped scenarios, read from the folder (no sandbox import: keeps --help fast)."""
    return sorted(path.stem for path in SCENARIO_DIR.glob("*.toml"))


def run(
    *,
    scenario: str,
    keep: bool,
    time_scale: float,
    extra_args: tuple[str, ...],
    say: Callable[[str], None],
) -> int:
    """Run the demo; the exit code is the one ``send-mergereq staging --wait`` gave."""
    from send_mergereq.sandbox import Sandbox
    from send_mergereq.sandbox.errors import ScenarioError

    root = Path(tempfile.mkdtemp(prefix="send-mergereq-demo-"))
    try:
        people = demo_repo.submaintainers(scenario)
        demo = demo_repo.build(root, merge_pulls=False, people=people)
        if demo.signing == "none":
            say("demo: neither gpg nor ssh-keygen found: the pull requests are unsigned "
                "tags, merged by hand; the signed-tags check runs as a warning")  # fmt: skip
            extra_args = ("--check", "signed-tags=warning", *extra_args)
            demo_repo.merge_locally(demo, demo_repo.tag_names(people))
        push_only = "--no-mr" in extra_args  # push-only: the branch pipeline is the gate
        with Sandbox(time_scale=time_scale) as sandbox:
            try:
                project = sandbox.create_project(
                    PROJECT, scenario=scenario, branch_pipelines=push_only
                )
            except ScenarioError as exc:  # the sandbox's own error, the tool's exit 2
                raise ConfigError(exc.message, hint=exc.hint) from None
            _publish_master(demo, project.http_url_to_repo, sandbox.token)
            history = _seed_history(sandbox, say)
            say(f"demo: repository {demo.repo} (signing: {demo.signing}), "
                f"sandbox GitLab at {sandbox.url}, scenario {scenario!r}")  # fmt: skip
            say(f"demo: the sandbox runs on a virtual clock, {time_scale:g}x real time: "
                "job durations are virtual, the elapsed time is real")  # fmt: skip
            if demo.signing != "none":
                code = _apply(demo, sandbox, say, people)
                if code != 0:
                    return code
            say(f"demo: running  {shlex.join(['send-mergereq', *command(extra_args)])}")
            try:
                code = _send(demo, sandbox.token, extra_args)
                if scenario == "culprit" and code == int(ExitCode.GATE_CLOSED):
                    code = _culprit(demo, sandbox.token, extra_args, say)
            except KeyboardInterrupt:  # the sandbox goes with the demo: nothing to resume
                say(f"demo: interrupted; {DEMO_GONE}")
                return int(ExitCode.INTERRUPTED)
            if history:
                say("demo: running  send-mergereq jobs  (master's past pipelines, the advice)")
                _send(demo, sandbox.token, (), words=["jobs"])
            for line in next_steps(scenario, extra_args):
                say(line)
            return code
    finally:
        if keep:
            say(f"demo: kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


# What to try after a demo: (what it shows, the words after ``send-mergereq``); each
# line under 80 columns, so none wraps to column 0.
_TRIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("land what passed", ("demo", "--", "--land")),
    ("a failing job, the gate shows its log", ("demo", "--scenario", "red")),
    ("QEMU's push-only flow (no MR)", ("demo", "--", "--no-mr", "--land")),
    ("a flaky job: the --retry-failed hint", ("demo", "--scenario", "flaky")),
    ("a manual job that blocks the gate", ("demo", "--scenario", "manual")),
    ("bisect finds the pull request at fault", ("demo", "--scenario", "culprit")),
    ("job health and tier advice", ("demo", "--scenario", "tiers")),
)


def next_steps(scenario: str, extra_args: tuple[str, ...]) -> list[str]:
    """The demo's last lines: three other runs worth trying (not the one just run), the
    repository kept to look around in, and a sandbox of one's own."""
    tries = [(why, words) for why, words in _TRIES if not _ran(words, scenario, extra_args)]
    sandbox = shlex.join([sys.executable, "-m", "send_mergereq.sandbox", "--readme"])
    lines = ["demo: try next:"]
    lines += [f"  {shlex.join(['send-mergereq', *words]):<36} # {why}" for why, words in tries[:3]]
    lines.append(f"  {'send-mergereq demo --keep':<36} # keep the repository to look around")
    lines.append("  # a sandbox GitLab of your own, to clone and send to:")
    lines.append(f"  {sandbox}")  # as long as the Python's path: on a line of its own
    lines.append("  every scenario: send-mergereq demo --help")
    return lines


def _ran(words: tuple[str, ...], scenario: str, extra_args: tuple[str, ...]) -> bool:
    """Whether the try ``words`` is what was just run: its scenario, or its flags."""
    if "--scenario" in words:
        return words[words.index("--scenario") + 1] == scenario
    flags = words[words.index("--") + 1 :] if "--" in words else ()
    return scenario == "green" and set(flags) <= set(extra_args)


def _publish_master(demo: demo_repo.DemoEnv, url: str, token: str) -> None:
    """Add the sandbox as ``origin`` and push ``master`` (token in the environment only)."""
    env = {
        **demo.env,
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"PRIVATE-TOKEN: {token}",
    }
    for args in (["remote", "add", "origin", url], ["push", "-q", "origin", "master"]):
        proc = subprocess.run(
            ["git", *args], cwd=demo.repo, env=env, capture_output=True, check=False
        )
        if proc.returncode != 0:
            reason = proc.stderr.decode(errors="replace").strip()
            raise GitError(f"demo: git {args[0]} failed: {reason}")


def _apply(
    demo: demo_repo.DemoEnv,
    sandbox: Sandbox,
    say: Callable[[str], None],
    people: tuple[demo_repo.Submaintainer, ...],
) -> int:
    """The submaintainers publish their tags on a second project and mail pull requests;
    ``send-mergereq apply`` builds ``staging`` from the mails, fetching over HTTP."""
    pulls = sandbox.create_project(PULLS_PROJECT, visibility="public")
    push_env = {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"PRIVATE-TOKEN: {sandbox.token}",
    }
    mbox = demo_repo.pull_emails(demo, pulls.http_url_to_repo, push_env, people)
    say(f"demo: the submaintainers' tags are at {pulls.http_url_to_repo}")
    say(f"demo: running  send-mergereq apply {mbox.name}")
    argv = [sys.executable, "-m", "send_mergereq", "apply", str(mbox)]
    return subprocess.run(argv, cwd=demo.repo, env=demo.env, check=False).returncode


def command(extra_args: tuple[str, ...]) -> list[str]:
    """The words after ``send-mergereq`` that the demo runs."""
    return ["staging", "--wait", *extra_args]


def _seed_history(sandbox: Sandbox, say: Callable[[str], None]) -> bool:
    """A scenario with a ``[history]`` (``tiers``): master's past pipelines, for ``jobs``."""
    from send_mergereq.sandbox.errors import ScenarioError

    try:
        seeded = sandbox.seed_history(PROJECT)
    except ScenarioError:
        return False
    say(f"demo: master has {len(seeded)} past pipelines (the scenario's [history])")
    return True


def _send(
    demo: demo_repo.DemoEnv, token: str, extra_args: tuple[str, ...], words: list[str] | None = None
) -> int:
    # DEMO_ENV tells the run its GitLab is the demo's sandbox: gone when the demo ends,
    # so an interrupted run has nothing to resume
    env = {**demo.env, "GITLAB_TOKEN": token, DEMO_ENV: "1"}
    argv = [sys.executable, "-m", "send_mergereq", *(words or command(extra_args))]
    return subprocess.run(argv, cwd=demo.repo, env=env, check=False).returncode


def _culprit(
    demo: demo_repo.DemoEnv, token: str, extra_args: tuple[str, ...], say: Callable[[str], None]
) -> int:
    """After the red gate of scenario ``culprit``: ``bisect --eject`` names the pull
    request that broke it and rebuilds staging without it; staging is sent again, passes
    and lands. The first step that does not succeed ends the demo with its exit code."""
    # pushes start no pipeline in MR mode: bisect starts them after a short look
    subprocess.run(["git", "config", "sendmergereq.bisectPipelineWait", "1"],
                   cwd=demo.repo, env=demo.env, check=False)  # fmt: skip
    rest = [a for a in extra_args if a not in ("--land", "--wait")]
    for words in (["bisect", "--eject", "--interval", "1"], ["staging", "--land", *rest]):
        say(f"demo: running  {shlex.join(['send-mergereq', *words])}")
        code = _send(demo, token, extra_args, words)
        if code != 0:
            return code
    return 0
