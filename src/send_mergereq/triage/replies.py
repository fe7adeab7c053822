"""The reply to a pull request that broke the gate, drafted, never sent: in the thread of
its email (the headers ``apply`` recorded, ``apply/notes.py``), with the failing jobs
and their URLs, the log lines that name its files (about 20 at most) and, when
bisection found it, the two pipelines that tell. ``Cc`` adds the jobs' owners to the
original ``Cc``. Pure: the threading and the mbox are ``apply/replies.py``'s."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

from send_mergereq.apply.pulls import MailHeaders
from send_mergereq.apply.replies import mailbox, threaded
from send_mergereq.terminal import visible

MAX_QUOTED = 20  # log lines quoted in one reply
MAX_LINE = 200  # characters of one quoted line

CULPRIT = """\
Hi ${first},

Tag '${tag}' (merged as ${merge})
breaks the CI gate of ${branch}: ${count} failed.

${jobs}
${bisection}
I cannot merge it as it is. Please fix it and send the pull request again: a new
signed tag, pushed, and 'git request-pull' for it.

--\x20
${me}
"""


@dataclass(frozen=True)
class FailedJob:
    """A gating job that failed, its web URL, and the log lines naming the pull's files."""

    name: str
    url: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Culprit:
    """What the reply says: the pull request, the jobs it breaks, and the pipelines of the
    prefix without it (``passing``) and with it (``failing``) when bisection ran."""

    tag: str
    merge: str
    branch: str
    jobs: tuple[FailedJob, ...]
    passing: str = ""
    failing: str = ""
    owners: tuple[str, ...] = ()  # the failing jobs' owners, added to Cc


def draft(culprit: Culprit, mail: MailHeaders, me: str, now: datetime) -> EmailMessage:
    """The reply to the pull request's email ``mail`` (apply's recorded headers)."""
    name, address = mailbox(mail.sender)
    name = visible(name or address or "there")
    fields = {
        "first": name.split()[0] if name.split() else name,
        "tag": visible(culprit.tag),
        "merge": culprit.merge[:12],
        "branch": visible(culprit.branch),
        "count": f"{len(culprit.jobs)} job{'s' if len(culprit.jobs) != 1 else ''}",
        "jobs": _jobs(culprit.jobs),
        "bisection": _bisection(culprit),
        "me": parseaddr(me)[0] or parseaddr(me)[1],
    }
    text = string.Template(CULPRIT).safe_substitute(fields)
    return threaded(mail, me, now, text, tag=culprit.tag, cc=cc_with(mail, culprit.owners))


def _jobs(jobs: Sequence[FailedJob]) -> str:
    budget = MAX_QUOTED
    out: list[str] = []
    for job in jobs:
        out.append(f"  {visible(job.name)}  {visible(job.url)}".rstrip())
        quoted = job.lines[: max(0, budget)]
        budget -= len(quoted)
        out += [f"    > {_cut(visible(line))}" for line in quoted]
        if len(quoted) < len(job.lines):
            out.append(f"    > [{len(job.lines) - len(quoted)} more lines in the job's log]")
    return "\n".join(out) + "\n"


def _cut(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "\u2026"


def _bisection(culprit: Culprit) -> str:
    if not (culprit.passing and culprit.failing):
        return ""
    return (
        f"Bisection: {visible(culprit.branch)} up to the merge before it passes these jobs,\n"
        f"  {visible(culprit.passing)}\n"
        f"and up to its merge fails them:\n"
        f"  {visible(culprit.failing)}\n\n"
    )


def cc_with(mail: MailHeaders, owners: Sequence[str]) -> str:
    """The original ``Cc`` plus each owner not already among ``To`` and ``Cc``."""
    present = {a.lower() for _, a in getaddresses([mail.sender, mail.cc]) if a}
    added = []
    for owner in owners:
        address = parseaddr(owner)[1].lower()
        if address and address not in present:
            present.add(address)
            added.append(owner)
    return ", ".join(part for part in (mail.cc.strip(), *added) if part)


def file_name(tag: str) -> str:
    """``DIR/<tag>.mbox``: the tag made file-safe."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", tag).strip(".-")[:80] or "pull"
    return f"{safe}.mbox"
