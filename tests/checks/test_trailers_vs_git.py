"""Differential test: our trailer rules against git's own ``%(trailers)``, on many
messages built from odd-but-real lines (QEMU-style notes, cherry-picks, comments)."""

from __future__ import annotations

import random
import subprocess
from typing import Any

from send_mergereq.checks.trailers import signoffs

LINES = [
    "Signed-off-by: Ada Author <ada@example.org>",
    "Signed-off-by: Bob <bob@example.org>",
    "signed-off-by: Low Case <low@example.org>",
    "Signed-off-by : Spaced <sp@example.org>",
    "Signed-off-by-bot: Not One <no@example.org>",
    "Reviewed-by: Rev Iewer <rev@example.org>",
    "Message-id: 20231120.1234-1-ada@example.org",
    "Cc: qemu-stable@nongnu.org # 8.1",
    'Fixes: 0123456789ab ("block: break things")',
    "  continued text of the line above",
    "(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)",
    "[ mjt: context fixup in hw/foo.c ]",
    "[PMM: tweaked commit message]",
    "Some prose describing the change.",
    "More prose: with a colon inside",
    "Link:https://example.org/x",
    "# a comment-looking line",
    "---",
    "v2: rebased",
    "",
    "   ",
]


def _message(rng: random.Random) -> bytes:
    body = [rng.choice(LINES) for _ in range(rng.randint(0, 9))]
    gap = "\n" if rng.random() < 0.9 else ""
    return ("Subject line\n" + gap + "\n".join(body) + "\n").encode()


def _git(repo: Any, *args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", "-C", str(repo.path), *args], input=stdin, capture_output=True, check=True
    ).stdout


def test_signoffs_agree_with_git(make_repo: Any) -> None:
    repo = make_repo()
    rng = random.Random(1234)
    messages = [_message(rng) for _ in range(500)]
    stream = b"".join(
        b"commit refs/heads/t%d\ncommitter A <a@x> %d +0000\ndata %d\n%s\n" % (n, n, len(m), m)
        for n, m in enumerate(messages)
    )
    _git(repo, "fast-import", "--quiet", stdin=stream)
    fmt = "--format=%H%x00%(trailers:key=Signed-off-by,valueonly,separator=%x1f)%x1e"
    refs = [f"refs/heads/t{n}" for n in range(len(messages))]
    out = _git(repo, "log", "--no-walk=unsorted", fmt, *refs)
    entries = [e.strip(b"\n") for e in out.split(b"\x1e") if e.strip(b"\n")]
    assert len(entries) == len(messages)
    for message, entry in zip(messages, entries, strict=True):
        _, theirs = entry.split(b"\0")
        expected = [b" ".join(v.split()) for v in theirs.split(b"\x1f") if v.strip()]
        ours = [b" ".join(v.split()) for v in signoffs(message)]
        assert ours == expected, message.decode()
