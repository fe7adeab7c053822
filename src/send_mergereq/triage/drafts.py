"""``--reply DIR`` on a closed gate: a reply drafted for each suspect, ``DIR/<tag>.mbox``,
threaded to the pull request's email (apply's record on its merge, else the ``--emails``
file's email for its tag: ``mail.py``), never sent and never over an earlier draft. The
words are ``replies.py``'s (pure); this module finds the email and writes the file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from send_mergereq.apply.email_file import write_new
from send_mergereq.apply.replies import mbox_bytes
from send_mergereq.terminal import visible
from send_mergereq.triage.closed_gate import Triage
from send_mergereq.triage.mail import mail_for
from send_mergereq.triage.replies import Culprit, FailedJob, draft, file_name


@dataclass(frozen=True)
class Drafted:
    """The drafts written (their paths) and what was said about the others."""

    written: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def suspects_of(found: Triage, urls: dict[str, str]) -> list[Culprit]:
    """Each pull request some failing job suspects, once, oldest first: the jobs that
    suspect it (with their URL from ``urls``, and the log lines that name its files when
    the log is the evidence) and those jobs' owners."""
    order = {p.merge: p.k for p in found.pulls}
    by_merge: dict[str, tuple[str, list[FailedJob], list[str]]] = {}
    for suspicion in found.suspicions:
        for s in suspicion.suspects:
            _, jobs, owners = by_merge.setdefault(s.merge, (s.tag, [], []))
            lines = s.evidence if suspicion.basis == "log" else ()
            jobs.append(FailedJob(suspicion.job, urls.get(suspicion.job, ""), tuple(lines)))
            owners += [o for o in found.owners.of_job(suspicion.job) if o not in owners]
    return [
        Culprit(tag, merge, found.branch, tuple(jobs), owners=tuple(owners))
        for merge, (tag, jobs, owners) in sorted(by_merge.items(), key=lambda i: order.get(i[0], 0))
    ]


def write_replies(
    repo: Path,
    found: Triage,
    urls: dict[str, str],
    directory: Path,
    *,
    emails: Sequence[tuple[str, bytes]],
    me: str,
    now: datetime,
) -> Drafted:
    """A draft in ``directory`` for each suspect whose email is known.

    :raises ConfigError: an ``--emails`` file is out of bounds. :raises GitError: git fails.
    """
    written: list[str] = []
    notes: list[str] = []
    for culprit in suspects_of(found, urls):
        name = visible(culprit.tag or culprit.merge[:12])
        mail = mail_for(repo, culprit.merge, culprit.tag, emails)
        if mail is None:
            notes.append(
                f"no reply drafted for {name}: no email recorded on its merge by apply, "
                "and none for its tag in --emails"
            )
            continue
        data = mbox_bytes(draft(culprit, mail, me, now))
        try:
            written.append(str(write_new(directory, file_name(culprit.tag or culprit.merge), data)))
        except OSError as exc:
            notes.append(f"no reply drafted for {name}: {visible(str(exc.strerror or exc))}")
    return Drafted(tuple(written), tuple(notes))
