"""The email a reply answers: the headers ``apply`` recorded on the merge
(``apply/notes.py``), else the original pull request email found by its tag in the files
given with ``--emails`` (read within ``apply/email_file.py``'s bounds and by
``apply/emails.py``, as ``apply`` reads them)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from send_mergereq.apply import email_file, notes
from send_mergereq.apply.emails import read_pulls
from send_mergereq.apply.pulls import MailHeaders
from send_mergereq.errors import ConfigError


def read_emails(names: Sequence[str]) -> list[tuple[str, bytes]]:
    """The ``--emails`` files, each read and checked within apply's bounds (size, messages,
    MIME structure), as ``(name, bytes)``.

    :raises ConfigError: a file cannot be read or is out of bounds (naming it).
    """
    files = []
    for name in names:
        data = email_file.read(name)
        email_file.check(data, name)
        files.append((name, data))
    return files


def mail_in(files: Sequence[tuple[str, bytes]], tag: str) -> MailHeaders | None:
    """The headers of the last email among ``files`` (``(name, bytes)``) that asks to pull
    ``tag`` (a resend comes later in a thread); None when none does. A file that holds
    no pull request is passed over.

    :raises ConfigError: a file is out of apply's bounds (``email_file.check``).
    """
    found: MailHeaders | None = None
    for name, data in files:
        email_file.check(data, name)
        try:
            pulls = read_pulls(data, name).pulls
        except ConfigError:
            continue
        for pull in pulls:
            if pull.tag == tag and pull.mail is not None:
                found = pull.mail
    return found


def mail_for(
    repo: Path, merge: str, tag: str, files: Sequence[tuple[str, bytes]] = ()
) -> MailHeaders | None:
    """The email to answer for the pull request merged as ``merge``: apply's record on
    it, else the one in ``files`` that asks for ``tag``."""
    recorded = notes.recorded(repo, merge)
    if recorded is not None:
        return recorded
    return mail_in(files, tag) if tag else None
