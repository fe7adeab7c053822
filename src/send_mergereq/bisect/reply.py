"""``bisect --reply DIR``: the reply to the culprit's pull request email, drafted as
``DIR/<tag>.mbox`` (never sent, never overwriting a draft: a second one is
``<tag>-2.mbox``). Threaded to the headers ``apply`` recorded on the merge, else to the
email for the tag in ``--emails FILE``; the text is ``triage/replies.py``'s."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from send_mergereq import git
from send_mergereq.apply.email_file import write_new
from send_mergereq.apply.replies import mbox_bytes
from send_mergereq.errors import ConfigError, ForgeError
from send_mergereq.logtext import log_tail
from send_mergereq.triage import replies
from send_mergereq.triage.mail import mail_for, read_emails
from send_mergereq.triage.sources import read_owners
from send_mergereq.triage.suspects import suspect

if TYPE_CHECKING:
    from send_mergereq.bisect.failure import Failure
    from send_mergereq.bisect.options import BisectOptions
    from send_mergereq.bisect.result import Outcome
    from send_mergereq.config import Settings
    from send_mergereq.gitlab.forge import Forge

LOG_LINES = 60  # of each failed job's log, searched for the pull request's files


def write_reply(
    settings: Settings,
    options: BisectOptions,
    *,
    outcome: Outcome,
    failure: Failure,
    forge: Forge,
    say: Callable[[str], None],
) -> Path | None:
    """Draft the reply to the culprit; its path, or None (said) without an email to answer."""
    culprit = outcome.culprit
    assert culprit is not None and options.reply is not None
    repo = settings.repo
    mail = mail_for(repo, culprit.merge, culprit.tag, read_emails([str(p) for p in options.emails]))
    if mail is None:
        say(f"no reply drafted for {culprit.tag or culprit.merge[:12]}: apply recorded no "
            "email for it; pass the pull request's mbox with --emails FILE")  # fmt: skip
        return None
    jobs = []
    for job in failure.failed:
        try:
            tail = log_tail(forge.job_trace(job.id), LOG_LINES).splitlines()
        except ForgeError:
            tail = []
        named = suspect(job.name, tail, [culprit])
        lines = named.suspects[0].evidence if named.basis == "log" and named.suspects else ()
        jobs.append(replies.FailedJob(job.name, job.web_url, tuple(lines)))
    try:
        owners = read_owners(repo, settings.target)
        owned = tuple(dict.fromkeys(o for j in failure.jobs for o in owners.of_job(j)))
    except ConfigError:
        owned = ()
    k = culprit.k
    text = replies.Culprit(
        tag=culprit.tag, merge=culprit.merge, branch=outcome.branch, jobs=tuple(jobs),
        passing=outcome.url(k - 1), failing=outcome.url(k), owners=owned,
    )  # fmt: skip
    ident = git.ident(repo, "GIT_COMMITTER_IDENT").decode("utf-8", "replace")
    me = ident.rpartition(">")[0] + ">"
    data = mbox_bytes(replies.draft(text, mail, me, datetime.now(UTC)))
    name = replies.file_name(culprit.tag or culprit.merge[:12])
    try:
        path = write_new(options.reply, name, data)
    except OSError as exc:
        say(f"warning: reply not written in {options.reply}: {exc.strerror or exc}")
        return None
    say(f"reply drafted: {path} (not sent)")
    return path
