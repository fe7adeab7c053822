"""triage/replies.py: the reply to the pull request that broke the gate, threaded to the
email ``apply`` recorded on its merge."""

from __future__ import annotations

import email
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy

from triage_helpers import pull

from gitrepo import Repo
from send_mergereq.apply import notes
from send_mergereq.apply.pulls import MailHeaders, PullRequest
from send_mergereq.apply.replies import mbox_bytes
from send_mergereq.triage.replies import Culprit, FailedJob, cc_with, draft, file_name

ME = "Max Maintainer <max@example.org>"
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
MAIL = MailHeaders(
    message_id="<20261201.pull-net@net.example.org>",
    subject="[PULL 0/3] Net patches",
    sender="Nils Net <nils@net.example.org>",
    to="qemu-devel@nongnu.org",
    cc="Jason Wang <jasowang@example.org>",
    references="<cover@net.example.org>",
)
JOB = FailedJob(
    "cross-arm64-system",
    "http://127.0.0.1:1/sandbox/demo/-/jobs/7012",
    ("FAILED: libcommon.fa.p/net/tap.c.o", "../net/tap.c:42:5: error: implicit declaration"),
)


def parsed(message: email.message.EmailMessage) -> email.message.EmailMessage:
    raw = mbox_bytes(message).split(b"\n", 1)[1]  # past the mbox From line
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def test_the_reply_threads_to_the_recorded_email(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo()
    merge = pull(repo, "pull-net", {"net/tap.c": "x"})
    request = PullRequest("https://net.example.org/qemu.git", "pull-net", "0" * 40, "1" * 40,
                          "pulls.mbox, message 1", MAIL)  # fmt: skip
    notes.record(repo.path, merge, request)
    recorded = notes.recorded(repo.path, merge)
    assert recorded is not None
    culprit = Culprit(
        "pull-net",
        merge,
        "staging",
        (JOB,),
        passing="http://127.0.0.1:1/sandbox/demo/-/pipelines/1003",
        failing="http://127.0.0.1:1/sandbox/demo/-/pipelines/1004",
        owners=("Alex Arm <alex@example.org>", "jasowang@example.org"),
    )
    reply = parsed(draft(culprit, recorded, ME, NOW))
    assert reply["From"] == ME
    assert reply["To"] == "Nils Net <nils@net.example.org>"
    # the owners join the original Cc; one already there is not added twice
    assert reply["Cc"] == "Jason Wang <jasowang@example.org>, Alex Arm <alex@example.org>"
    assert reply["Subject"] == "Re: [PULL 0/3] Net patches"
    assert reply["In-Reply-To"] == "<20261201.pull-net@net.example.org>"
    assert reply["References"] == "<cover@net.example.org> <20261201.pull-net@net.example.org>"
    body = reply.get_content()
    assert body.startswith("Hi Nils,\n\nTag 'pull-net' (merged as ")
    assert f"(merged as {merge[:12]})\nbreaks the CI gate of staging: 1 job failed." in body
    assert max(len(line) for line in body.splitlines() if not line.startswith("    >")) <= 80
    assert "  cross-arm64-system  http://127.0.0.1:1/sandbox/demo/-/jobs/7012\n" in body
    assert "    > ../net/tap.c:42:5: error: implicit declaration\n" in body
    assert "/pipelines/1003\nand up to its merge fails them:\n  http" in body
    assert body.rstrip().endswith("-- \nMax Maintainer")


def test_at_most_twenty_log_lines_are_quoted() -> None:
    many = tuple(f"../net/tap.c:{n}: error: e" for n in range(30))
    jobs = (FailedJob("a", "u1", many[:15]), FailedJob("b", "u2", many[15:]))
    body = parsed(draft(Culprit("pull-net", "f" * 40, "staging", jobs), MAIL, ME, NOW))
    text = body.get_content()
    assert text.count("    > ../net/tap.c:") == 20
    assert "    > [10 more lines in the job's log]" in text
    assert "2 jobs failed" in text
    assert "Bisection" not in text  # no bisection ran


def test_untrusted_text_is_escaped_and_without_a_record_the_tag_names_it() -> None:
    job = FailedJob("evil", "u", ("../net/tap.c:1: \x1b]0;owned\x07 error",))
    reply = parsed(draft(Culprit("pull-net", "f" * 40, "staging", (job,)), MailHeaders(), ME, NOW))
    assert "\x1b" not in reply.get_content() and "\\x1b" in reply.get_content()
    assert reply["Subject"] == "Re: [PULL] pull-net"
    assert reply["In-Reply-To"] is None and reply["To"] is None


def test_cc_and_file_names() -> None:
    assert cc_with(MailHeaders(sender="a@x.org"), ["A <A@x.org>", "b@x.org"]) == "b@x.org"
    assert file_name("pull-net-20261207") == "pull-net-20261207.mbox"
    assert file_name("../../etc/passwd") == "etc-passwd.mbox"


def test_a_decoded_display_name_cannot_readdress_the_reply() -> None:
    """The recorded From is decoded: an RFC 2047 name ``Nils\\nBcc: x@evil`` reads
    ``Nils Bcc: x@evil <nils@…>``, which the email package takes for a group holding
    x@evil. The reply goes to the address in the last <…>, the name quoted; a raw
    escape in the Subject is escaped."""
    hostile = MailHeaders(
        message_id="<m@net.example.org>",
        subject="[PULL] \x1b[2Jnet",
        sender="Nils Bcc: x@evil <nils@net.example.org>",
    )
    reply = parsed(draft(Culprit("pull-net", "f" * 40, "staging", (JOB,)), hostile, ME, NOW))
    (to,) = reply["To"].addresses
    assert to.addr_spec == "nils@net.example.org" and to.display_name == "Nils Bcc: x@evil"
    assert "\x1b" not in reply["Subject"] and "\\x1b[2J" in reply["Subject"]
    assert reply.get_content().startswith("Hi Nils,")
