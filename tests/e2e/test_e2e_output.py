"""What the CLI prints: plain lines once per change when piped, a live table on a terminal,
``--json`` as one document on stdout, and golden files (``golden/``) for the plain text with
placeholders for what varies. After a deliberate change of wording, regenerate them with
``E2E_UPDATE_GOLDEN=1 .venv/bin/pytest tests/e2e -k golden`` and review the diff."""

from __future__ import annotations

import itertools
import json
import os
import re
from collections import defaultdict
from pathlib import Path

import pytest
from e2e_helpers import ANSI, FAST, Maintainer, MakeMaintainer, api_calls, job_changes, run_in_pty

pytestmark = pytest.mark.e2e

GOLDEN = Path(__file__).parent / "golden"
WAIT = ("staging", "--wait", "--interval", "0.2")


def test_piped_output_has_no_ansi_and_one_line_per_job_state_change(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer("green")
    who.sandbox.set_time_scale(1500)

    rc, out, err = who.run(*WAIT)

    assert rc == 0, err
    assert "\x1b" not in out + err and "\r" not in out + err
    changes = job_changes(out)
    by_job: dict[str, list[tuple[str | None, str]]] = defaultdict(list)
    for job, before, after in changes:
        by_job[job].append((before, after))
    assert len(by_job) == 9
    for job, seen in by_job.items():
        assert seen[0][0] in (None, "created"), (job, seen)  # "created" is not news
        for (_, previous), (before, after) in itertools.pairwise(seen):
            assert before == previous and after != before, (job, seen)
        assert len(seen) == len({after for _, after in seen}), (job, seen)  # never repeated
        assert seen[-1][1] == "success"
    assert out.count("watching pipeline #") == 1
    assert out.count("gate open:") == 1
    polls = sum(1 for r in who.sandbox.request_log if re.fullmatch(
        r"/api/v4/projects/\d+/pipelines/\d+", r.path))  # fmt: skip
    assert polls > 3  # several polls, yet each job line appears once per change
    assert len(changes) <= 8 * 4


def test_on_a_terminal_a_live_table_then_the_verdict_and_a_clean_log_tail(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer("red")
    who.sandbox.set_time_scale(1500)

    rc, screen = run_in_pty(*WAIT, env=who.env(), cwd=who.repo)

    assert rc == 1, screen
    assert "\x1b[" in screen  # colour and cursor control: it is the live display
    text = ANSI.sub("", screen)
    assert re.search(r"stage +job +status +time +note", text)  # every column has a header
    assert re.search(r"check-qtest +✘ failed", text)
    assert re.search(r"elapsed \d+s · next poll in \d+s", text)
    assert "watching pipeline #" not in text  # not the plain lines
    lines = [line for line in text.splitlines() if line.strip()]
    if lines[-1].startswith("hint: "):  # jobs left running: how to cancel them, after it
        assert re.fullmatch(r"hint: \d+ jobs of pipeline #\d+ still run or wait; .*", lines[-1])
        lines.pop()
    assert lines[-1].startswith("gate closed: test/check-qtest failed")  # the verdict last
    assert "make: *** [Makefile.mtest:1025: check-qtest] Error 1" in text
    for raw in ("section_start", "section_end", "\x1b[0K", "\x1b[36;1m", "\x1b[32;1m"):
        assert raw not in screen  # the job log's own markers and colours are stripped


def _api_jobs(who: Maintainer, pipeline_id: int) -> dict[str, dict[str, object]]:
    pipeline = who.api_project().pipelines.get(pipeline_id)
    return {
        j.name: {"stage": j.stage, "status": j.status, "allow_failure": j.allow_failure,
                 "web_url": j.web_url}
        for j in pipeline.jobs.list(get_all=True)
    }  # fmt: skip


def test_json_is_one_document_on_stdout_matching_gitlab(maintainer: MakeMaintainer) -> None:
    who = maintainer("allow-failure")
    who.sandbox.set_time_scale(FAST)

    rc, out, err = who.run(*WAIT, "--json")

    assert rc == 0, err
    doc = json.loads(out)  # the whole of stdout is one document
    assert doc["verdict"] == "open" and doc["exit_code"] == 0
    head = who.git("rev-parse", "staging")
    assert doc["range"]["branch_sha"] == head
    assert doc["range"]["target_sha"] == who.git("rev-parse", "origin/master")
    assert doc["commits"] == 6 and doc["findings"] == []
    assert doc["merge_request"]["iid"] == 1
    assert doc["merge_request"]["web_url"] == f"{who.project.web_url}/-/merge_requests/1"
    pipeline = doc["pipeline"]
    assert pipeline["kind"] == "merged_result" and pipeline["status"] == "success"
    assert pipeline["web_url"] == f"{who.project.web_url}/-/pipelines/{pipeline['id']}"
    api = _api_jobs(who, pipeline["id"])
    assert {job["name"]: {k: job[k] for k in ("stage", "status", "allow_failure", "web_url")}
            for job in doc["jobs"]} == api  # fmt: skip
    assert sorted(doc["optional_failed_jobs"]) == ["build/build-oss-fuzz", "test/check-cross-i686"]
    assert "gate open:" in err and "pushed" in err  # the human text, on stderr only
    assert "gate open" not in out


def test_json_with_a_failing_check_says_so_in_one_document(maintainer: MakeMaintainer) -> None:
    who = maintainer()
    bad = who.commit("hw/misc: no sign-off here", trailer=False)

    rc, out, _ = who.run("staging", "--json")

    assert rc == 3
    doc = json.loads(out)
    assert doc["exit_code"] == 3
    assert [(f["check"], f["severity"], f["commit"]) for f in doc["findings"]] == [
        ("signoff", "error", bad)
    ]
    # only the target was fetched (the server's view of it): no API call, nothing pushed
    assert api_calls(who.sandbox.request_log) == []
    assert all(r.path.endswith(("info/refs?service=git-upload-pack", "git-upload-pack"))
               for r in who.sandbox.request_log)  # fmt: skip


def _normalize(text: str, who: Maintainer) -> str:
    text = text.replace(who.project.web_url, "<PROJECT>")
    text = re.sub(r"\b[0-9a-f]{12}\b", "<SHA>", text)
    text = re.sub(r"#\d{4,}", "#<ID>", text)
    text = re.sub(r"/(pipelines|jobs)/\d+", r"/\1/<ID>", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<TIME>", text)
    text = re.sub(r"\(after \d+s\)", "(after <T>)", text)
    # whether jobs are left to cancel depends on the sandbox's speed (test_e2e_watch has it)
    text = re.sub(r"^hint: \d+ jobs of pipeline .*--cancel-rest\n", "", text, flags=re.M)
    return re.sub(r"  \[[^\]]*\]$", "  [<COUNTS>]", text, flags=re.M)


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("E2E_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs:\n{text}"


def test_golden_plain_output_of_a_first_submission(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")

    rc, out, err = who.run("staging")

    assert (rc, err) == (0, "")
    _golden("submit.txt", _normalize(out, who))


def test_golden_plain_output_of_a_closed_gate(maintainer: MakeMaintainer) -> None:
    who = maintainer("red")
    who.sandbox.set_time_scale(FAST)

    rc, out, _ = who.run(*WAIT, "--log-lines", "8")

    assert rc == 1
    verdict = out[out.index("--- test/check-qtest failed") :]  # the log tails, the verdict last
    _golden("red-verdict.txt", _normalize(verdict, who))
