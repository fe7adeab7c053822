"""The pull request a ``git request-pull`` email asks for: a plain value."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PullRequest:
    """``git pull URL tag TAG``, promised to contain ``base..head``."""

    url: str
    tag: str
    base: str  # "The following changes since commit <base>"
    head: str  # "for you to fetch changes up to <head>"
    source: str  # where it was read: "pulls.mbox, message 2 ('[PULL] ...')"

    @property
    def private_ref(self) -> str:
        """Where the fetched tag is kept: never a branch, a tag or a remote-tracking ref."""
        return f"refs/send-mergereq/pulls/{self.tag}"

    def matches_head(self, commit: str) -> bool:
        """Whether ``commit`` is the email's "up to" commit (which may be abbreviated)."""
        return len(self.head) >= 7 and commit.startswith(self.head.lower())
