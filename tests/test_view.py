"""The live view at QEMU's scale: golden screens at 80x24, 120x40 and 200x60 with 8, 60 and
250 jobs, and the properties every screen must have (fits, summary last, counted rest).

Regenerate the golden files with ``UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_view.py`` and
review the diff."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from rich.console import Console

from send_mergereq.gate import evaluate
from send_mergereq.models import Job, Pipeline, PipelineKind, natural_key
from send_mergereq.watch.live import render_screen, render_summary
from send_mergereq.watch.types import Snapshot

GOLDEN = Path(__file__).parent / "golden" / "view"
URL = "https://gitlab.example/qemu/-"
SIZES = [(80, 24), (120, 40), (200, 60)]
COUNTS = [8, 60, 250]


def qemu_like(jobs: int) -> Pipeline:
    """A gating pipeline in the middle of its run: build finished (one allowed failure),
    test running with one failure and a manual job, the rest waiting."""
    stages = [("build", 0.2), ("test", 0.6), ("check", 0.2)]
    made: list[Job] = []
    jid = 1000
    for stage, share in stages:
        count = max(2, round(jobs * share)) if stage != "check" else jobs - len(made)
        for n in range(count):
            jid += 1
            status, allow = _status(stage, n, count)
            made.append(
                Job(
                    id=jid,
                    name=f"{stage}-shard-{n + 1}",
                    stage=stage,
                    status=status,
                    allow_failure=allow,
                    web_url=f"{URL}/jobs/{jid}",
                    duration=60.0 + n if status != "pending" else None,
                    pipeline_id=100,
                )
            )
    return Pipeline(
        id=100,
        status="running",
        ref="refs/merge-requests/7/merge",
        sha="c" * 40,
        web_url=f"{URL}/pipelines/100",
        kind=PipelineKind.MERGED_RESULT,
        jobs=tuple(made),
    )


def _status(stage: str, n: int, count: int) -> tuple[str, bool]:
    if stage == "build":
        return ("failed", True) if n == count - 1 else ("success", False)
    if stage == "test":
        if n == 1:
            return "failed", False
        if n == count - 1:
            return "manual", False
        return ("running", False) if n < count // 2 else ("success", False)
    return ("pending", False) if n % 3 else ("created", False)


def screen(width: int, height: int, jobs: int) -> str:
    pipeline = qemu_like(jobs)
    snapshot = Snapshot(pipeline, evaluate(pipeline), 40.0, 40.0, 3.0)
    console = Console(record=True, width=width, height=height, file=io.StringIO())
    console.print(render_screen(snapshot, 41.0, width, height))
    return console.export_text()


@pytest.mark.parametrize(("width", "height"), SIZES)
@pytest.mark.parametrize("jobs", COUNTS)
def test_golden_screen(width: int, height: int, jobs: int) -> None:
    text = screen(width, height, jobs)
    path = GOLDEN / f"{width}x{height}-{jobs}jobs.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("width", "height"), [*SIZES, (80, 10), (100, 30), (160, 50)])
@pytest.mark.parametrize("jobs", [*COUNTS, 1, 500])
def test_every_screen_fits_and_ends_with_the_summary(width: int, height: int, jobs: int) -> None:
    lines = screen(width, height, jobs).splitlines()
    assert len(lines) <= height - 1  # one row free: the terminal never scrolls
    assert max(len(line) for line in lines) <= width
    summary = lines[-1]
    assert summary.startswith("elapsed 41s · ") and "…" not in summary  # parts dropped, not cut
    failed = sum(job.status == "failed" for job in qemu_like(jobs).jobs)
    assert f" · {failed} failed" in summary  # never cut, whatever the width
    if width >= 120:
        assert summary.startswith("elapsed 41s · next poll in 2s · ")
    assert lines[1].split()[:5] == ["stage", "job", "status", "time", "note"]
    _every_unfinished_job_is_shown_or_counted(lines, jobs)
    rows = [line for line in lines[2:] if not line.startswith("  ↳ ")]
    assert "✘ failed" in rows[0] and "✘ failed" in rows[1]  # failures first
    if jobs > 1:
        assert "test-shard-2 " in rows[1] and "▶ manual" in rows[2]  # then manual


@pytest.mark.parametrize("width", [20, 30, 40, 60, 80])
def test_a_narrow_summary_drops_the_least_important_parts_first(width: int) -> None:
    """The poll goes first, then the rare statuses, the elapsed time, the common ones; the
    failed count stays whole (first, when nothing else fits)."""
    pipeline = qemu_like(250)
    snapshot = Snapshot(pipeline, evaluate(pipeline), 40.0, 40.0, 3.0)
    summary = render_summary(snapshot, 41.0, width=width).plain
    assert len(summary) <= width and "2 failed" in summary
    expected = {
        80: "elapsed 41s · 123 success · 74 running · 33 pending · 17 created · 2 failed",
        60: "123 success · 74 running · 33 pending · 2 failed",
        40: "74 running · 33 pending · 2 failed",
        30: "74 running · 2 failed",
        20: "2 failed",
    }
    assert summary == expected[width]


def test_a_long_fault_gives_way_to_the_failed_count() -> None:
    pipeline = qemu_like(8)
    snapshot = Snapshot(pipeline, evaluate(pipeline), 40.0, 40.0, 3.0)
    fault = "GitLab answered 503 while listing jobs of pipeline 100: " + "x" * 80
    summary = render_summary(snapshot, 41.0, fault, width=80).plain
    assert summary == "elapsed 41s · reconnecting… · 3 success · 2 failed · 1 created · 1 running"
    wide = render_summary(snapshot, 41.0, fault, width=400).plain
    assert wide.startswith(f"elapsed 41s · reconnecting… ({fault}) · 3 success · 2 failed")


def _every_unfinished_job_is_shown_or_counted(lines: list[str], jobs: int) -> None:
    waiting = sum(1 for j in qemu_like(jobs).jobs if j.status in ("running", "pending", "created"))
    shown = sum(line.count(s) for line in lines for s in ("● running", "◌ pending", "· created"))
    more = [m for line in lines for m in re.findall(r"… and (\d+) more", line)]
    counted = int(more[0]) if more else 0
    assert shown + counted == waiting, lines


def test_the_rest_is_counted_and_finished_stages_fold() -> None:
    lines = screen(80, 24, 250).splitlines()
    assert "build ✔ 49 passed · 1 allowed to fail" in lines
    assert "… and 110 more (60 running · 33 pending · 17 created)" in lines
    assert lines.index("build ✔ 49 passed · 1 allowed to fail") == len(lines) - 3
    small = screen(80, 24, 8).splitlines()
    assert "build ✔ 1 passed · 1 allowed to fail" in small
    assert not any("build-shard-1 " in line for line in small)  # folded, not listed


def test_names_sort_naturally() -> None:
    names = ["shard-10", "shard-2", "shard-1", "shard-100", "Shard-3"]
    assert sorted(names, key=natural_key) == [
        "shard-1",
        "shard-2",
        "Shard-3",
        "shard-10",
        "shard-100",
    ]
    lines = screen(200, 60, 60).splitlines()
    running = [line.split()[1] for line in lines if "● running" in line]
    assert running[:3] == ["test-shard-1", "test-shard-3", "test-shard-4"]


def test_the_job_name_is_a_hyperlink_and_plain_urls_only_for_failed_and_manual() -> None:
    pipeline = qemu_like(8)
    snapshot = Snapshot(pipeline, evaluate(pipeline), 40.0, 40.0, 3.0)
    console = Console(width=200, height=40, file=io.StringIO(), force_terminal=True)
    console.print(render_screen(snapshot, 41.0, 200, 40))
    raw = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b]8;id=" in raw and f";{URL}/jobs/1003\x1b\\" in raw  # OSC 8 on the names
    text = screen(200, 40, 8)
    urls = [line for line in text.splitlines() if f"{URL}/jobs/" in line]
    assert urls and all("failed" in line or "manual" in line for line in urls)
    narrow = screen(80, 24, 8)
    assert f"  ↳ {URL}/jobs/" in narrow  # no room for a link column: a row of its own
