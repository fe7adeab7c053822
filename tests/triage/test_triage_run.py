"""run/triage.py and triage/drafts.py: a closed gate's triage as a run computes it (from a
real repository and the watch's log tails), its lines on the display (before the verdict,
cut to the live view's width), its part of the ``--json`` document, the reply drafts
(never over an earlier one), and that nothing it meets fails the run."""

from __future__ import annotations

import email
import io
from collections.abc import Callable
from dataclasses import replace
from email import policy
from pathlib import Path

import pytest
from triage_helpers import pull

from gitrepo import Repo
from send_mergereq.apply import email_file, notes
from send_mergereq.apply.email_file import write_new
from send_mergereq.apply.pulls import MailHeaders, PullRequest
from send_mergereq.errors import ConfigError, GitError
from send_mergereq.gate import evaluate
from send_mergereq.models import Job, Pipeline, PipelineKind
from send_mergereq.run.document import document
from send_mergereq.run.triage import ClosedGate, Replies, Source, closed_gate, on_close
from send_mergereq.triage.mail import mail_in, read_emails
from send_mergereq.watch.display import HeldVerdict, PlainDisplay
from send_mergereq.watch.types import WatchResult
from send_mergereq.watch.verdict import verdict_lines

URL = "https://gitlab.example/qemu/qemu/-"
LOG = "FAILED: libcommon.fa.p/net/tap.c.o\n../net/tap.c:42:5: error: " + "x" * 90
POLICY = """\
[[jobs]]
name = "cross-*"
owners = ["Alex Arm <alex@example.org>"]
paths = ["hw/arm/*"]
"""


def closed(log: str = LOG) -> WatchResult:
    jobs = (
        Job(id=1, name="build", stage="build", status="success", pipeline_id=9,
            web_url=f"{URL}/jobs/1"),
        Job(id=2, name="cross-arm64-system", stage="test", status="failed", pipeline_id=9,
            web_url=f"{URL}/jobs/2"),
    )  # fmt: skip
    pipeline = Pipeline(9, "failed", "staging", "f" * 40, f"{URL}/pipelines/9",
                        PipelineKind.BRANCH, jobs=jobs)  # fmt: skip
    return WatchResult(evaluate(pipeline), pipeline, {2: log}, 60.0, "send-mergereq status staging")


def staging(repo: Repo, policy_text: str = POLICY) -> tuple[str, str, str]:
    """master with the job owners' policy; staging of three pull requests; their merges."""
    repo.git("checkout", "-q", "master")
    (repo.path / ".send-mergereq.toml").write_text(policy_text)
    repo.git("add", ".send-mergereq.toml")
    repo.git("commit", "-q", "--no-gpg-sign", "-m", "job owners")
    repo.git("checkout", "-q", "-B", "staging", "master")
    block = pull(repo, "pull-block", {"block/qcow2.c": "b"})
    net = pull(repo, "pull-net", {"net/tap.c": "n"}, commits=2)
    arm = pull(repo, "pull-arm", {"hw/arm/virt.c": "a"})
    return block, net, arm


def source(repo: Repo, replies: Replies | None = None) -> Callable[[WatchResult], Source]:
    head = repo.head()
    return lambda _: Source(repo.path, "master", head, "staging", "", replies)


def test_the_triage_of_a_closed_gate_its_lines_and_its_document(
    make_repo: Callable[..., Repo],
) -> None:
    repo = make_repo()
    _, net, _ = staging(repo)
    result = closed()
    found = closed_gate(source(repo), result)

    assert found.triage is not None and found.error == ""
    lines = found.lines()
    assert lines[0] == "pull requests in staging, oldest first:"
    assert f"  2. pull-net  {net[:12]}  2 commits, signature: unsigned" in lines
    assert f"  cross-arm64-system: pull-net ({net[:12]}): its log names its files" in lines
    assert "    owners: Alex Arm <alex@example.org>" in lines
    assert lines[-1] == "next: send-mergereq bisect staging"
    doc = document(exit_code=result.exit_code, watched=result, closed=found)
    assert [p["tag"] for p in doc["triage"]["pulls"]] == ["pull-block", "pull-net", "pull-arm"]
    assert doc["triage"]["pulls"][1]["commits"] == 2
    assert doc["triage"]["error"] is None and doc["triage"]["replies"] == []
    (failed,) = doc["failed_jobs"]
    assert failed["basis"] == "log" and failed["owners"] == ["Alex Arm <alex@example.org>"]
    assert failed["suspects"] == [
        {"tag": "pull-net", "merge": net, "evidence": LOG.split("\n"), "maintainers": []}
    ]
    # an open gate's document says triage: null
    assert document(exit_code=result.exit_code, watched=result)["triage"] is None


def test_without_evidence_in_the_log_the_owners_paths_point(
    make_repo: Callable[..., Repo],
) -> None:
    repo = make_repo()
    _, _, arm = staging(repo)
    found = closed_gate(source(repo), closed("Fail: 1"))
    assert found.job("cross-arm64-system") == {
        "suspects": [{"tag": "pull-arm", "merge": arm,
                      "evidence": ["hw/arm/virt.c matches hw/arm/*"], "maintainers": []}],
        "basis": "owners",
        "owners": ["Alex Arm <alex@example.org>"],
    }  # fmt: skip


def test_nothing_the_triage_meets_fails_the_run(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo()
    staging(repo, policy_text="[[jobs]]\nname = 1\n")  # the target's policy is invalid

    found = closed_gate(source(repo), closed())
    assert found.triage is None
    assert found.lines() == [f"triage: not available: {found.error}"]
    assert "jobs #1: name" in found.error
    assert found.document() == {"pulls": [], "next": None, "replies": [], "error": found.error}
    assert found.job("cross-arm64-system") == {"suspects": [], "basis": None, "owners": []}

    def gone(_: WatchResult) -> Source:
        raise GitError("the tested commit ffffffffffff is not in this repository")

    assert closed_gate(gone, closed()).lines() == [
        "triage: not available: the tested commit ffffffffffff is not in this repository"
    ]

    def bug(_: WatchResult) -> Source:
        raise KeyError("x")

    assert closed_gate(bug, closed()).error == "KeyError: 'x'"

    def interrupted(_: WatchResult) -> Source:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # Ctrl-C is the user's: never swallowed
        closed_gate(interrupted, closed())


def test_replies_threaded_never_over_an_earlier_draft_and_said_when_unknown(
    make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo()
    repo.git("config", "user.name", "Max Maintainer")
    repo.git("config", "user.email", "max@example.org")
    _, net, arm = staging(repo)
    mail = MailHeaders(message_id="<net@example.org>", subject="[PULL] net",
                       sender="Nils Net <nils@example.org>", cc="list@example.org")  # fmt: skip
    notes.record(repo.path, net, PullRequest("https://x/net.git", "pull-net", "0" * 40,
                                             "1" * 40, "net.eml", mail))  # fmt: skip
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    (drafts / "pull-net.mbox").write_text("edited\n")
    log = LOG + "\n../hw/arm/virt.c:1: error: too"

    found = closed_gate(source(repo, Replies(drafts)), closed(log))

    assert found.replies == (str(drafts / "pull-net-2.mbox"),)
    assert (drafts / "pull-net.mbox").read_text() == "edited\n"
    assert "no reply drafted for pull-arm: no email recorded on its merge by apply, " \
        "and none for its tag in --emails" in found.lines()  # fmt: skip
    assert found.document()["replies"] == [str(drafts / "pull-net-2.mbox")]
    raw = (drafts / "pull-net-2.mbox").read_bytes().split(b"\n", 1)[1]
    reply = email.message_from_bytes(raw, policy=policy.default)
    assert reply["In-Reply-To"] == "<net@example.org>"
    assert reply["From"] == "Max Maintainer <max@example.org>"
    assert reply["Cc"] == "list@example.org, Alex Arm <alex@example.org>"  # the job's owner
    body = reply.get_content()  # type: ignore[attr-defined]
    assert f"{URL}/jobs/2" in body and "    > FAILED: libcommon.fa.p/net/tap.c.o" in body
    assert "virt.c" not in body  # the lines that name the other pull request's files
    assert arm  # pull-arm was suspected too, but has no email


def test_write_new_keeps_every_earlier_draft(tmp_path: Path) -> None:
    assert write_new(tmp_path, "a.mbox", b"1").name == "a.mbox"
    assert write_new(tmp_path, "a.mbox", b"2").name == "a-2.mbox"
    assert write_new(tmp_path, "a.mbox", b"3").name == "a-3.mbox"
    assert (tmp_path / "a.mbox").read_bytes() == b"1"


def test_the_triage_comes_after_the_failing_jobs_and_before_the_verdict() -> None:
    found = ClosedGate(error="boom")
    held = HeldVerdict(PlainDisplay(out := io.StringIO()))
    held.finish(closed())
    held.add(tuple(found.lines()))
    held.release()
    text = out.getvalue().splitlines()
    assert text[-2] == "triage: not available: boom"
    assert text[-3].startswith("  ✘ test/cross-arm64-system")
    assert "gate closed" in text[-1]


def test_the_live_view_cuts_detail_lines_to_its_width_not_commands() -> None:
    long_next = "next: send-mergereq bisect staging --target origin/master " + "-" * 40
    detail = "      ../net/tap.c:42:5: error: " + "y" * 80
    result = closed()
    triage = ("likely culprits:", detail, long_next)
    result = WatchResult(result.verdict, result.pipeline, result.logs, 60.0,
                         result.resume_command, triage=triage)  # fmt: skip
    lines = verdict_lines(result, width=80)
    assert f"{detail[:79]}…" in lines and len(f"{detail[:79]}…") == 80
    assert long_next in lines  # a command is pasted: never cut
    assert detail in verdict_lines(result)  # a plain stream keeps it whole


def test_emails_are_read_within_apply_s_bounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many = tmp_path / "archive.mbox"
    many.write_bytes(b"From a@b Sat Jan  1 00:00:00 2022\nSubject: x\n\nhi\n" * 10_001)
    with pytest.raises(ConfigError, match="more than 10,000 messages"):
        read_emails([str(many)])
    with pytest.raises(ConfigError, match="more than 10,000 messages"):
        mail_in([("archive.mbox", many.read_bytes())], "pull-net")
    deep = (
        b"Content-Type: multipart/mixed; boundary=b\n\n"
        + b"--b\n" * 5
        + (b"--b\nContent-Type: message/rfc822\n\n" * 30)
    )
    with pytest.raises(ConfigError, match=r"deep|attached|parts"):
        mail_in([("deep.eml", deep)], "pull-net")
    monkeypatch.setattr(email_file, "MAX_BYTES", 10)
    big = tmp_path / "big.eml"
    big.write_bytes(b"x" * 11)
    with pytest.raises(ConfigError, match="larger than"):
        read_emails([str(big)])
    with pytest.raises(ConfigError, match="cannot read the email"):
        read_emails([str(tmp_path / "missing.eml")])


def test_only_a_closed_gate_not_interrupted_is_triaged(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo()
    staging(repo)
    red = closed()
    assert on_close(source(repo), red) is not None
    assert on_close(None, red) is None
    assert on_close(source(repo), replace(red, interrupted=True)) is None
    green = replace(red.pipeline, status="success", jobs=tuple(  # type: ignore[arg-type]
        replace(j, status="success") for j in red.pipeline.jobs  # type: ignore[union-attr]
    ))  # fmt: skip
    assert on_close(source(repo), replace(red, verdict=evaluate(green), pipeline=green)) is None
