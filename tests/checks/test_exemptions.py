"""Exemptions by policy: parsed from the target's file and git config only, matched on
subject, trailer and merge shape, counted in the report and in --json."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from send_mergereq import cli
from send_mergereq.checks import CHECKS
from send_mergereq.checks.exemptions import Exemption, from_git_config, from_policy
from send_mergereq.errors import ConfigError
from send_mergereq.policy import load_profile, parse_policy

SERIES = b'Merge patch series "fix things"\n\nJane <j@example.org> says:\n\nA cover letter.\n'
SUBTREE = (
    b"Squashed 'dts/upstream/' changes from 1234..5678\n\n"
    b"git-subtree-dir: dts/upstream\ngit-subtree-split: 5678\n"
)


def invoke(repo: Any, *args: str) -> tuple[int, str, str]:
    with CliRunner().isolation() as (out, err, _):
        code = cli.run(["-C", str(repo.path), *args])
    return code, out.getvalue().decode(), err.getvalue().decode()


def commit_on_master(repo: Any, name: str, text: str) -> None:
    """Commit ``name`` on master (the target) and rebase staging's base onto it."""
    repo.git("checkout", "-q", "master")
    (repo.path / name).write_text(text)
    repo.git("add", name)
    repo.git("commit", "-q", "-m", "policy\n\nSigned-off-by: Ada Author <ada@example.org>")
    repo.git("checkout", "-q", "-B", "staging")


def plain_merge(repo: Any, message: bytes) -> str:
    """A merge of a side branch (no tag) onto staging, written byte for byte."""
    side = repo.commit("Side commit")
    base = repo.git("rev-parse", "HEAD~1")
    raw = b"tree %s\nparent %s\nparent %s\n" % (repo.tree().encode(), base.encode(), side.encode())
    raw += b"author Max Maintainer <max@example.org> 1700000000 +0000\n"
    raw += b"committer Max Maintainer <max@example.org> 1700000000 +0000\n\n" + message
    return str(repo.raw_commit(raw, branch="staging"))


def subtree_squash(repo: Any) -> str:
    raw = b"tree %s\nparent %s\n" % (repo.tree().encode(), repo.head().encode())
    raw += b"author Max Maintainer <max@example.org> 1700000000 +0000\n"
    raw += b"committer Max Maintainer <max@example.org> 1700000000 +0000\n\n" + SUBTREE
    return str(repo.raw_commit(raw, branch="staging"))


POLICY = """
[[exempt]]
check = "signed-tags"
subject = "Merge patch series *"
merge = "untagged"

[[exempt]]
check = "signoff"
trailer = "git-subtree-dir"
"""


def test_policy_file_exemptions_drop_and_count_findings(make_repo: Any) -> None:
    repo = make_repo()
    commit_on_master(repo, ".send-mergereq.toml", POLICY)
    series = plain_merge(repo, SERIES)
    other = plain_merge(repo, b"Merge branch 'wip'\n")
    squash = subtree_squash(repo)
    code, out, err = invoke(repo, "staging", "--dry-run", "--json")
    doc = json.loads(out)
    flagged = {(f["check"], f["commit"]) for f in doc["findings"]}
    assert ("signed-tags", other) in flagged  # not matched by the subject glob
    assert ("signed-tags", series) not in flagged and ("signoff", squash) not in flagged
    assert code == 3
    assert doc["exempt"] == [
        {
            "check": "signed-tags",
            "rule": 'subject "Merge patch series *", merge of no tag',
            "source": "master:.send-mergereq.toml",
            "commits": 1,
            "merges": 1,
        },
        {
            "check": "signoff",
            "rule": "trailer git-subtree-dir",
            "source": "master:.send-mergereq.toml",
            "commits": 1,
            "merges": 0,
        },
    ]
    assert (
        '1 merge exempt from signed-tags by policy: subject "Merge patch series *", '
        "merge of no tag (master:.send-mergereq.toml)" in err
    )
    assert "1 commit exempt from signoff by policy: trailer git-subtree-dir" in err


def test_commits_under_check_cannot_exempt_themselves(make_repo: Any) -> None:
    repo = make_repo()
    (repo.path / ".send-mergereq.toml").write_text(POLICY)  # added on staging, not the target
    repo.git("add", ".send-mergereq.toml")
    repo.git("commit", "-q", "-m", "relax\n\nSigned-off-by: Ada Author <ada@example.org>")
    squash = subtree_squash(repo)
    code, out, _ = invoke(repo, "staging", "--dry-run", "--json")
    doc = json.loads(out)
    assert code == 3 and doc["exempt"] == []
    assert ("signoff", squash) in {(f["check"], f["commit"]) for f in doc["findings"]}


def test_git_config_exemption(make_repo: Any) -> None:
    repo = make_repo()
    series = plain_merge(repo, SERIES)
    repo.git("config", "--add", "sendmergereq.exempt", "signed-tags: subject=Merge patch series *")
    code, out, err = invoke(repo, "staging", "--dry-run", "--json")
    doc = json.loads(out)
    assert code == 0, err
    assert series not in {f["commit"] for f in doc["findings"]}
    assert doc["exempt"][0]["source"] == "git config sendmergereq.exempt"
    assert doc["exempt"][0]["merges"] == 1


def test_untagged_merge_shape_does_not_match_a_tagged_merge() -> None:
    from send_mergereq.history import parse_commit

    rule = Exemption("signed-tags", merge="untagged")
    head = b"tree " + b"1" * 40 + b"\nparent " + b"2" * 40 + b"\nparent " + b"3" * 40
    who = b"\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000"
    plain = parse_commit("4" * 40, head + who + b"\n\nMerge\n")
    tagged = parse_commit("5" * 40, head + who + b"\nmergetag object x\n type commit\n\nMerge\n")
    single = parse_commit("6" * 40, head.rsplit(b"\n", 1)[0] + who + b"\n\nOne\n")
    assert rule.matches(plain) and not rule.matches(tagged) and not rule.matches(single)


def test_trailer_must_be_in_the_trailer_block() -> None:
    from send_mergereq.history import parse_commit

    rule = Exemption("signoff", trailer="git-subtree-dir")
    head = b"tree " + b"1" * 40 + b"\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\n"
    assert rule.matches(parse_commit("1" * 40, head + SUBTREE))
    prose = head + b"Subject\n\ngit-subtree-dir: x is mentioned here\n\nbut not as a trailer.\n"
    assert not rule.matches(parse_commit("2" * 40, prose))


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ([{"check": "nope", "subject": "x"}], "unknown check 'nope'"),
        ([{"check": "signoff"}], "no condition"),
        ([{"check": "signoff", "merge": "octopus"}], 'expected "untagged"'),
        ([{"check": "signoff", "subject": "x", "when": "y"}], "unknown key 'when'"),
        ([{"check": "signoff", "trailer": "a b"}], "expected a trailer name"),
        ({"check": "signoff"}, "expected [[exempt]] tables"),
    ],
)
def test_bad_policy_exemptions_name_the_file(value: Any, error: str) -> None:
    with pytest.raises(ConfigError, match=r"^f\.toml: exempt") as info:
        from_policy(value, "f.toml", CHECKS)
    assert error in info.value.message


def test_git_config_syntax_errors() -> None:
    with pytest.raises(ConfigError, match="expected CHECK: CONDITION"):
        from_git_config(["signoff subject=x"], CHECKS)
    with pytest.raises(ConfigError, match="subject=GLOB"):
        from_git_config(["signoff: author=x"], CHECKS)
    (rule,) = from_git_config(["signoff: trailer=git-subtree-dir"], CHECKS)
    assert rule == Exemption("signoff", trailer="git-subtree-dir", source=rule.source)


def test_profiles_cannot_set_exemptions() -> None:
    with pytest.raises(ConfigError, match="unknown key 'exempt'"):
        parse_policy(b'[[exempt]]\ncheck = "signoff"\nsubject = "x"\n', "p", allow_profile=False)
    assert "exempt" not in load_profile("qemu")[0]
