"""Plant commits byte for byte in a real repository and read them back as RawCommit."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from send_mergereq.history import RawCommit, parse_commit

ADA = b"Ada Author <ada@example.org>"
MAX = b"Max Maintainer <max@example.org>"
Plant = Callable[..., RawCommit]


@pytest.fixture
def plant(make_repo: Callable[[], object]) -> Plant:
    """``plant(message=b"...", author=..., committer=..., headers=b"", parents=N)``."""
    repo = make_repo()

    def factory(
        message: bytes = b"Subject\n\nSigned-off-by: Ada Author <ada@example.org>\n",
        *,
        author: bytes = ADA,
        committer: bytes = MAX,
        headers: bytes = b"",
        parents: int = 1,
    ) -> RawCommit:
        head = repo.head()  # type: ignore[attr-defined]
        raw = b"tree " + repo.tree().encode() + b"\n"  # type: ignore[attr-defined]
        raw += b"".join(b"parent " + head.encode() + b"\n" for _ in range(parents))
        raw += b"author " + author + b" 1700000000 +0000\n"
        raw += b"committer " + committer + b" 1700000000 +0000\n" + headers + b"\n" + message
        sha = repo.raw_commit(raw)  # type: ignore[attr-defined]
        stored = subprocess.run(
            ["git", "-C", str(repo.path), "cat-file", "commit", sha],  # type: ignore[attr-defined]
            capture_output=True,
            check=True,
        ).stdout
        assert stored == raw
        return parse_commit(sha, stored)

    return factory
