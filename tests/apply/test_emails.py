"""Finding the ``git request-pull`` block in emails: pure, no git."""

from __future__ import annotations

import pytest
from pulls_helpers import mail, mbox

from send_mergereq.apply.emails import find_pull, headers_of, read_pulls, split_messages
from send_mergereq.apply.merge import commented, display_url, stripspace
from send_mergereq.errors import ConfigError, ExitCode

BASE, HEAD = "1" * 40, "2" * 40
BLOCK = f"""Hi Max,

The following changes since commit {BASE}:

  Merge tag 'pull-x' of https://gitlab.com/a/qemu into staging (2026-11-01 10:00:00 +0000)

are available in the Git repository at:

  https://gitlab.com/sue/qemu.git {{ref}}

for you to fetch changes up to {HEAD}:

  net: fix it (2026-11-02 10:00:00 +0000)

----------------------------------------------------------------
net queue
"""


@pytest.mark.parametrize("ref", ["pull-net-20261125", "tags/pull-net-20261125"])
def test_the_block_as_request_pull_writes_it(ref: str) -> None:
    pull = find_pull(BLOCK.format(ref=ref), "x.eml")
    assert pull is not None
    assert (pull.url, pull.tag, pull.base, pull.head) == (
        "https://gitlab.com/sue/qemu.git", "pull-net-20261125", BASE, HEAD,
    )  # fmt: skip


def test_a_url_without_a_tag_is_no_pull_request() -> None:
    text = BLOCK.format(ref="").replace("qemu.git ", "qemu.git")
    assert find_pull(text, "x.eml") is None


@pytest.mark.parametrize("cte", [None, "quoted-printable", "base64"])
def test_encoded_bodies(cte: str | None) -> None:
    data = mail(BLOCK.format(ref="tags/pull-a") + "é" * 200, cte=cte).as_bytes()
    (pull,) = read_pulls(data, "a.eml").pulls
    assert pull.tag == "pull-a"
    assert pull.source == "a.eml ('[PULL] pull request')"


def test_format_patch_cover_letter() -> None:
    """``git format-patch --cover-letter`` output is an mbox of one message."""
    data = (
        b"From 2222222222222222222222222222222222222222 Mon Sep 17 00:00:00 2001\n"
        b"From: Sue <sue@example.org>\nSubject: [PULL 0/3] net queue\n\n"
        + BLOCK.format(ref="pull-b").encode()
    )
    (pull,) = read_pulls(data, "0000-cover-letter.patch").pulls
    assert pull.tag == "pull-b"


def quoted(text: str) -> str:
    return "".join(f"> {line}\n" for line in text.splitlines())


def test_a_thread_mbox_passes_over_the_replies_with_one_line_each() -> None:
    """A pull request and the replies quoting it, as a list archive or 'b4 mbox' saves it."""
    request = mail(BLOCK.format(ref="pull-a"))
    request["Message-Id"] = "<pull-a@example.org>"
    reply = mail("Looks good.\n\nOn Mon, Sue wrote:\n" + quoted(BLOCK.format(ref="pull-a")),
                 "Re: [PULL] pull request")  # fmt: skip
    nested = mail("> " + quoted(BLOCK.format(ref="pull-a")), "Re: Re: [PULL] pull request")
    read = read_pulls(mbox(request, reply, nested), "thread.mbox")
    (pull,) = read.pulls
    assert pull.tag == "pull-a"
    assert pull.mail is not None and pull.mail.message_id == "<pull-a@example.org>"
    assert read.passed_over == [
        "thread.mbox, message 2 ('Re: [PULL] pull request'): no 'git request-pull' block, "
        "passed over",
        "thread.mbox, message 3 ('Re: Re: [PULL] pull request'): no 'git request-pull' block, "
        "passed over",
    ]


def test_a_quoted_block_is_no_pull_request() -> None:
    assert find_pull(quoted(BLOCK.format(ref="pull-a")), "x.eml") is None
    indented = "".join(f"  >{line}\n" for line in BLOCK.format(ref="pull-a").splitlines())
    assert find_pull(indented, "x.eml") is None


@pytest.mark.parametrize("count", [1, 2])
def test_input_with_no_pull_request_at_all_is_a_usage_error(count: int) -> None:
    replies = [mail(f"Thanks {n}, applied.", "Re: [PULL]") for n in range(count)]
    with pytest.raises(ConfigError) as caught:
        read_pulls(mbox(*replies), "replies.mbox")
    assert caught.value.exit_code is ExitCode.USAGE
    said = caught.value.message
    if count == 1:
        assert said.startswith("replies.mbox ('Re: [PULL]'): no 'git request-pull' block")
    else:
        assert said == "replies.mbox: none of its 2 messages holds a 'git request-pull' block"


def test_the_headers_a_reply_threads_to_are_decoded() -> None:
    message = mail(BLOCK.format(ref="pull-a"), "[PULL] réseau")
    del message["From"]
    message["From"] = "Jérôme Sous-Mainteneur <jerome@example.org>"
    message["Cc"] = "qemu-devel@nongnu.org, Ana <ana@example.org>"
    message["Message-Id"] = "<20261201.1@example.org>"
    message["References"] = "<cover@example.org>"
    message["Date"] = "Tue, 01 Dec 2026 10:00:00 +0000"
    data = message.as_bytes()
    assert b"=?utf-8?" in data  # the name went out RFC 2047-encoded
    headers = headers_of(data)
    assert headers.sender == "Jérôme Sous-Mainteneur <jerome@example.org>"
    assert headers.subject == "[PULL] réseau"
    assert headers.cc == "qemu-devel@nongnu.org, Ana <ana@example.org>"
    assert (headers.message_id, headers.references) == ("<20261201.1@example.org>",
                                                        "<cover@example.org>")  # fmt: skip
    assert headers.date == "Tue, 01 Dec 2026 10:00:00 +0000"


def test_mboxrd_from_quoting_is_undone() -> None:
    body = BLOCK.format(ref="pull-a") + "\nFrom the list: thanks\n"
    (message,) = split_messages(mbox(mail(body)))
    assert b"\nFrom the list" in message and b">From" not in message


def test_merge_message_helpers() -> None:
    assert display_url("https://host/sue/qemu.git/") == "https://host/sue/qemu"
    assert commented("a\n\nb\n") == "# a\n#\n# b\n"
    assert stripspace("\n\ntitle  \n\n\n\nbody\n# kept\n\n") == "title\n\nbody\n# kept\n"
