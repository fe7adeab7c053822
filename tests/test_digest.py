"""The digest of a check report (pure): counts, one action per kind, and how the report
renders it (hints said once, hanging indents, commands that paste whole)."""

from __future__ import annotations

import io
import re

from hypothesis import given
from hypothesis import strategies as st

from send_mergereq.checks import CHECKS, signed_tags
from send_mergereq.checks import signoff as signoff_check
from send_mergereq.checks.finding import Finding, Severity
from send_mergereq.history import CommitRange
from send_mergereq.report import (
    DIGEST_FROM,
    CheckReport,
    digest,
    render_plain,
    render_rich,
    to_json,
)

RANGE = CommitRange("origin/master", "staging", "1" * 40, "2" * 40)
E, W = Severity.ERROR, Severity.WARNING
K1, K2 = "A" * 40, "B" * 40
SSH = "SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
JANE, JOE = "Jane Doe <jane@example.org>", "Joe Bloggs <joe@example.org>"
RECV_HINT = "import the submaintainer's key ('gpg --recv-keys {}' or 'gpg --import <file>')"


def sha(n: int) -> str:
    return f"{n:040x}"


def tag(n: int, kind: str, key: str = "", severity: Severity = E) -> Finding:
    hint = RECV_HINT.format(key) if kind == "unknown-key" else f"redo {kind}"
    return Finding("signed-tags", severity, sha(n), f"tag {n}: {kind} {key}", hint, kind, key)


def signoff(n: int, kind: str, author: str, severity: Severity = E) -> Finding:
    hint = {"missing": "ask the author", "outside-trailers": "move it"}.get(kind, "other")
    return Finding("signoff", severity, sha(n), f"{kind} {author}", hint, kind, author)


FINDINGS = (
    tag(1, "unknown-key", K1),
    tag(2, "unknown-key", K2),
    tag(3, "unknown-key", K1),
    tag(4, "unknown-key", ""),  # git named no key: counted, not listed
    tag(5, "untagged"),
    tag(6, "unsigned"),
    tag(7, "untagged"),
    tag(8, "unknown-ssh-key", SSH),
    tag(9, "no-allowed-signers"),
    tag(10, "expired-key", K2),
    signoff(11, "missing", JANE),
    signoff(12, "missing", JOE),
    signoff(13, "missing", JANE),
    signoff(14, "no-email", JANE),
    signoff(15, "outside-trailers", JOE, W),
    signoff(16, "outside-trailers", JANE, W),
    Finding("utf8", E, sha(17), "bad bytes", "reword in UTF-8"),
    Finding("utf8", W, sha(17), "legacy encoding header", "recommit"),
)
SUBJECTS = {
    sha(5): "Merge branch 'fixes' of https://example.org/sub.git",
    sha(6): "Merge tag 'pull-6' of https://example.org/sub.git",
    sha(7): "Merge branch 'topic'",
}


def actions(d: digest.Digest) -> dict[str, digest.Action]:
    found: dict[str, digest.Action] = {}
    for action in d.actions:
        found.setdefault(action.kind, action)
    return found


def test_counts_per_check_and_severity_in_check_order() -> None:
    d = digest.build(FINDINGS, SUBJECTS, order=("utf8", "signoff", "signed-tags"))
    assert [(c.check, c.severity, c.findings, c.commits) for c in d.counts] == [
        ("utf8", E, 1, 1),
        ("utf8", W, 1, 1),
        ("signoff", E, 4, 4),
        ("signoff", W, 2, 2),
        ("signed-tags", E, 10, 10),
    ]
    assert sum(c.findings for c in d.counts) == d.findings == len(FINDINGS)
    assert d.commits == 17


def test_one_key_fetch_command_for_every_missing_key() -> None:
    fetch = actions(digest.build(FINDINGS, SUBJECTS))["recv-keys"]
    assert fetch.command == f"gpg --recv-keys {K1} {K2}"  # each key once, first seen first
    assert fetch.findings == 4 and fetch.text.startswith("4 tags signed with 2 keys")
    refresh = actions(digest.build(FINDINGS, SUBJECTS))["refresh-keys"]
    assert refresh.command == f"gpg --refresh-keys {K2}" and refresh.findings == 1


def test_ssh_keys_get_allowed_signers_instructions() -> None:
    found = [a for a in digest.build(FINDINGS, SUBJECTS).actions if a.kind == "allowed-signers"]
    listed, config = found
    assert listed.items == (SSH,) and "gpg.ssh.allowedSignersFile" in listed.text
    assert config.command == "git config gpg.ssh.allowedSignersFile ~/.ssh/allowed_signers"


def test_merges_to_ask_again_for_a_signed_tag_grouped_by_source() -> None:
    resign = actions(digest.build(FINDINGS, SUBJECTS))["signed-tags"]
    assert resign.findings == 3 and resign.text.startswith("3 merges without a tag")
    assert resign.items == (
        f"https://example.org/sub.git (2 merges): {sha(5)[:12]} {sha(6)[:12]}",
        f"merged locally (no source named) (1 merge): {sha(7)[:12]}",
    )


def test_authors_to_ask_for_a_signoff_with_their_commits() -> None:
    ask = actions(digest.build(FINDINGS, SUBJECTS))["signoff"]
    assert ask.findings == 4 and ask.text.startswith("2 authors to ask for a Signed-off-by")
    assert ask.items == (
        f"{JANE} (3 commits): {sha(11)[:12]} {sha(13)[:12]} {sha(14)[:12]}",
        f"{JOE} (1 commit): {sha(12)[:12]}",
    )


def test_every_other_hint_once_with_its_count() -> None:
    found = actions(digest.build(FINDINGS, SUBJECTS))
    assert found["hint:signoff"].text == "[signoff] move it (2 commits)"
    assert found["hint:signoff"].findings == 2
    texts = [a.text for a in digest.build(FINDINGS).actions if a.kind == "hint:utf8"]
    assert texts == ["[utf8] reword in UTF-8 (1 commit)", "[utf8] recommit (1 commit)"]


def test_json_summary_matches_the_findings() -> None:
    report = CheckReport(RANGE, 20, 10, FINDINGS, SUBJECTS, checks=("signed-tags",))
    summary = to_json(report)["summary"]
    assert summary["findings"] == len(FINDINGS) == len(to_json(report)["findings"])
    assert sum(c["findings"] for c in summary["counts"]) == len(FINDINGS)
    assert sum(a["findings"] for a in summary["actions"]) == len(FINDINGS)
    fetch = [a for a in summary["actions"] if a["command"].startswith("gpg --recv-keys")]
    assert [a["command"] for a in fetch] == [f"gpg --recv-keys {K1} {K2}"]


KINDS = ["unknown-key", "untagged", "unsigned", "expired-key", "unknown-ssh-key", "other"]


@st.composite
def findings(draw: st.DrawFn) -> tuple[Finding, ...]:
    n = draw(st.integers(0, 40))
    out = []
    for i in range(n):
        check = draw(st.sampled_from(["signed-tags", "signoff", "utf8"]))
        kind = draw(st.sampled_from([*KINDS, "missing", "no-email", ""]))
        about = draw(st.sampled_from(["", K1, K2, JANE, SSH]))
        hint = draw(st.sampled_from(["", "do this", "do that"]))
        severity = draw(st.sampled_from([E, W]))
        commit = sha(draw(st.integers(0, 10)))
        out.append(Finding(check, severity, commit, f"finding {i}", hint, kind, about))
    return tuple(out)


@given(findings())
def test_counts_always_equal_the_findings_and_each_is_answered_once(
    found: tuple[Finding, ...],
) -> None:
    d = digest.build(found, order=("signoff",))
    assert sum(c.findings for c in d.counts) == len(found)
    answered = sum(a.findings for a in d.actions)
    aggregated = signed_tags.RESIGN_KINDS | {"unknown-key", "expired-key", "refused-trust"}
    with_action = [
        f
        for f in found
        if f.hint
        or (f.check == "signed-tags" and f.kind in aggregated | {"unknown-ssh-key"})
        or (f.check == "signoff" and f.kind in signoff_check.ASK_KINDS)
    ]
    assert answered == len(with_action)
    assert sum(a.command.startswith("gpg --recv-keys") for a in d.actions) <= 1


def test_every_action_a_check_declares_is_worded_and_takes_its_own_kinds() -> None:
    declared = [(m.ID, a) for m in CHECKS.values() for a in m.DIGEST]
    assert {a.action for _, a in declared} == set(digest._ACTIONS)
    for check_id in CHECKS:  # a kind is answered by one action of its check at most
        kinds = [k for i, a in declared if i == check_id for k in a.kinds]
        assert len(kinds) == len(set(kinds)), check_id


# -- how the report shows it ---------------------------------------------------------------


def long_report() -> CheckReport:
    return CheckReport(RANGE, 20, 10, FINDINGS, SUBJECTS, "qemu")


def test_a_long_report_ends_with_the_digest_then_the_verdict() -> None:
    assert len(FINDINGS) >= DIGEST_FROM
    out = io.StringIO()
    render_plain(long_report(), out)
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("checks FAILED: 20 commits (10 merges)")
    start = lines.index(f"digest: {len(FINDINGS)} findings in 17 commits")
    assert lines[start + 1].split() == ["signed-tags", "error", "10", "(10", "commits)"]
    assert sum(line.startswith("    gpg --recv-keys ") for line in lines) == 1
    assert f"    gpg --recv-keys {K1} {K2}" in lines
    assert f"    {JANE} (3 commits): {sha(11)[:12]} {sha(13)[:12]} {sha(14)[:12]}" in lines


def test_hints_are_said_once_in_the_digest_not_under_each_finding() -> None:
    out = io.StringIO()
    render_plain(long_report(), out)
    text = out.getvalue()
    assert "    -> " not in text  # the digest says what to do
    assert text.count("move it") == 1 and text.count("ask the author") == 0
    assert text.count("gpg --recv-keys") == 1


def test_a_short_report_keeps_its_hints_each_said_once() -> None:
    few = (signoff(1, "missing", JANE), signoff(2, "missing", JOE), FINDINGS[-1])
    assert len(few) < DIGEST_FROM
    out = io.StringIO()
    render_plain(CheckReport(RANGE, 3, 0, few), out)
    text = out.getvalue()
    assert "digest:" not in text
    assert text.count("    -> ask the author") == 1 and text.count("    -> recommit") == 1


def _starts(line: str) -> bool:
    """A line that may start at column 0: a commit header, a digest title, the verdict."""
    return bool(re.match(r"[0-9a-f]{12} |digest: |to do:|checks (FAILED|passed)", line))


def test_wrapped_lines_hang_under_their_text_never_at_column_zero() -> None:
    long_message = Finding("utf8", E, sha(1), ("word " * 40).strip(), ("fix " * 30).strip())
    report = CheckReport(RANGE, 20, 10, (long_message, *FINDINGS), SUBJECTS)
    for width in (40, 60, 100):
        out = io.StringIO()
        render_plain(report, out, width=width)
        lines = out.getvalue().splitlines()
        assert all(line[:1] == " " or _starts(line) for line in lines), lines
        first = next(n for n, line in enumerate(lines) if line.startswith("  error: [utf8]"))
        assert lines[first].endswith("word") and len(lines[first]) <= width
        assert lines[first + 1].startswith(" " * len("  error: [utf8] ") + "word")
        prose = [line for line in lines if not line.rstrip().endswith("\\")]
        assert all(len(line) <= width for line in prose if " " in line.strip())


def test_a_command_wider_than_the_screen_is_continued_for_the_shell() -> None:
    out = io.StringIO()
    render_plain(long_report(), out, width=50)
    lines = out.getvalue().splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith("    gpg --recv-keys"))
    command = []
    for line in lines[at:]:
        command.append(line.removesuffix(" \\").strip())
        if not line.endswith(" \\"):
            break
    assert " ".join(command) == f"gpg --recv-keys {K1} {K2}"
    assert all(line.startswith("        ") for line in lines[at + 1 : at + len(command)])


def test_without_a_width_nothing_is_wrapped() -> None:
    long_message = Finding("utf8", E, sha(1), ("word " * 40).strip(), "fix")
    out = io.StringIO()
    render_plain(CheckReport(RANGE, 1, 0, (long_message,)), out)
    assert out.getvalue().splitlines()[1] == "  error: [utf8] " + ("word " * 40).strip()


def test_rich_wraps_with_the_same_hanging_indent() -> None:
    plain, rich = io.StringIO(), io.StringIO()
    render_plain(long_report(), plain, width=60)
    render_rich(long_report(), rich, color=True, width=60)
    unstyled = re.sub(r"\x1b\[[0-9;]*m", "", rich.getvalue())
    assert unstyled.replace("→", "->") == plain.getvalue()
