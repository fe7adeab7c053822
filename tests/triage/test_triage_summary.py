"""triage/summary.py: the lines a closed gate prints after the failing jobs."""

from __future__ import annotations

from send_mergereq.triage.pulls import Pull
from send_mergereq.triage.summary import summary_lines
from send_mergereq.triage.suspects import suspect

BLOCK = Pull(1, "a" * 40, "Merge tag 'pull-block'", True, tag="pull-block",
             signer="Bea Block <bea@block.example.org>", signature="good", commits=2,
             files=("block/qcow2.c", "tests/qemu-iotests/042"))  # fmt: skip
FIX = Pull(2, "b" * 40, "staging: fix", False, files=tuple(f"f{n}.c" for n in range(7)))
NET = Pull(3, "c" * 40, "Merge tag 'pull-net'", True, tag="pull-net", signature="unknown-key",
           files=("net/tap.c",))  # fmt: skip
PULLS = (BLOCK, FIX, NET)


def test_the_pull_requests_culprits_owners_and_the_next_command() -> None:
    suspicions = [
        suspect("cross-arm64-system", ["FAILED: x", "../net/tap.c:26:5: error: boom"], PULLS),
        suspect("check-unit", ["Ok: 1 Fail: 1"], PULLS),
    ]
    owners = {"cross-arm64-system": ("Alex Arm <alex@example.org>",)}
    lines = summary_lines("staging", PULLS, suspicions, lambda job: owners.get(job, ()))
    assert lines == [
        "pull requests in staging, oldest first:",
        f"  1. pull-block  {'a' * 12}  2 commits, signed by Bea Block",
        "       block/qcow2.c, tests/qemu-iotests/042",
        f"  2. commit (staging: fix)  {'b' * 12}  1 commit",
        "       f0.c, f1.c, f2.c, f3.c, f4.c and 2 more",
        f"  3. pull-net  {'c' * 12}  1 commit, signature: unknown-key",
        "       net/tap.c",
        "likely culprits:",
        f"  cross-arm64-system: pull-net ({'c' * 12}): its log names its files",
        "      ../net/tap.c:26:5: error: boom",
        "    owners: Alex Arm <alex@example.org>",
        "  check-unit: no evidence: run `send-mergereq bisect`",
        "next: send-mergereq bisect staging",
    ]


def test_owners_paths_a_plain_commit_and_a_quoted_branch() -> None:
    found = suspect("check-block", [], PULLS, ["f6.c"])
    lines = summary_lines("my branch", PULLS, [found])
    assert f"  check-block: {'b' * 12} (staging: fix): its owners' paths" in lines
    assert "      f6.c matches f6.c" in lines
    assert lines[-1] == "next: send-mergereq bisect 'my branch'"


def test_untrusted_text_is_escaped_and_nothing_over_the_target() -> None:
    evil = Pull(1, "d" * 40, "x", True, tag="pull-\x1b[2J", files=("a\x07.c",))
    text = "\n".join(summary_lines("staging", [evil], []))
    assert "\x1b" not in text and "\x07" not in text
    assert summary_lines("staging", [], [])[1] == (
        "  (none: the branch adds no commit over the target)"
    )


def test_a_long_log_line_of_evidence_is_cut() -> None:
    """A 5,000-character log line reached the terminal and a piped file whole."""
    long_line = "../net/tap.c:26:5: error: " + "x" * 5000
    lines = summary_lines("staging", PULLS, [suspect("cross", [long_line], PULLS)])
    (shown,) = [line for line in lines if "tap.c:26:5" in line]
    assert len(shown) <= 6 + 200 and shown.endswith("…")
