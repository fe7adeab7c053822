"""What the watch prints when the server or the CI config is hostile, when logs are noisy,
when a failure looks flaky and when 250 jobs move at once (issues 11 and 12)."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime

from rich.console import Console

from send_mergereq.gate import evaluate
from send_mergereq.logtext import log_tail
from send_mergereq.models import Pipeline
from send_mergereq.run.document import document
from send_mergereq.watch.display import HeldVerdict, PlainDisplay
from send_mergereq.watch.live import LiveDisplay, render_screen
from send_mergereq.watch.types import WatchResult
from send_mergereq.watch.verdict import verdict_lines
from test_display import RESUME, URL, job, pipeline, snap, ticking

HOSTILE_NAME = "ok\rgate open: pipeline passed\x1b]0;owned\x07\x1bc\x9b2J"
HOSTILE_STAGE = "te\x1b[31mst\r"
RAW = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")  # control characters but tab


def hostile() -> Pipeline:
    return Pipeline(
        **{
            **pipeline("failed", []).__dict__,
            "ref": "refs/heads/x\x1b]0;t\x07",
            "jobs": (
                job(1, HOSTILE_NAME, "failed", stage=HOSTILE_STAGE, duration=3.0),
                job(2, "fine", "success", duration=1.0),
            ),
        }
    )


def _no_raw_control(text: str) -> None:
    for line in text.split("\n"):
        assert not RAW.search(line), repr(line)


def test_plain_lines_verdict_and_log_header_escape_server_strings() -> None:
    p = hostile()
    out = io.StringIO()
    display = PlainDisplay(out, now=ticking(datetime(2026, 11, 25, 14, 0, 0, tzinfo=UTC)))
    display.update(snap(p, 10.0, 0))
    display.retried(p.jobs[0], 1, 1)
    display.finish(WatchResult(evaluate(p), p, {1: "boom"}, 20.0, RESUME))
    text = out.getvalue()
    _no_raw_control(text)
    assert "ok\\x0dgate open: pipeline passed\\x1b]0;owned\\x07\\x1bc\\x9b2J" in text
    assert "te\\x1b[31mst\\x0d/ok\\x0d" in text
    assert "refs/heads/x\\x1b]0;t\\x07" in text
    assert "--- te\\x1b[31mst\\x0d/ok\\x0dgate open" in text
    assert text.splitlines()[-1].startswith("2026-11-25T14:00:02Z  gate closed: te\\x1b[31mst")


def test_live_screen_and_verdict_escape_server_strings() -> None:
    p = hostile()
    console = Console(width=200, height=30, file=io.StringIO(), force_terminal=True)
    clock = iter(float(t) for t in range(100))
    display = LiveDisplay(console, clock=lambda: next(clock))
    display.update(snap(p, 1.0, 0))
    display.finish(WatchResult(evaluate(p), p, {1: "boom"}, 2.0, RESUME))
    raw = console.file.getvalue()  # type: ignore[attr-defined]
    # rich's own sequences are there (colours, cursor), the server's never: no OSC 0
    # (title), no ESC c (reset), no C1 CSI, no bare carriage return.
    assert "\x1b]0;" not in raw and "\x1bc" not in raw and "\x9b" not in raw
    assert "\r" not in re.sub(r"\r(?=\x1b\[)", "", raw)  # only our own "column 0, then move"
    assert "ok\\x0dgate open: pipeline passed" in raw
    recorded = Console(record=True, width=200, height=30, file=io.StringIO())
    recorded.print(render_screen(snap(p, 1.0, 0), 1.0, 200, 30))
    _no_raw_control(recorded.export_text())


def test_json_keeps_the_server_strings_exact() -> None:
    p = hostile()
    result = WatchResult(evaluate(p), p, {1: "boom"}, 20.0, RESUME)
    doc = document(exit_code=result.exit_code, checks={}, watched=result)
    back = json.loads(json.dumps(doc))
    assert back["failed_jobs"][0]["name"] == HOSTILE_NAME
    assert back["failed_jobs"][0]["stage"] == HOSTILE_STAGE
    assert back["jobs"][0]["name"] == HOSTILE_NAME


def test_log_tail_escapes_every_control_sequence_it_does_not_strip() -> None:
    nasty = (
        "reset\x1bc here\n"
        "charset \x1b(0 lines\n"
        "save \x1b7 restore \x1b8 align \x1b#8\n"
        "c1 \x9b2J csi\n"
        "bell \x07 back\x08space\n"
        "\x1b[31mcolour\x1b[0m and \x1b]0;title\x07osc\n"
        "tab\tstays\n"
    )
    tail = log_tail(nasty, 10).split("\n")
    assert tail == [
        "reset\\x1bc here",
        "charset \\x1b(0 lines",
        "save \\x1b7 restore \\x1b8 align \\x1b#8",
        "c1 \\x9b2J csi",
        "bell \\x07 back\\x08space",
        "colour and osc",
        "tab\tstays",
    ]


RUNNER_LOG = (
    "\x1b[0KRunning with gitlab-runner 17.5.0 (8a5e2b5c)\x1b[0;m\n"
    "\x1b[0K  on sandbox-runner-1 sbxR1x2y3\x1b[0;m\n"
    "section_start:1:prepare_executor\r\x1b[0K\x1b[0K\x1b[36;1mPreparing the "
    '"docker" executor\x1b[0;m\n'
    "Using Docker executor with image ci:latest ...\n"
    "section_end:2:prepare_executor\r\x1b[0K\n"
    "section_start:3:get_sources\r\x1b[0KGetting source from Git repository\n"
    "Fetching changes with git depth set to 20...\n"
    "section_end:4:get_sources\r\x1b[0K\n"
    "section_start:5:restore_cache\r\x1b[0KRestoring cache\n"
    "Checking cache for default...\n"
    "section_end:6:restore_cache\r\x1b[0K\n"
    "section_start:7:step_script\r\x1b[0K\x1b[32;1m$ make check-qtest\x1b[0;m\n"
    "qtest 1/3 ok\n"
    "qtest 2/3 FAIL\n"
    "section_end:8:step_script\r\x1b[0K\n"
    "section_start:9:upload_artifacts_on_failure\r\x1b[0KUploading artifacts\n"
    "Uploading artifacts...\n"
    "section_end:10:upload_artifacts_on_failure\r\x1b[0K\n"
    "section_start:11:cleanup_file_variables\r\x1b[0KCleaning up project directory and file "
    "based variables\n"
    "section_end:12:cleanup_file_variables\r\x1b[0K\n"
    "\x1b[31;1mERROR: Job failed: exit code 1\n\x1b[0;m\n"
)


def test_a_carriage_return_in_a_log_is_shown_not_applied() -> None:
    """``red\\rOVERWRITE`` on a terminal shows only OVERWRITE: what came before the CR
    would be hidden. The tail shows both, the CR escaped; a CR ending a line is dropped."""
    tail = log_tail("error: red\rOVERWRITE\nnext\r\nlast\r", 5).split("\n")
    assert tail == ["error: red\\x0dOVERWRITE", "next", "last"]


def test_log_tail_skips_the_runners_own_sections() -> None:
    assert log_tail(RUNNER_LOG, 30).split("\n") == [
        "$ make check-qtest",
        "qtest 1/3 ok",
        "qtest 2/3 FAIL",
        "ERROR: Job failed: exit code 1",
    ]


def _closed(failed: dict[str, object]) -> WatchResult:
    p = pipeline("failed", [job(1, "check-qtest", "failed", **failed)])
    return WatchResult(evaluate(p), p, {1: "boom"}, 20.0, RESUME)


def test_a_failure_that_looks_flaky_names_retry_failed() -> None:
    for reason in ("runner_system_failure", "stuck_or_timeout_failure", "job_execution_timeout"):
        lines = verdict_lines(_closed({"failure_reason": reason}))
        hint = next(line for line in lines if "--retry-failed 1" in line)
        assert reason.replace("_", " ") in hint
        assert lines[-1].startswith("gate closed: test/check-qtest failed")
    p = pipeline(
        "failed",
        [job(1, "check-qtest", "failed", retried=True), job(2, "check-qtest", "failed")],
    )
    lines = verdict_lines(WatchResult(evaluate(p), p, {2: "boom"}, 20.0, RESUME))
    assert any("already needed a retry" in line and "--retry-failed 1" in line for line in lines)
    real = verdict_lines(_closed({"failure_reason": "script_failure"}))
    assert not any("--retry-failed" in line for line in real)


def test_after_a_failure_the_verdict_is_the_last_line_with_names_and_links_above() -> None:
    lines = verdict_lines(_closed({}))
    assert lines == [
        f"--- test/check-qtest failed, end of its log: {URL}/jobs/1",
        "  boom",
        f"  ✘ test/check-qtest  {URL}/jobs/1",
        "gate closed: test/check-qtest failed (after 20s)  [1 failed]",
    ]


def test_a_stale_open_verdict_says_so_in_the_verdict_line() -> None:
    p = pipeline("success", [job(1, "build", "success")])
    result = WatchResult(evaluate(p), p, {}, 20.0, RESUME)
    stale = "stale: master has moved to abc, which the tested def does not contain"
    line = verdict_lines(result, stale)[-1]
    assert line == (
        "gate open on a stale target: master has moved to abc, which the tested def does "
        "not contain"
    )
    console = Console(width=200, file=io.StringIO(), force_terminal=True)
    LiveDisplay(console).finish(result, stale)
    assert "\x1b[1;33mgate open on a stale target" in console.file.getvalue()  # type: ignore[attr-defined]


def test_piped_250_jobs_print_one_line_per_poll_with_failures_in_full() -> None:
    names = [f"shard-{n}" for n in range(250)]
    polls = [
        dict.fromkeys(names, "pending"),
        {name: ("running" if n < 100 else "pending") for n, name in enumerate(names)},
        {
            name: ("failed" if n in (3, 77) else "success" if n < 100 else "running")
            for n, name in enumerate(names)
        },
        {
            name: ("failed" if n in (3, 77) else "success" if n != 249 else "manual")
            for n, name in enumerate(names)
        },
    ]
    out = io.StringIO()
    display = PlainDisplay(out, now=ticking(datetime(2026, 11, 25, 14, 0, 0, tzinfo=UTC)))
    for t, statuses in enumerate(polls):
        jobs = [job(n + 1, name, statuses[name]) for n, name in enumerate(names)]
        display.update(snap(pipeline("running", jobs), float(t)))
        display.update(snap(pipeline("running", jobs), float(t) + 0.5))  # no change: no line
    lines = out.getvalue().splitlines()
    assert len(lines) == len(polls)
    assert lines[1].endswith(
        "running: test/shard-0, test/shard-1, test/shard-2, test/shard-3, test/shard-4 (+95 more)"
    )
    assert "failed: test/shard-3, test/shard-77;" in lines[2]
    assert (
        "success: test/shard-0, test/shard-1, test/shard-2, test/shard-4, test/shard-5 (+93 more)"
        in lines[2]
    )
    assert "manual: test/shard-249;" in lines[3]
    assert lines[3].index("manual:") < lines[3].index("success:")
    assert "test/shard-10," not in lines[1]  # natural order: shard-2 before shard-10


def test_on_a_narrow_terminal_the_verdict_line_leaves_its_counts_above_it() -> None:
    result = _closed({})
    wide = verdict_lines(result, width=200)
    assert wide[-1].endswith("[1 failed]")
    narrow = verdict_lines(result, width=40)
    assert narrow[-2:] == ["  jobs: 1 failed", "gate closed: test/check-qtest failed (after 20s)"]


def test_a_held_verdict_waits_for_the_freshness_check() -> None:
    p = pipeline("success", [job(1, "build", "success")])
    out = io.StringIO()
    held = HeldVerdict(PlainDisplay(out, now=ticking(datetime(2026, 11, 25, 14, 0, 0, tzinfo=UTC))))
    held.update(snap(p, 1.0, 0))
    held.finish(WatchResult(evaluate(p), p, {}, 2.0, RESUME))
    assert "gate" not in out.getvalue()
    held.release("stale: master has moved to abc")
    held.release(None)  # once only
    held.close()
    assert out.getvalue().count("gate") == 1
    assert out.getvalue().endswith("  gate open on a stale target: master has moved to abc\n")


def test_bidirectional_overrides_and_separators_are_escaped() -> None:
    """Trojan Source: U+202E and its kin reorder the rest of a terminal line; a job name,
    a tag or a subject may hold them. Escaped like control characters; other non-ASCII
    text (CJK, accents) is left as it is."""
    from send_mergereq.terminal import visible

    assert visible("wide-日本語-\u202eevil\u2066x\u2069\u200f\u2028") == (
        "wide-日本語-\\u202eevil\\u2066x\\u2069\\u200f\\u2028"
    )
    assert visible("Jürgen") == "Jürgen"
