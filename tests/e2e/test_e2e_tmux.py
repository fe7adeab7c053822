"""The live view in a real terminal: tmux panes of 80x24 and 200x50, read back with
``tmux capture-pane`` while the pipeline runs and after the verdict.

In every capture taken while the pipeline runs the summary line is the last line, no line is
wider than the pane and the view has not scrolled (its title is still on screen); on a red
pipeline the last non-empty line is the verdict. Skipped only where tmux is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from e2e_helpers import CLI, Maintainer, MakeMaintainer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

WAIT = ("staging", "--wait", "--interval", "0.2")


@dataclass
class Pane:
    socket: str
    width: int
    height: int

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return done.stdout

    def capture(self) -> list[str]:
        return self.tmux("capture-pane", "-p", "-t", "watch").split("\n")[: self.height]


@contextmanager
def pane(who: Maintainer, width: int, height: int, *args: str) -> Iterator[Pane]:
    """The CLI running in a ``width`` x ``height`` tmux pane of its own tmux server (which
    inherits the maintainer's environment: no token in any argv or file)."""
    socket = f"smr-test-{uuid.uuid4().hex[:12]}"
    shown = Pane(socket, width, height)
    command = f"cd {who.repo} && {CLI} {' '.join(args)}; rc=$?; echo; echo EXIT $rc; sleep 600"
    subprocess.run(
        ["tmux", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", "watch",
         "-x", str(width), "-y", str(height), command],
        env={**who.env(), "TERM": "xterm-256color"}, check=True, timeout=30,
    )  # fmt: skip
    try:
        yield shown
    finally:
        subprocess.run(
            ["tmux", "-L", socket, "kill-server"], check=False, capture_output=True, timeout=30
        )


def _watch_captures(shown: Pane, limit: float = 120.0) -> list[list[str]]:
    """Captures every 0.2 s until the CLI exits (``limit`` only stops a hung run)."""
    captures: list[list[str]] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        screen = shown.capture()
        if any(line.startswith("EXIT ") for line in screen):
            return captures
        captures.append(screen)
        time.sleep(0.2)
    pytest.fail("the CLI did not exit in the pane")


def _live(screen: list[str]) -> bool:
    """Taken while the pipeline runs: the live view is on screen, the verdict not yet."""
    running = any("next poll in" in line or "reconnecting" in line for line in screen)
    return running and not any(line.startswith("gate ") for line in screen)


@pytest.mark.parametrize(("width", "height"), [(80, 24), (200, 50)])
def test_250_jobs_fit_the_pane_with_the_summary_always_last(
    maintainer: MakeMaintainer, width: int, height: int
) -> None:
    who = maintainer("many")
    who.sandbox.set_time_scale(400)
    with pane(who, width, height, *WAIT) as shown:
        captures = [c for c in _watch_captures(shown) if _live(c)]
        final = shown.capture()
    assert len(captures) >= 3, final
    for screen in captures:
        lines = [line for line in screen if line.strip()]
        assert max(len(line) for line in screen) <= width, screen
        assert lines[-1].startswith("elapsed "), screen  # the summary line is the last one
        titles = [n for n, line in enumerate(screen) if line.startswith("pipeline #")]
        assert titles, screen  # the view's top is on screen: it never scrolled off
        assert len(screen) - titles[0] <= height
        if len(lines) > 20 and width == 80:
            assert any("… and " in line for line in screen), screen
    assert any("EXIT 0" in line for line in final), final


def test_red_at_80x24_ends_with_the_verdict(maintainer: MakeMaintainer) -> None:
    who = maintainer("red")
    who.sandbox.set_time_scale(1500)
    with pane(who, 80, 24, *WAIT) as shown:
        _watch_captures(shown)
        final = shown.capture()
    lines = [line for line in final if line.strip()]
    assert lines[-1] == "EXIT 1", final
    lines.pop()
    hints = [n for n, line in enumerate(lines) if line.startswith("hint: ")]
    if hints:  # jobs left running: the hint how to cancel them follows the verdict (wrapped)
        assert "still run or wait" in lines[hints[-1]], final
        del lines[hints[-1] :]
    assert lines[-1].startswith("gate closed: test/check-qtest failed (after "), final
    # the triage between the failing job and the verdict: the next command right above it
    assert any(line.startswith("next: send-mergereq bisect staging ") for line in lines[-3:-1])
    failing = [n for n, line in enumerate(lines) if line.startswith("  ✘ test/check-qtest  http")]
    assert failing and failing[-1] < lines.index("likely culprits:"), final
    assert max(len(line) for line in final) <= 80
    assert not any("Cleaning up project directory" in line for line in final), final
