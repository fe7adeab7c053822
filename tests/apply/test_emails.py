"""Finding the ``git request-pull`` block in emails: pure, no git."""

from __future__ import annotations

import pytest
from pulls_helpers import mail, mbox

from send_mergereq.apply.emails import find_pull, read_pulls, split_messages
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
    (pull,) = read_pulls(data, "a.eml")
    assert pull.tag == "pull-a"
    assert pull.source == "a.eml ('[PULL] pull request')"


def test_format_patch_cover_letter() -> None:
    """``git format-patch --cover-letter`` output is an mbox of one message."""
    data = (
        b"From 2222222222222222222222222222222222222222 Mon Sep 17 00:00:00 2001\n"
        b"From: Sue <sue@example.org>\nSubject: [PULL 0/3] net queue\n\n"
        + BLOCK.format(ref="pull-b").encode()
    )
    (pull,) = read_pulls(data, "0000-cover-letter.patch")
    assert pull.tag == "pull-b"


def test_an_mbox_message_without_a_block_is_named() -> None:
    data = mbox(mail(BLOCK.format(ref="pull-a")), mail("Thanks, applied.", "Re: [PULL]"))
    with pytest.raises(ConfigError) as caught:
        read_pulls(data, "pulls.mbox")
    assert caught.value.exit_code is ExitCode.USAGE
    assert "pulls.mbox, message 2 ('Re: [PULL]'): no 'git request-pull' block" in (
        caught.value.message
    )


def test_mboxrd_from_quoting_is_undone() -> None:
    body = BLOCK.format(ref="pull-a") + "\nFrom the list: thanks\n"
    (message,) = split_messages(mbox(mail(body)))
    assert b"\nFrom the list" in message and b">From" not in message


def test_merge_message_helpers() -> None:
    assert display_url("https://host/sue/qemu.git/") == "https://host/sue/qemu"
    assert commented("a\n\nb\n") == "# a\n#\n# b\n"
    assert stripspace("\n\ntitle  \n\n\n\nbody\n# kept\n\n") == "title\n\nbody\n# kept\n"
