"""``send-mergereq jobs`` end to end: the installed CLI against the sandbox over real HTTP,
on the ``tiers`` scenario's 160 past pipelines of master (each job with a known story)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from e2e_helpers import PROJECT, Maintainer, MakeMaintainer

pytestmark = pytest.mark.e2e

EXPECTED = {  # name: (runs, successes, failures, flaky, allow_failure)
    "build-gcc": (160, 160, 0, 0, False),
    "check-fuzz": (120, 120, 0, 0, True),
    "check-young": (60, 60, 0, 0, True),
    "check-iotests": (160, 157, 3, 0, False),
    "check-block": (160, 158, 2, 0, False),
    "check-unit": (160, 160, 0, 16, False),
    "check-qtest": (120, 120, 0, 0, False),
    "check-old": (120, 120, 0, 0, False),
    "deploy-docs": (0, 0, 0, 0, True),
}
ADVICE = {
    ("check-fuzz", "promote"),
    ("check-iotests", "demote"),
    ("check-unit", "flaky"),
    ("check-old", "gone"),
}
POLICY = """\
[[jobs]]
name = "check-io*"
owners = ["Kevin Wolf <kwolf@example.org>"]
"""
CI = """\
# QEMU-like CI
.fuzz: &fuzz
  stage: test
  allow_failure: true  # new jobs start here

build-gcc:
  stage: build
  script: ["make"]

check-fuzz:
  <<: *fuzz
  script:
    - make fuzz

check-iotests:
  stage: test
  script:
    - 'make check-block'   # quoted

check-unit:
  stage: test
  script: [make check-unit]
"""


def _seeded(maintainer: MakeMaintainer, policy: str = POLICY) -> Maintainer:
    who = maintainer("tiers")
    who.git("checkout", "-q", "master")
    (who.repo / ".send-mergereq.toml").write_text(policy)
    (who.repo / ".gitlab-ci.yml").write_text(CI)
    who.git("add", ".send-mergereq.toml", ".gitlab-ci.yml")
    who.git("commit", "-q", "--no-gpg-sign", "-m", "CI: job owners")
    who.git("push", "-q", "origin", "master", env=who.token_env())
    who.git("fetch", "-q", "origin", env=who.token_env())
    who.sandbox.seed_history(PROJECT)
    who.sandbox.clear_request_log()
    return who


def _jobs_requests(who: Maintainer) -> list[str]:
    """The pipeline API requests, without their queries."""
    return [r.path.split("?")[0] for r in who.sandbox.request_log if "/pipelines" in r.path]


def _job_reads(paths: list[str]) -> list[str]:
    return [p for p in paths if p.endswith("/jobs")]


def test_json_counts_every_job_and_advises_exactly(maintainer: MakeMaintainer) -> None:
    who = _seeded(maintainer)
    rc, out, err = who.run("jobs", "--json", "--no-color")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["exit_code"] == 0
    assert doc["pipelines"]["count"] == 160
    got = {
        j["name"]: (j["runs"], j["successes"], j["failures"], j["flaky"], j["allow_failure"])
        for j in doc["jobs"]
    }
    assert got == EXPECTED
    assert {(a["job"], a["action"]) for a in doc["advice"]} == ADVICE
    by_name = {j["name"]: j for j in doc["jobs"]}
    iotests = by_name["check-iotests"]
    assert iotests["streak"]["state"] == "failing" and iotests["streak"]["runs"] == 3
    assert iotests["owners"] == ["Kevin Wolf <kwolf@example.org>"]
    assert iotests["median_duration"] == 1500.0 and iotests["strip"].endswith("...XXX")
    assert by_name["check-unit"]["strip"].count("r") == 4  # 1 in 10 of the last 40
    assert set(by_name["build-gcc"]) >= {
        "name", "runs", "successes", "failures", "flaky", "first_seen", "last_failure",
        "streak", "allow_failure", "median_duration", "p90_duration", "strip",
    }  # fmt: skip
    demote = next(a for a in doc["advice"] if a["action"] == "demote")
    assert demote["failures"] == 3 and demote["hours"] >= 24


def test_the_table_piped_and_the_cache_on_a_second_run(maintainer: MakeMaintainer) -> None:
    who = _seeded(maintainer)
    first = who.run("jobs")
    assert first.rc == 0, first.stderr
    assert "\x1b[" not in first.stdout  # piped: plain text
    assert "160 finished pipelines of master" in first.stdout
    lines = {line.split()[0]: line for line in first.stdout.splitlines() if line.strip()}
    assert lines["check-iotests"].split()[1:5] == ["gating", "160", "3", "2%"]
    assert "promote  check-fuzz: passed 120 runs over 60 days" in first.stdout
    assert "demote   check-iotests: failed its last 3 runs" in first.stdout
    assert "[owners: Kevin Wolf <kwolf@example.org>]" in first.stdout
    requests = _jobs_requests(who)
    job_reads = _job_reads(requests)
    assert len(job_reads) == 160
    assert len(requests) - len(job_reads) <= 4  # the listing pages: 2 of push, 1 of schedule
    cache = list((who.repo / ".git" / "send-mergereq" / "jobs").glob("*.json"))
    assert len(cache) == 1 and oct(cache[0].stat().st_mode & 0o777) == "0o600"
    assert who.sandbox.token not in cache[0].read_text()

    who.sandbox.clear_request_log()
    second = who.run("jobs")
    assert second.rc == 0 and second.stdout == first.stdout
    again = _jobs_requests(who)
    assert not _job_reads(again)
    assert len(again) <= 4

    who.sandbox.clear_request_log()
    assert who.run("jobs", "--no-cache").rc == 0
    assert len(_job_reads(_jobs_requests(who))) == 160


def test_patch_applies_and_changes_only_the_advised_jobs(
    maintainer: MakeMaintainer, tmp_path: Path
) -> None:
    who = _seeded(maintainer)
    rc, diff, err = who.run("jobs", "--patch")
    assert rc == 0, err
    assert (who.repo / ".gitlab-ci.yml").read_text() == CI  # printed, not written
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"]
    assert changed == ["+  allow_failure: false", "+  allow_failure: true"]
    patch = tmp_path / "ci.diff"
    patch.write_text(diff)
    subprocess.run(["git", "apply", str(patch)], cwd=who.repo, check=True, env=who.demo.env)
    after = (who.repo / ".gitlab-ci.yml").read_text()
    assert "check-fuzz:\n  <<: *fuzz\n  allow_failure: false\n" in after
    assert "check-iotests:\n  allow_failure: true\n  stage: test\n" in after
    assert "# QEMU-like CI" in after and "'make check-block'   # quoted" in after


def test_tiers_thresholds_come_from_the_target_policy(maintainer: MakeMaintainer) -> None:
    policy = POLICY + "\n[tiers]\npromote = { runs = 50, days = 20 }\nflaky = { rate = 0.2 }\n"
    who = _seeded(maintainer, policy)
    rc, out, err = who.run("jobs", "--json")
    assert rc == 0, err
    advice = {(a["job"], a["action"]) for a in json.loads(out)["advice"]}
    assert advice == (ADVICE - {("check-unit", "flaky")}) | {("check-young", "promote")}


def test_a_bad_tiers_table_is_one_line_exit_2(maintainer: MakeMaintainer) -> None:
    who = _seeded(maintainer, "[tiers]\npromote = { runs = 0 }\n")
    rc, out, err = who.run("jobs")
    assert (rc, out) == (2, "")
    assert err.startswith("send-mergereq: ") and "tiers.promote.runs" in err
    assert "Traceback" not in err


def _red_with_master(maintainer: MakeMaintainer, qtest: str) -> Maintainer:
    """The red scenario (check-qtest fails on staging), master's last pipelines seeded
    with ``qtest`` as check-qtest's story (and check-unit always green)."""
    from send_mergereq.sandbox.past import parse_history

    who = maintainer("red")
    jobs = [{"name": "check-qtest", "story": qtest}, {"name": "check-unit", "story": "s" * 10}]
    who.sandbox.seed_history(PROJECT, parse_history({"pipelines": 10, "jobs": jobs}, "test"))
    who.sandbox.set_time_scale(6000)
    return who


def test_a_red_gate_says_the_job_is_failing_on_master_too(maintainer: MakeMaintainer) -> None:
    who = _red_with_master(maintainer, "sssssssfff")
    rc, out, err = who.run("staging", "--wait", "--interval", "0.2", "--json")
    assert rc == 1, err
    assert "check-qtest: also failing on master: 3 of the last 10 pipelines, since " in err
    (failed,) = json.loads(out)["failed_jobs"]
    history = failed["history"]
    assert (history["ref"], history["runs"], history["failures"], history["flaky"]) == (
        "master", 10, 3, 0)  # fmt: skip
    assert history["verdict"] == "broken_on_target" and history["failing_since"]
    assert "note: check-qtest also fails on master: the target is broken, not this staging" in err
    # status, on the same closed gate, says the same (it said no history before)
    rc, out, err = who.run("status", "staging", "--json")
    assert rc == 1, err
    assert "check-qtest: also failing on master: 3 of the last 10 pipelines" in err
    (failed,) = json.loads(out)["failed_jobs"]
    assert failed["history"]["verdict"] == "broken_on_target"


@pytest.mark.parametrize(
    ("story", "line"),
    [
        ("ssrsssssss", "check-qtest: flaky: rescued by a retry in 1 of the last 10"),
        ("ffssssssss", "check-qtest: green on master for the last 8 pipelines"),
    ],
)
def test_a_red_gate_on_a_job_passing_on_master(
    maintainer: MakeMaintainer, story: str, line: str
) -> None:
    who = _red_with_master(maintainer, story)
    rc, out, err = who.run("staging", "--wait", "--interval", "0.2")
    assert rc == 1, err
    assert line in out
    assert "also failing on master" not in out


def test_the_demo_of_the_tiers_scenario_shows_jobs_and_its_advice(hermetic_env: Path) -> None:
    import os

    from e2e_helpers import run_cli

    rc, out, err = run_cli(
        "demo", "--scenario", "tiers", "--time-scale", "3000", "--", "--interval", "0.2",
        env=os.environ, cwd=hermetic_env, timeout=180,
    )  # fmt: skip
    assert rc == 0, out + err
    assert "demo: master has 160 past pipelines" in err
    assert "demo: running  send-mergereq jobs" in err
    assert "9 jobs in 160 finished pipelines of master" in out
    for line in ("promote  check-fuzz:", "demote   check-iotests:", "gone     check-old:",
                 "flaky    check-unit:"):  # fmt: skip
        assert line in out
    assert "deploy-docs:" not in out  # manual: never advised on


def test_on_a_terminal_a_progress_bar_then_a_rich_table(maintainer: MakeMaintainer) -> None:
    from e2e_helpers import ANSI, run_in_pty

    who = _seeded(maintainer)
    rc, text = run_in_pty("jobs", env=who.env(), cwd=who.repo, columns=200)
    assert rc == 0, text
    assert "reading pipelines" in text  # the progress bar, while the jobs are read
    assert "\x1b[" in text  # styled
    plain = ANSI.sub("", text)
    assert re.search(r"check-iotests +gating +160 +3 +2% +0 +failing \d\d-\d\d \d\d:\d\d", plain)
    assert "demote   check-iotests: failed its last 3 runs" in plain
    # a maintainer's 80 columns: every figure still there (rich squeezed them to nothing)
    rc, text = run_in_pty("jobs", env=who.env(), cwd=who.repo, columns=80)
    assert rc == 0, text
    plain = ANSI.sub("", text)
    assert re.search(r"check-iotests +gating +160 +3 +2% +0 +failing ", plain), plain


def test_since_with_pipelines_reads_at_most_n_and_an_unknown_ref_no_empty_table(
    maintainer: MakeMaintainer,
) -> None:
    who = _seeded(maintainer)
    rc, out, err = who.run("jobs", "--since", "30d", "--pipelines", "5", "--json")
    assert rc == 0, err
    assert json.loads(out)["pipelines"]["count"] == 5  # --since took all 60 before
    rc, out, err = who.run("jobs", "--ref", "nosuch")
    assert rc == 0, err
    assert out.startswith("no finished pipelines of nosuch (of the sources read: ")
    assert "job  tier" not in out and "advice" not in out
    rc, out, err = who.run("jobs", "--source", "bogus")  # GitLab's 400, said in one line
    assert rc == 6 and "source does not have a valid value" in err.splitlines()[0], err


def test_since_reads_the_pipelines_of_that_age(maintainer: MakeMaintainer) -> None:
    who = _seeded(maintainer)
    rc, out, err = who.run("jobs", "--since", "30d", "--json")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["pipelines"]["count"] in (60, 61)  # 12 h apart, the newest ending now
    listing = next(r.path for r in who.sandbox.request_log if "source=push" in r.path)
    assert "updated_after=" in listing
    assert who.run("jobs", "--since", "soon").rc == 2


def test_rate_limits_and_blips_are_ridden_out(maintainer: MakeMaintainer) -> None:
    who = _seeded(maintainer)
    who.sandbox.inject_fault("429", match="/jobs", count=2, skip=5)
    who.sandbox.inject_fault("502", match="/pipelines", count=1)  # the first listing page
    rc, out, err = who.run("jobs", "--json")
    assert rc == 0, err
    got = {j["name"]: (j["runs"], j["failures"], j["flaky"]) for j in json.loads(out)["jobs"]}
    assert got == {name: (r, f, fl) for name, (r, _s, f, fl, _a) in EXPECTED.items()}
    faults = [r for r in who.sandbox.request_log if r.fault]
    assert [r.status for r in faults] == [502, 429, 429]
