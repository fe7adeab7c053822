"""``jobs``' cache (bounded, private, never trusting its file), ``--patch`` (only the
advised jobs' lines change; anchors, ``extends:``, comments and quoting survive; the diff
applies with ``git apply``) and the rendering (GitLab's names escaped)."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from send_mergereq.errors import ConfigError
from send_mergereq.jobs import cache as cache_module
from send_mergereq.jobs.cache import JobsCache, cache_path
from send_mergereq.jobs.health import Attempt, PipelineRecord, job_health
from send_mergereq.jobs.patch import patch_ci
from send_mergereq.jobs.render import JobsReport, document, render_plain, render_rich
from send_mergereq.jobs.tiers import Advice

# -- the cache --------------------------------------------------------------------------


def _record(pid: int, updated: str = "u1") -> PipelineRecord:
    attempts = (
        Attempt(pid * 10, "unit", "failed", "test", False, True, 100.0, 5.0),
        Attempt(pid * 10 + 1, "unit", "success", "test", False, False, 200, None),
    )
    return PipelineRecord(pid, 0.0, attempts, updated)


def test_the_cache_keeps_jobs_by_pipeline_and_updated_at(tmp_path: Path) -> None:
    path = cache_path(tmp_path, "https://gitlab.example.org/", "qemu-project/qemu")
    assert path.parent == tmp_path / "send-mergereq" / "jobs"
    assert path == cache_path(tmp_path, "https://gitlab.example.org", "qemu-project/qemu")
    assert path != cache_path(tmp_path, "https://gitlab.example.org", "other/qemu")
    JobsCache(path).save([_record(1), _record(2)])
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again = JobsCache(path)
    assert again.get(1, "u1") == _record(1).attempts
    assert again.get(1, "u2") is None  # retried since: read again
    assert again.get(3, "u1") is None


def test_the_cache_is_bounded_to_the_newest_pipelines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "MAX_PIPELINES", 3)
    path = tmp_path / "c.json"
    JobsCache(path).save([_record(i) for i in range(1, 6)])
    kept = JobsCache(path)
    assert sorted(kept.entries) == [3, 4, 5]


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[]",
        json.dumps({"version": 99, "pipelines": {}}).encode(),
        json.dumps({"version": 1, "pipelines": []}).encode(),
    ],
)
def test_a_damaged_cache_is_ignored_and_rewritten(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "c.json"
    path.write_bytes(content)
    cache = JobsCache(path)
    assert cache.entries == {}
    cache.save([_record(1)])
    assert JobsCache(path).get(1, "u1") is not None


def test_a_cache_entry_of_the_wrong_shape_is_dropped_alone(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    JobsCache(path).save([_record(1), _record(2)])
    doc = json.loads(path.read_text())
    doc["pipelines"]["1"]["jobs"][0]["retried"] = "yes"
    doc["pipelines"]["x"] = {"updated_at": "u", "jobs": []}
    doc["pipelines"]["2"]["jobs"][0]["id"] = True
    doc["pipelines"]["3"] = {"updated_at": "u1", "jobs": [{"id": 1}]}
    path.write_text(json.dumps(doc))
    assert JobsCache(path).entries == {}


def test_an_oversized_cache_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.json"
    JobsCache(path).save([_record(1)])
    monkeypatch.setattr(cache_module, "MAX_BYTES", 10)
    assert JobsCache(path).entries == {}


def test_no_cache_reads_and_writes_nothing(tmp_path: Path) -> None:
    cache = JobsCache(None)
    cache.save([_record(1)])
    assert cache.get(1, "u1") is None and list(tmp_path.iterdir()) == []


# -- --patch ----------------------------------------------------------------------------

CI = """\
# The project's CI: keep this comment
stages: [build, test]

.fuzz_base: &fuzz
  stage: test
  allow_failure: true   # new jobs start here
  script:
    - make fuzz

.template:
  allow_failure: true

.deeper:
  extends: .template

build-gcc:
  stage: build
  script:
    - "make -j8"   # quoted

check-new:
  <<: *fuzz
  script:
    - make check-new

check-ext:
  extends: [.deeper]
  stage: test
  script: [make]

check-old:
  stage: test
  allow_failure: true  # was flaky
  script:
    - make old

check-keep:
  stage: test
  allow_failure: false
  script: [make keep]

flow-job: {stage: test, script: [make]}
"""


def _changed(diff: str) -> list[str]:
    return [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_patch_changes_only_the_advised_jobs_and_applies(tmp_path: Path) -> None:
    promote = ["check-new", "check-ext", "check-old"]
    patched = patch_ci(CI, ".gitlab-ci.yml", promote, ["build-gcc", "check-keep"])
    assert patched.skipped == ()
    assert _changed(patched.diff) == [
        "+  allow_failure: true",  # build-gcc, demoted
        "+  allow_failure: false",  # check-new, would inherit true from the anchor
        "+  allow_failure: false",  # check-ext, would inherit it through two extends
        "-  allow_failure: true  # was flaky",  # check-old, its own key removed
        "-  allow_failure: false",  # check-keep, demoted: its own key set
        "+  allow_failure: true",
    ]
    assert patched.diff.startswith("--- a/.gitlab-ci.yml\n+++ b/.gitlab-ci.yml\n")
    (tmp_path / ".gitlab-ci.yml").write_text(CI)
    (tmp_path / "p.diff").write_text(patched.diff)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "apply", "p.diff"], cwd=tmp_path, check=True)
    assert (tmp_path / ".gitlab-ci.yml").read_text() == patched.text
    assert "# The project's CI: keep this comment" in patched.text
    assert '    - "make -j8"   # quoted' in patched.text


def test_patch_leaves_what_it_cannot_edit_and_says_why() -> None:
    patched = patch_ci(CI, ".gitlab-ci.yml", ["nowhere"], ["flow-job"])
    assert patched.diff == "" and patched.text == CI
    assert [s.split(":")[0] for s in patched.skipped] == ["nowhere", "flow-job"]


def test_patch_of_a_job_already_right_is_empty() -> None:
    assert patch_ci(CI, ".gitlab-ci.yml", ["build-gcc"], ["check-old"]).diff == ""


def test_patch_refuses_invalid_yaml_in_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^\.gitlab-ci\.yml: not valid YAML"):
        patch_ci("a: [\n", ".gitlab-ci.yml", ["a"], [])


def test_patch_keeps_a_comment_on_a_key_it_flips() -> None:
    text = "job:\n  allow_failure: true  # see #42\n  extends: .t\n.t:\n  allow_failure: true\n"
    patched = patch_ci(text, "ci.yml", ["job"], [])
    assert _changed(patched.diff) == [
        "-  allow_failure: true  # see #42",
        "+  allow_failure: false  # see #42",
    ]


# -- rendering --------------------------------------------------------------------------


def _report() -> JobsReport:
    evil = "evil\x1b]0;pwned\x07[red]x[/red]"
    attempts = (Attempt(1, evil, "failed", "test", False, False, 10.0, 3.0),)
    records = (PipelineRecord(5, 0.0, attempts, "u"),)
    jobs = tuple(job_health(records))
    advice = (Advice(evil, "demote", "failed \x1b[2J", {"failures": 1}),)
    return JobsReport("master", jobs, advice, records, {evil: ("Eve <e@x>\x1b[31m",)})


def test_gitlab_names_are_escaped_in_the_table_and_exact_in_json() -> None:
    report = _report()
    plain, rich = io.StringIO(), io.StringIO()
    render_plain(report, plain)
    render_rich(report, rich, color=False)
    for text in (plain.getvalue(), rich.getvalue()):
        assert "\x1b" not in text and "\x07" not in text
    assert "[red]x[/red]" in rich.getvalue()  # shown, not taken as markup
    doc = document(report, 0)
    assert doc["jobs"][0]["name"] == "evil\x1b]0;pwned\x07[red]x[/red]"
    assert doc["pipelines"] == {
        "count": 1,
        "first": {"id": 5, "created_at": "1970-01-01T00:00:00Z"},
        "last": {"id": 5, "created_at": "1970-01-01T00:00:00Z"},
    }
    assert doc["advice"] == [
        {"job": doc["jobs"][0]["name"], "action": "demote", "reason": "failed \x1b[2J",
         "failures": 1}
    ]  # fmt: skip


@pytest.mark.parametrize("columns", [80, 100, 140])
def test_the_terminal_table_fits_its_width_with_every_figure(
    monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    """A maintainer's 80 columns show each job's tier, runs, failures, rate, flaky runs
    and streak (rich squeezed them to nothing before); the strip takes what is left, its
    newest runs; a long name is cut with "…" and nothing is wider than the terminal."""
    monkeypatch.setenv("COLUMNS", str(columns))
    long_name = "check-" + "x" * 300
    attempts = tuple(
        Attempt(n, name, status, "test", False, False, 60.0, float(n))
        for n, (name, status) in enumerate(
            [("build-gcc", "success"), (long_name, "failed"), ("\u202eevil", "success")]
        )
    )
    records = tuple(PipelineRecord(p, float(p * 3600), attempts, "u") for p in range(50))
    report = JobsReport("master", tuple(job_health(records)), (), records)
    out = io.StringIO()
    render_rich(report, out, color=False)
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= columns
    row = next(line for line in lines if line.lstrip().startswith("check-xxx"))
    assert "…" in row and row.split()[1:6] == ["gating", "50", "50", "100%", "0"]
    assert "\u202e" not in out.getvalue()
    if columns >= 100:
        assert row.rstrip().endswith("X" * 10)  # the newest runs, at the right
