"""``send-mergereq check`` and ``--report junit=|codequality=``: the files are parsed as
GitLab parses them and compared finding by finding with ``--json``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from send_mergereq import cli
from send_mergereq.ci_check import default_range
from send_mergereq.errors import ConfigError

SOB = b"\n\nSigned-off-by: Ada Author <ada@example.org>\n"
# GitLab's Code Quality report format (docs.gitlab.com/ci/testing/code_quality):
# every entry has these fields, severity one of GitLab's five values.
CQ_FIELDS = {"description", "check_name", "fingerprint", "severity", "location"}
CQ_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def invoke(repo: Any, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    with CliRunner(env=env).isolation() as (out, err, _):
        code = cli.run(["-C", str(repo.path), *args])
    return code, out.getvalue().decode(), err.getvalue().decode()


def add_raw(repo: Any, message: bytes, author: bytes = b"Ada Author <ada@example.org>") -> str:
    raw = b"tree %s\nparent %s\n" % (repo.tree().encode(), repo.head().encode())
    raw += b"author " + author + b" 1700000000 +0000\n"
    raw += b"committer Max Maintainer <max@example.org> 1700000000 +0000\n"
    return str(repo.raw_commit(raw + b"\n" + message, branch="staging"))


def planted(make_repo: Any) -> Any:
    repo = make_repo()
    repo.commit("A clean commit")
    add_raw(repo, b"Latin-1 author" + SOB, "Jérôme <ada@example.org>".encode("latin-1"))
    add_raw(repo, b"Two problems <&>\n\nIt \x93works\x94.\n")  # utf8 + signoff
    add_raw(repo, b"Late\n\nSigned-off-by: Ada Author <ada@example.org>\n\nA note.\n")  # warning
    add_raw(repo, b"Named\n\nSigned-off-by: Ada Author <ada@home.example>\n")  # warning
    add_raw(repo, b"List" + SOB, b"Ada Author via Qemu-devel <qemu-devel@nongnu.org>")
    repo.commit("Another clean commit")
    return repo


def junit_cases(path: Path) -> list[dict[str, Any]]:
    """Read the file the way GitLab's JUnit parser does: testsuites/testsuite/testcase."""
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    cases = []
    for suite in root.findall("testsuite"):
        assert int(suite.get("tests", "-1")) == len(suite.findall("testcase"))
        for case in suite.findall("testcase"):
            failures = case.findall("failure")
            assert len(failures) <= 1
            cases.append(
                {
                    "suite": suite.get("name"),
                    "check": case.get("classname"),
                    "name": case.get("name"),
                    "commit": case.get("file", "").removeprefix("commit/"),
                    "failure": failures[0] if failures else None,
                    "skipped": case.find("skipped"),
                    "out": case.findtext("system-out") or "",
                }
            )
    return cases


def check_codequality(path: Path) -> list[dict[str, Any]]:
    """Every field GitLab reads, with the type and values its docs give."""
    entries = json.loads(path.read_text())
    assert isinstance(entries, list)
    for entry in entries:
        assert set(entry) == CQ_FIELDS
        assert isinstance(entry["description"], str) and entry["description"]
        assert isinstance(entry["check_name"], str) and entry["check_name"]
        assert isinstance(entry["fingerprint"], str) and len(entry["fingerprint"]) == 64
        assert entry["severity"] in CQ_SEVERITIES
        location = entry["location"]
        assert set(location) == {"path", "lines"} and isinstance(location["path"], str)
        assert set(location["lines"]) == {"begin"}
        assert isinstance(location["lines"]["begin"], int) and location["lines"]["begin"] >= 1
    fingerprints = [e["fingerprint"] for e in entries]
    assert len(set(fingerprints)) == len(fingerprints)
    return list(entries)


@pytest.mark.parametrize("command", [["check", "master..staging"], ["staging", "--dry-run"]])
def test_reports_match_json_finding_by_finding(
    make_repo: Any, tmp_path: Path, command: list[str]
) -> None:
    repo = planted(make_repo)
    junit, cq = tmp_path / "out" / "junit.xml", tmp_path / "cq.json"
    args = [*command, "--json", "--report", f"junit={junit}", "--report", f"codequality={cq}"]
    code, out, _ = invoke(repo, *args)
    doc = json.loads(out)
    assert code == doc["exit_code"] == 3
    findings = doc["findings"]
    assert {f["severity"] for f in findings} == {"error", "warning"}

    cases = junit_cases(junit)
    assert len(cases) == doc["commits"] * 4  # one per commit and check
    assert {(c["check"], c["commit"]) for c in cases} == {
        (check, c["commit"])
        for check in ("utf8", "list-address", "signed-tags", "signoff")
        for c in cases
    }
    errors = [f for f in findings if f["severity"] == "error"]
    failed = {(c["check"], c["commit"]): c for c in cases if c["failure"] is not None}
    assert set(failed) == {(f["check"], f["commit"]) for f in errors}
    for f in errors:
        failure = failed[(f["check"], f["commit"])]["failure"]
        assert f["message"] in failure.get("message")
        assert f["hint"] in (failure.text or "")
        assert failed[(f["check"], f["commit"])]["name"].startswith(f["commit"][:12])
    for f in findings:
        if f["severity"] == "warning":
            (case,) = [c for c in cases if (c["check"], c["commit"]) == (f["check"], f["commit"])]
            assert case["failure"] is None and f["message"] in case["out"]

    entries = check_codequality(cq)
    assert len(entries) == len(findings)
    for entry, f in zip(entries, findings, strict=True):
        assert entry["check_name"] == f["check"]
        assert entry["location"]["path"] == f"commit/{f['commit']}"
        assert f["message"] in entry["description"]
        assert entry["severity"] == {"error": "major", "warning": "minor"}[f["severity"]]
    invoke(repo, *args)
    assert [e["fingerprint"] for e in json.loads(cq.read_text())] == [
        e["fingerprint"] for e in entries
    ]  # stable from run to run


def test_exempt_findings_are_skipped_cases(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo()
    squash = add_raw(repo, b"Squashed 'dts/' changes\n\ngit-subtree-dir: dts\n")
    repo.git("config", "sendmergereq.exempt", "signoff: trailer=git-subtree-dir")
    junit, cq = tmp_path / "j.xml", tmp_path / "cq.json"
    code, _, err = invoke(
        repo,
        "check",
        "master..staging",
        "--report",
        f"junit={junit}",
        "--report",
        f"codequality={cq}",
    )
    assert code == 0, err
    (case,) = [c for c in junit_cases(junit) if c["check"] == "signoff"]
    assert case["commit"] == squash and case["skipped"] is not None
    assert "exempt by policy: trailer git-subtree-dir" in case["skipped"].get("message")
    assert json.loads(cq.read_text()) == []


def test_hostile_subject_stays_well_formed_xml(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo()
    add_raw(repo, b'Bad \x01\x1b[2J "<x>" &amp; ]]>\n\nNo sign-off.\n')
    junit = tmp_path / "j.xml"
    code, _, _ = invoke(repo, "check", "master..staging", "--report", f"junit={junit}")
    assert code == 3
    (failed,) = [c for c in junit_cases(junit) if c["failure"] is not None]
    assert '"<x>" &amp; ]]>' in failed["name"] and "\x1b" not in failed["name"]


def test_merged_results_range_is_first_to_second_parent(make_repo: Any) -> None:
    repo = make_repo()
    added = [repo.commit("One"), repo.commit("Two")]
    repo.git("checkout", "-q", "master")
    repo.commit("Target moved", filename="other")
    repo.git("merge", "-q", "--no-ff", "--no-edit", "staging")
    merge = repo.head()
    env = {"CI_MERGE_REQUEST_EVENT_TYPE": "merged_result", "CI_COMMIT_SHA": merge}
    code, out, err = invoke(repo, "check", "--json", env=env)
    doc = json.loads(out)
    assert code == 0, err
    assert doc["commits"] == 2 and doc["range"]["branch_sha"] == added[-1]
    assert doc["range"]["target_sha"] == repo.git("rev-parse", f"{merge}^1")


def test_mr_and_push_pipeline_ranges(make_repo: Any) -> None:
    repo = make_repo()
    base = repo.head()
    repo.commit("One")
    head = repo.commit("Two", signoff=None)
    mr = {"CI_MERGE_REQUEST_DIFF_BASE_SHA": base, "CI_COMMIT_SHA": head}
    code, out, _ = invoke(repo, "check", "--json", env=mr)
    assert (code, json.loads(out)["commits"]) == (3, 2)
    push = {"CI_COMMIT_BEFORE_SHA": repo.git("rev-parse", "HEAD~1"), "CI_COMMIT_SHA": head}
    code, out, _ = invoke(repo, "check", "--json", env=push)
    assert (code, json.loads(out)["commits"]) == (3, 1)


def test_default_range_order_and_new_branch() -> None:
    both = {
        "CI_MERGE_REQUEST_EVENT_TYPE": "merged_result",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": "b" * 40,
        "CI_COMMIT_BEFORE_SHA": "c" * 40,
        "CI_COMMIT_SHA": "a" * 40,
    }
    merged = default_range(both)
    assert (merged.base, merged.branch) == ("a" * 40 + "^1", "a" * 40 + "^2")
    assert [s.ref for s in merged.policy] == ["a" * 40 + "^1"]
    del both["CI_MERGE_REQUEST_EVENT_TYPE"]
    assert (default_range(both).base, default_range(both).branch) == ("b" * 40, "a" * 40)
    assert [s.ref for s in default_range(both).policy] == ["b" * 40]
    push = {"CI_COMMIT_BEFORE_SHA": "c" * 40, "CI_COMMIT_SHA": "a" * 40}
    # a push pipeline never reads the policy from the branch's previous push
    new = default_range({**push, "CI_COMMIT_BEFORE_SHA": "0" * 40, "CI_DEFAULT_BRANCH": "main"})
    assert (new.base, new.branch) == (None, "a" * 40)  # over the policy's branch itself
    assert [s.ref for s in new.policy] == ["refs/remotes/origin/main"]
    again = default_range({**push, "CI_DEFAULT_BRANCH": "main"})
    assert again.base == "c" * 40 and again.policy == new.policy
    assert default_range(push).policy == () and default_range(push).target is None
    with pytest.raises(ConfigError, match="no range to check"):
        default_range({"CI_COMMIT_BEFORE_SHA": "0" * 40, "CI_COMMIT_SHA": "a" * 40})


def test_new_branch_push_without_range_is_a_usage_error(make_repo: Any) -> None:
    repo = make_repo()
    repo.commit("One")
    code, _, err = invoke(repo, "check", env={"CI_COMMIT_BEFORE_SHA": "0" * 40})
    assert code == 2 and "no range to check" in err and "hint: pass the range" in err


def test_empty_range_passes_in_check(make_repo: Any) -> None:
    repo = make_repo()
    code, out, _ = invoke(repo, "check", "staging..master", "--json")
    assert code == 0 and json.loads(out)["commits"] == 0


@pytest.mark.parametrize("spec", ["junit", "sarif=x.json", "junit="])
def test_bad_report_spec_is_a_usage_error(make_repo: Any, spec: str) -> None:
    repo = make_repo()
    code, _, err = invoke(repo, "check", "master..staging", "--report", spec)
    assert code == 2 and "KIND=PATH" in err


def test_unwritable_report_path_is_one_line(make_repo: Any, tmp_path: Path) -> None:
    repo = make_repo()
    repo.commit("One")
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = invoke(repo, "check", "master..staging", "--report", f"junit={blocker}/x.xml")
    assert code == 2 and err.startswith("send-mergereq: cannot write the report")


def test_every_error_finding_is_one_failure_with_text_messages(
    make_repo: Any, tmp_path: Path
) -> None:
    """Two utf8 errors on one commit (the author and the message) are two failing cases,
    named apart; JUnit's failures equal the errors --json counts, and no message shows
    Python's bytes literal."""
    repo = make_repo()
    add_raw(
        repo,
        b"Caf\xe9 au lait\n\nIt \x93works\x94." + SOB,
        "Jérôme <j@example.org>".encode("latin-1"),
    )
    add_raw(repo, b"No sign-off at all\n")
    junit = tmp_path / "j.xml"
    code, out, _ = invoke(repo, "check", "master..staging", "--json", "--report", f"junit={junit}")
    errors = [f for f in json.loads(out)["findings"] if f["severity"] == "error"]
    assert code == 3 and len(errors) == 4  # utf8 twice (author, message) on the first commit
    root = ET.parse(junit).getroot()
    assert int(root.get("failures", "-1")) == len(errors)
    failing = [c for c in junit_cases(junit) if c["failure"] is not None]
    assert sorted(c["failure"].get("message") for c in failing) == sorted(
        f["message"] for f in errors
    )
    utf8 = [c["name"] for c in failing if c["check"] == "utf8"]
    assert [name[13:] for name in sorted(utf8)] == [
        "Caf\ufffd au lait (1 of 2)",
        "Caf\ufffd au lait (2 of 2)",
    ]
    text = junit.read_text()
    assert "b'" not in text and '"J\\xe9r\\xf4me"' in text


def test_show_signature_in_git_config_adds_no_test_cases(
    make_repo: Any, tmp_path: Path, maintainer: Any
) -> None:
    """``log.showSignature=true`` makes git log print gpg's lines; the JUnit commits are
    read with --no-show-signature, so no case is named ``gpg: Signature made …``."""
    from keys import make_signed_merge

    repo = make_repo()
    make_signed_merge(repo.path, "pull-one", maintainer.good)
    repo.git("config", "log.showSignature", "true")
    assert "gpg: " in repo.git("log", "-1", "staging")  # git itself would print them
    junit = tmp_path / "j.xml"
    invoke(repo, "check", "master..staging", "--report", f"junit={junit}")
    names = [c["name"] for c in junit_cases(junit)]
    commits = repo.git("rev-list", "master..staging").split()
    assert len(names) == len(commits) * len({c["check"] for c in junit_cases(junit)})
    assert not [name for name in names if "gpg" in name or "Signature" in name]


def test_a_directory_as_report_path_is_one_line_and_leaves_nothing(
    make_repo: Any, tmp_path: Path
) -> None:
    repo = make_repo()
    repo.commit("One")
    out = tmp_path / "reports"
    out.mkdir()
    code, _, err = invoke(repo, "check", "master..staging", "--report", f"junit={out}")
    assert code == 2
    assert err.splitlines()[0] == f"send-mergereq: --report junit={out}: is a directory"
    assert err.splitlines()[1] == f"hint: name a file, e.g. --report junit={out}/junit.xml"
    assert list(out.iterdir()) == [] and list(tmp_path.glob(".reports.*")) == []


def test_a_failed_write_leaves_no_temporary_file(
    make_repo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo()
    repo.commit("One")

    def refuse(src: object, dst: object) -> None:
        raise IsADirectoryError(21, "Is a directory")

    monkeypatch.setattr("send_mergereq.report.files.os.replace", refuse)
    out = tmp_path / "out"
    code, _, err = invoke(repo, "check", "master..staging", "--report", f"junit={out}/j.xml")
    assert code == 2 and err.startswith("send-mergereq: cannot write the report")
    assert list(out.iterdir()) == []


def test_a_huge_range_lists_only_commits_with_findings_and_says_so(
    make_repo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past LIMIT commits, a suite lists the commits with something to say and one last
    case counting the others; past LIMIT cases, the rest is one failing case. Both are
    said on stderr. (LIMIT lowered: the same code runs for a million commits.)"""
    from send_mergereq.report import codequality, junit

    monkeypatch.setattr(junit, "LIMIT", 3)
    monkeypatch.setattr(codequality, "LIMIT", 2)
    repo = make_repo()
    for n in range(3):
        repo.commit(f"Clean {n}")
    bad = [add_raw(repo, f"No sign-off {n}\n".encode()) for n in range(5)]
    repo.commit("Clean last")
    j, cq = tmp_path / "j.xml", tmp_path / "cq.json"
    code, _, err = invoke(
        repo, "check", "master..staging", "--report", f"junit={j}", "--report", f"codequality={cq}"
    )
    assert code == 3
    cases = [c for c in junit_cases(j) if c["check"] == "signoff"]
    assert [c["commit"] for c in cases[:3]] == list(reversed(bad))[:3]
    assert all(c["failure"] is not None for c in cases)
    assert (
        cases[3]["name"] == "(6 more commits not listed: 4 without findings, 2 past 3 test cases)"
    )
    assert cases[3]["failure"].get("message") == (
        "2 more failures of signoff not listed; the job's log has every finding"
    )
    utf8 = [c for c in junit_cases(j) if c["check"] == "utf8"]
    assert [c["name"] for c in utf8] == ["(9 more commits not listed: 9 without findings)"]
    assert utf8[0]["failure"] is None
    suite = ET.parse(j).getroot().find("testsuite[@name='signoff']")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("4", "4")
    entries = check_codequality(cq)
    assert len(entries) == 3 and entries[-1]["severity"] == "info"
    assert entries[-1]["description"].startswith("3 more findings not listed")
    lines = err.splitlines()
    assert (
        f"send-mergereq: junit report {j}: the range has 9 commits (more than 3): only "
        in (lines[0])
    )
    assert lines[1] == (
        f"send-mergereq: junit report {j}: at most 3 test cases per check; commits left "
        "out: signoff 2 (2 failing)"
    )
    assert lines[2] == (
        f"send-mergereq: codequality report {cq}: at most 2 findings listed: 3 more left "
        "out, said in one last entry"
    )


def test_a_huge_range_names_an_exempt_commit_by_its_subject(
    make_repo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past LIMIT commits the range is not read whole: an exempt commit (no finding, so no
    subject in the report) has its subject asked of git alone."""
    from send_mergereq.report import junit

    monkeypatch.setattr(junit, "LIMIT", 1)
    repo = make_repo()
    squash = add_raw(repo, b"Squashed 'dts/' changes\n\ngit-subtree-dir: dts\n")
    repo.commit("Clean")
    repo.git("config", "sendmergereq.exempt", "signoff: trailer=git-subtree-dir")
    repo.git("config", "log.showSignature", "true")
    j = tmp_path / "j.xml"
    code, _, err = invoke(repo, "check", "master..staging", "--report", f"junit={j}")
    assert code == 0, err
    cases = [c for c in junit_cases(j) if c["check"] == "signoff"]
    assert [c["name"] for c in cases] == [
        f"{squash[:12]} Squashed 'dts/' changes",
        "(1 more commits not listed: 1 without findings)",
    ]
    assert cases[0]["skipped"] is not None
