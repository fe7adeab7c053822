"""The pull request a ``git request-pull`` email asks for, and the email's headers (to
reply in its thread): plain values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MailHeaders:
    """The headers of the email a pull request came in, decoded (RFC 2047 words read),
    each on one line; empty when the email had none."""

    message_id: str = ""
    subject: str = ""
    sender: str = ""  # From
    to: str = ""
    cc: str = ""
    date: str = ""
    references: str = ""

    def fields(self) -> list[tuple[str, str]]:
        """``(header name, value)`` for each, in the order a note records them."""
        return [
            ("Message-Id", self.message_id),
            ("Subject", self.subject),
            ("From", self.sender),
            ("To", self.to),
            ("Cc", self.cc),
            ("Date", self.date),
            ("References", self.references),
        ]


@dataclass(frozen=True)
class PullRequest:
    """``git pull URL tag TAG``, promised to contain ``base..head``."""

    url: str
    tag: str
    base: str  # "The following changes since commit <base>"
    head: str  # "for you to fetch changes up to <head>"
    source: str  # where it was read: "pulls.mbox, message 2 ('[PULL] ...')"
    mail: MailHeaders | None = None  # None: given as --url/--tag, not by email

    @property
    def private_ref(self) -> str:
        """Where the fetched tag is kept: never a branch, a tag or a remote-tracking ref."""
        return f"refs/send-mergereq/pulls/{self.tag}"

    def matches_head(self, commit: str) -> bool:
        """Whether ``commit`` is the email's "up to" commit (which may be abbreviated)."""
        return len(self.head) >= 7 and commit.startswith(self.head.lower())
