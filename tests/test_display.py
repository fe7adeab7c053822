"""The renderers: plain lines (snapshot), the live table (recorded console), the JSON document."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from send_mergereq.errors import TransientForgeError, register_secret
from send_mergereq.gate import Outcome, evaluate
from send_mergereq.logtext import format_duration, log_tail
from send_mergereq.models import Job, MergeRequest, Pipeline, PipelineKind
from send_mergereq.run.document import document
from send_mergereq.watch.display import PlainDisplay
from send_mergereq.watch.live import LiveDisplay, render_screen, render_summary
from send_mergereq.watch.types import Snapshot, WatchResult

URL = "https://gitlab.example/qemu/-"
RESUME = "send-mergereq status !7"
MR = MergeRequest(7, f"{URL}/merge_requests/7", "staging", "master", "c" * 40)


def job(jid: int, name: str, status: str, stage: str = "test", pid: int = 100, **kw: object) -> Job:
    return Job(
        id=jid,
        name=name,
        stage=stage,
        status=status,
        pipeline_id=pid,
        web_url=f"{URL}/jobs/{jid}",
        **kw,  # type: ignore[arg-type]
    )


def pipeline(
    status: str, jobs: list[Job], children: tuple[Pipeline, ...] = (), pid: int = 100
) -> Pipeline:
    return Pipeline(
        id=pid,
        status=status,
        ref="refs/merge-requests/7/merge",
        sha="c" * 40,
        web_url=f"{URL}/pipelines/{pid}",
        kind=PipelineKind.MERGED_RESULT,
        jobs=tuple(jobs),
        children=children,
    )


def snap(p: Pipeline, t: float, next_poll: float = 3.0) -> Snapshot:
    return Snapshot(p, evaluate(p), t, t, next_poll)


def bridge(status: str) -> Job:
    return job(6, "trigger-tests", status, is_bridge=True, downstream_pipeline_id=200)


START = pipeline(
    "pending",
    [
        job(2, "compile-x86", "pending", "build"),
        job(3, "compile-arm", "running", "build", duration=1.0),
        job(5, "lint", "created", allow_failure=True),
        bridge("created"),
    ],
)
CHILD_RUNNING = pipeline(
    "running",
    [job(301, "unit-a", "running", pid=200, duration=12.0), job(302, "unit-b", "pending", pid=200)],
    pid=200,
)
RUNNING = pipeline(
    "running",
    [
        job(2, "compile-x86", "running", "build", duration=30.0),
        job(3, "compile-arm", "success", "build", duration=192.0),
        job(5, "lint", "failed", allow_failure=True, duration=4.0),
        bridge("running"),
    ],
    (CHILD_RUNNING,),
)
CHILD_FAILED = pipeline(
    "failed",
    [
        job(301, "unit-a", "failed", pid=200, duration=20.0),
        job(302, "unit-b", "success", pid=200, duration=5.0),
    ],
    pid=200,
)
CLOSED = pipeline(
    "running",
    [
        job(2, "compile-x86", "success", "build", duration=80.0),
        job(3, "compile-arm", "success", "build", duration=192.0),
        job(5, "lint", "failed", allow_failure=True, duration=4.0),
        bridge("failed"),
    ],
    (CHILD_FAILED,),
)
LOG = "make: *** [unit-a] Error 1\nERROR: Job failed: exit code 1"


def ticking(start: datetime) -> Callable[[], datetime]:
    stamps: Iterator[datetime] = (start + timedelta(seconds=i) for i in range(10_000))
    return lambda: next(stamps)


def closed_result() -> WatchResult:
    return WatchResult(evaluate(CLOSED), CLOSED, {301: LOG}, 100.0, RESUME)


PLAIN_GOLDEN = f"""\
2026-11-25T14:03:07Z  watching pipeline #100 (merged result pipeline, refs/merge-requests/7/merge) {URL}/pipelines/100; pipeline #100 pending; running: build/compile-arm; pending: build/compile-x86
2026-11-25T14:03:08Z  pipeline #100 pending -> running; pipeline #200 (child, trigger-tests) running; failed (may fail): test/lint (4s); running: build/compile-x86, test/trigger-tests, trigger-tests > test/unit-a; success: build/compile-arm (3m12s); pending: trigger-tests > test/unit-b
2026-11-25T14:03:09Z  reconnecting: 503 Service Unavailable (next try in 4s)
2026-11-25T14:03:10Z  reconnected; pipeline #200 (child, trigger-tests) running -> failed; failed: test/trigger-tests, trigger-tests > test/unit-a (20s); success: build/compile-x86 (1m20s), trigger-tests > test/unit-b (5s)
--- test/unit-a failed, end of its log: {URL}/jobs/301
  make: *** [unit-a] Error 1
  ERROR: Job failed: exit code 1
  ✘ test/trigger-tests (child pipeline #200)  {URL}/jobs/6
  ✘ test/unit-a  {URL}/jobs/301
2026-11-25T14:03:11Z  gate closed: test/unit-a failed (after 1m40s)  [3 failed · 3 success]
"""  # noqa: E501


def test_plain_output_is_one_line_per_poll_grouped_by_state_verdict_last() -> None:
    out = io.StringIO()
    display = PlainDisplay(out, now=ticking(datetime(2026, 11, 25, 14, 3, 7, tzinfo=UTC)))
    display.update(snap(START, 0))
    display.update(snap(START, 3))  # nothing changed: nothing printed
    display.update(snap(RUNNING, 40))
    display.reconnecting(TransientForgeError("503 Service Unavailable"), 4)
    display.update(snap(CLOSED, 100, 0))
    display.finish(closed_result())
    assert out.getvalue() == PLAIN_GOLDEN
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()


def _plain_finish(result: WatchResult) -> str:
    out = io.StringIO()
    PlainDisplay(out, now=ticking(datetime(2026, 11, 25, 15, 0, 0, tzinfo=UTC))).finish(result)
    return out.getvalue()


def test_plain_open_with_warnings_and_a_retry() -> None:
    done = pipeline(
        "success",
        [job(1, "build", "success", duration=60.0), job(5, "lint", "failed", allow_failure=True)],
    )
    verdict = evaluate(done)
    verdict = type(verdict)(**{**verdict.__dict__, "retries": {(100, "build"): 1}})
    text = _plain_finish(WatchResult(verdict, done, {}, 754.0, RESUME))
    assert text == (
        "  retried by send-mergereq 1x: test/build\n"
        f"  may fail, failed: test/lint  {URL}/jobs/5\n"
        "2026-11-25T15:00:00Z  gate open: passed with warnings: test/lint failed "
        "(after 12m34s)  [1 failed · 1 success]\n"
    )


def test_plain_blocked_timed_out_and_interrupted_say_how_to_resume() -> None:
    blocked = pipeline("manual", [job(1, "build", "success"), job(9, "deploy", "manual", "deploy")])
    text = _plain_finish(WatchResult(evaluate(blocked), blocked, {}, 30.0, RESUME))
    assert "gate blocked: waiting on manual job deploy/deploy (after 30s)" in text
    assert f"  play it: deploy/deploy  {URL}/jobs/9\n" in text
    assert f"resume with: {RESUME}\n2026-11-25T15:00:00Z  gate blocked:" in text

    late = evaluate(RUNNING).timed_out("1h00m")
    text = _plain_finish(WatchResult(late, RUNNING, {}, 3600.0, RESUME))
    assert text.splitlines()[-1].startswith(
        "2026-11-25T15:00:00Z  gate timed out: no verdict after 1h00m  ["
    )
    assert f"resume with: {RESUME}\n" in text

    text = _plain_finish(WatchResult(evaluate(RUNNING), RUNNING, {}, 65.0, RESUME, True))
    assert text == f"2026-11-25T15:00:00Z  interrupted after 1m05s; resume with: {RESUME}\n"


def test_live_screen_puts_failed_and_running_first_and_nests_the_child_under_its_bridge() -> None:
    console = Console(record=True, width=160, height=40, file=io.StringIO())
    snapshot = snap(RUNNING, 40.0)
    console.print(render_screen(snapshot, 45.0, 160, 40))
    lines = console.export_text().splitlines()
    assert lines[0] == "pipeline #100 (merged result pipeline, refs/merge-requests/7/merge)"
    assert lines[1].split() == ["stage", "job", "status", "time", "note", "link"]
    cells = [line.split(None, 4) for line in lines[2:-1]]
    assert [c[:4] for c in cells] == [
        ["test", "lint", "✘", "failed"],
        ["build", "compile-x86", "●", "running"],
        ["test", "trigger-tests", "⇢", "●"],
        ["trigger-tests", ">", "test", "unit-a"],
        ["build", "compile-arm", "✔", "success"],
        ["trigger-tests", ">", "test", "unit-b"],
    ]
    assert "35s" in lines[3]  # 30 s at the poll + 5 s since: it ticks
    assert "may fail" in lines[2] and lines[2].endswith(f"{URL}/jobs/5")
    assert lines[-1] == (
        "elapsed 45s · next poll in 0s · 3 running · 1 failed · 1 pending · 1 success"
    )


def test_live_summary_says_reconnecting_during_a_fault() -> None:
    console = Console(record=True, width=160, file=io.StringIO())
    console.print(render_summary(snap(RUNNING, 40.0), 40.0, fault="503; next try in 4s"))
    assert "reconnecting… (503; next try in 4s)" in console.export_text()


def test_live_display_end_to_end_on_a_recorded_console() -> None:
    clock = iter(float(t) for t in range(1000))
    console = Console(record=True, width=160, file=io.StringIO(), force_terminal=True)
    display = LiveDisplay(console, clock=lambda: next(clock))
    display.update(snap(RUNNING, 40))
    display.reconnecting(TransientForgeError("502 Bad Gateway"), 2)
    display.update(snap(CLOSED, 100, 0))
    display.finish(closed_result())
    display.close()  # twice is fine
    text = console.export_text()
    assert "gate closed: test/unit-a failed (after 1m40s)" in text
    assert "  ERROR: Job failed: exit code 1" in text
    assert "✘ failed" in text


def test_json_document_has_the_design_fields_and_merges_earlier_sections() -> None:
    earlier = {"range": "origin/master..staging", "commits": 3, "findings": [], "verdict": "passed"}
    result = closed_result()
    doc = document(exit_code=result.exit_code, checks=earlier, watched=result, merge_request=MR)
    assert doc["verdict"] == "closed" and doc["exit_code"] == 1
    assert doc["range"] == "origin/master..staging" and doc["commits"] == 3
    assert doc["merge_request"] == {"iid": 7, "web_url": f"{URL}/merge_requests/7"}
    assert doc["pipeline"] == {
        "kind": "merged_result",
        "id": 100,
        "status": "running",
        "web_url": f"{URL}/pipelines/100",
        "ref": "refs/merge-requests/7/merge",
        "sha": "c" * 40,
    }
    names = [(j["name"], j["pipeline_id"]) for j in doc["jobs"]]
    assert names == [
        ("compile-arm", 100),
        ("compile-x86", 100),
        ("lint", 100),
        ("trigger-tests", 100),
        ("unit-a", 200),
        ("unit-b", 200),
    ]
    for entry in doc["jobs"]:
        assert {"name", "stage", "status", "allow_failure", "web_url", "duration"} <= set(entry)
    assert doc["failed_jobs"][1] == {
        "name": "unit-a",
        "stage": "test",
        "web_url": f"{URL}/jobs/301",
        "log_tail": LOG,
        "history": None,  # the target's history: only a run that sent (run/send.py)
    }
    assert doc["optional_failed_jobs"] == ["test/lint"]
    assert json.loads(json.dumps(doc)) == doc


def test_json_when_gitlab_never_answered() -> None:
    result = WatchResult(evaluate(pipeline("created", [])), None, {}, 5.0, RESUME, True)
    doc = document(exit_code=result.exit_code, watched=result)
    assert doc["pipeline"] is None and doc["jobs"] == [] and doc["exit_code"] == 130
    assert doc["verdict"] == Outcome.PENDING.value


GITLAB_LOG = (
    "\x1b[0KRunning with gitlab-runner 17.5.0\x1b[0;m\n"
    "section_start:1732543387:prepare_executor\r\x1b[0K\x1b[0K\x1b[36;1mPreparing\x1b[0;m\n"
    "section_end:1732543390:prepare_executor\r\x1b[0K\n"
    "section_start:1732543390:step_script[collapsed=true]\r\x1b[0K\x1b[32;1m$ make check\x1b[0;m\n"
    "progress 10%\rprogress 50%\rprogress 100%\r\n"
    "\x1b[31;1mFAIL: test-foo\x1b[0m\n"
    "\x1b]8;;https://x\x07link\x1b]8;;\x07\n"
    "section_end:1732543399:step_script\r\x1b[0K\n"
    "\x1b[31;1mERROR: Job failed: exit code 2\n\x1b[0;m\n\n"
)


def test_log_tail_strips_ansi_and_section_markers_and_keeps_the_last_lines() -> None:
    tail = log_tail(GITLAB_LOG, 4).split("\n")
    assert tail == [
        "progress 10%\\x0dprogress 50%\\x0dprogress 100%",  # shown, not applied
        "FAIL: test-foo",
        "link",
        "ERROR: Job failed: exit code 2",
    ]
    assert log_tail(GITLAB_LOG, 0) == ""


def test_log_tail_of_a_huge_log_reads_only_its_end() -> None:
    huge = "x" * 50 + "\n"
    text = huge * 200_000 + "last line\n"
    assert log_tail(text, 2) == "x" * 50 + "\nlast line"


def test_log_tail_hides_registered_secrets() -> None:
    register_secret("glpat-SENTINEL-watch-0001")
    assert log_tail("token glpat-SENTINEL-watch-0001 leaked\n", 5) == "token <hidden> leaked"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, ""), (0, "0s"), (59.9, "59s"), (60, "1m00s"), (192, "3m12s"), (3725, "1h02m")],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_live_display_shows_names_literally_and_says_retried() -> None:
    odd = pipeline(
        "running", [job(1, "check [x86] [bold]", "running", stage="te[st]", duration=1.0)]
    )
    clock = iter(float(t) for t in range(1000))
    console = Console(record=True, width=160, file=io.StringIO())
    display = LiveDisplay(console, clock=lambda: next(clock))
    display.reconnecting(TransientForgeError("503"), 2)
    assert "reconnecting… (503; next try in 2s)" in str(display.__rich__())
    display.update(snap(odd, 0))
    display.retried(odd.jobs[0], 1, 2)
    display.finish(WatchResult(evaluate(odd), odd, {}, 10.0, RESUME, interrupted=True))
    text = console.export_text()
    assert "check [x86] [bold]" in text and "te[st]" in text
    assert "te[st]/check [x86] [bold] failed: retried by send-mergereq (1 of 2)" in text
    assert f"interrupted after 10s; resume with: {RESUME}" in text


def test_fault_lines_have_no_stray_punctuation() -> None:
    console = Console(record=True, width=160, file=io.StringIO())
    display = LiveDisplay(console, clock=lambda: 0.0)
    display.reconnecting(TransientForgeError("GitLab is not responding."), 2)
    shown = str(display.__rich__())
    assert "GitLab is not responding; next try in 2s" in shown
    assert ".;" not in shown
    out = io.StringIO()
    PlainDisplay(out).reconnecting(TransientForgeError("GitLab is not responding."), 2)
    assert "reconnecting: GitLab is not responding (next try in 2s)" in out.getvalue()


def test_the_final_summary_never_says_next_poll_in_0s() -> None:
    console = Console(record=True, width=160, file=io.StringIO())
    done = pipeline("success", [job(3, "compile-arm", "success", "build", duration=1.0)])
    console.print(render_summary(snap(done, 40.0, next_poll=0.0), 40.0))
    text = console.export_text()
    assert "next poll" not in text
    assert "elapsed 40s · done" in text
