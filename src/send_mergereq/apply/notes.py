"""The pull request's email, recorded on its merge: a git note under
``refs/notes/send-mergereq`` holding the headers a reply threads to (Message-Id, Subject,
From, To, Cc, Date, References), so that later commands can answer in the same thread.

The note stays in the maintainer's repository: ``send-mergereq`` pushes only the branch
(one explicit ``SHA:refs/heads/BRANCH`` refspec), never ``refs/notes/``.
"""

from __future__ import annotations

from pathlib import Path

from send_mergereq import git
from send_mergereq.apply.pulls import MailHeaders, PullRequest

NOTES_REF = "refs/notes/send-mergereq"
_TITLE = "send-mergereq apply: the pull request's email"
_NAMES = {name.lower(): attr for name, attr in (
    ("Message-Id", "message_id"), ("Subject", "subject"), ("From", "sender"), ("To", "to"),
    ("Cc", "cc"), ("Date", "date"), ("References", "references"),
)}  # fmt: skip


def note_text(pull: PullRequest) -> str:
    """The note: a title, then ``Name: value`` lines (values are one line each)."""
    lines = [_TITLE, ""]
    if pull.mail is not None:
        lines += [f"{name}: {value}" for name, value in pull.mail.fields() if value]
    lines += [f"Pull-Url: {pull.url}", f"Pull-Tag: {pull.tag}"]
    return "\n".join(" ".join(line.split()) if line else line for line in lines) + "\n"


def parse_note(text: str) -> MailHeaders | None:
    """The headers a note records, or None when it is not apply's note."""
    if not text.startswith(_TITLE):
        return None
    found: dict[str, str] = {}
    for line in text.splitlines()[1:]:
        name, sep, value = line.partition(": ")
        attr = _NAMES.get(name.lower())
        if sep and attr and attr not in found:
            found[attr] = value
    return MailHeaders(**found)


def record(repo: Path, merge_sha: str, pull: PullRequest) -> None:
    """Attach the pull request's email headers to its merge (replacing an older note)."""
    git.add_note(repo, NOTES_REF, merge_sha, note_text(pull))


def recorded(repo: Path, merge_sha: str) -> MailHeaders | None:
    """The email headers recorded on ``merge_sha``, if any."""
    text = git.read_note(repo, NOTES_REF, merge_sha)
    return parse_note(text) if text is not None else None


def carry(repo: Path, old_sha: str, new_sha: str) -> None:
    """A merge remade (``eject``): the note of ``old_sha``, if any, attached to
    ``new_sha`` too, so a later reply still threads to the pull request's email."""
    text = git.read_note(repo, NOTES_REF, old_sha)
    if text is not None:
        git.add_note(repo, NOTES_REF, new_sha, text)
