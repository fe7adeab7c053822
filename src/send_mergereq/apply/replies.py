"""Replies to pull requests, drafted as ``b4 ty`` drafts them for patches: one email per
pull request, in its thread (``In-Reply-To``, ``References``, ``Subject: Re: …``, ``To``
the sender, ``Cc`` the original ``Cc``), saying it was applied (the merge's short id and
the tag), refused (each finding with what to do, and what to resend) or does not merge
(the conflicting files). Pure: outcomes in, email messages and mbox bytes out; never sent.

The bodies are ``string.Template`` texts; the maintainer's git config may name a file
for each (``sendmergereq.replyApplied``, ``sendmergereq.replyRefused``,
``sendmergereq.replyConflict``). Placeholders: ``${first}`` and ``${name}`` (the
sender), ``${tag}``, ``${url}``, ``${branch}``, ``${target}``, ``${merge}`` (short id),
``${commits}``, ``${details}`` (the findings, or the conflicting files), ``${subject}``
and ``${me}`` (the maintainer's name).
"""

from __future__ import annotations

import io
import re
import string
import textwrap
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from send_mergereq.apply.advice import NOT_MERGED, UNWRITTEN
from send_mergereq.apply.outcome import PullOutcome, Result
from send_mergereq.apply.pulls import MailHeaders
from send_mergereq.terminal import visible

APPLIED = """\
Hi ${first},

Applied, thanks: tag '${tag}' (${commits}) is merged into ${branch} as ${merge}.

--\x20
${me}
"""
REFUSED = """\
Hi ${first},

I did not apply tag '${tag}': nothing of it was merged into ${branch}.

${details}

Please fix this and send the pull request again: a new signed tag, pushed, and
'git request-pull' for it.

--\x20
${me}
"""
CONFLICT = """\
Hi ${first},

Tag '${tag}' does not merge cleanly into ${branch}; these files conflict:

${details}

Nothing of it was merged. Please rebase onto the current ${target} (or tell me
how to resolve it), then send the pull request again with a new signed tag.

--\x20
${me}
"""
CONFIG_KEYS = {  # which template the maintainer's git config may replace (a file each)
    "applied": "sendmergereq.replyapplied",
    "refused": "sendmergereq.replyrefused",
    "conflict": "sendmergereq.replyconflict",
}
_MSGID = re.compile(r"<[^<>\s]{1,900}>")
# a mailbox's address: the last <addr-spec> of the value (an RFC 2047 display name,
# recorded decoded, may hold quotes, commas, colons or other <...> of its own)
_ANGLE_ADDR = re.compile(r"<([^<>\s@]{1,200}@[^<>\s@]{1,200})>\s*$")


def mailbox(value: str) -> tuple[str, str]:
    """``(display name, address)`` of a recorded ``From``: the address from its last
    ``<...>`` (a decoded name such as ``Nils Bcc: x@evil`` must not become the address),
    the name before it with its quotes taken off and control characters escaped."""
    found = _ANGLE_ADDR.search(value.strip())
    if found is None:
        name, address = parseaddr(value)
        return visible(name), address
    name = value.strip()[: found.start()].strip().strip('"').strip()
    return visible(name), found.group(1)


_ASK_TO = re.compile(r"\bask the submaintainer to ")
_ASK_FOR = re.compile(r"\bask the submaintainer for ")


@dataclass(frozen=True)
class Templates:
    applied: str = APPLIED
    refused: str = REFUSED
    conflict: str = CONFLICT


@dataclass(frozen=True)
class Context:
    """What every reply of a run shares."""

    branch: str
    target: str
    me: str  # "Max Maintainer <max@example.org>", the From of each reply
    now: datetime
    templates: Templates = Templates()


def wants_reply(outcome: PullOutcome) -> bool:
    """Whether a pull request gets a reply: it came by email and was decided (applied,
    refused, a conflict, or its tag could not be fetched)."""
    return outcome.pull.mail is not None and outcome.result not in (
        Result.SKIPPED, Result.ALREADY_APPLIED,
    )  # fmt: skip


def draft(outcome: PullOutcome, ctx: Context) -> EmailMessage:
    """The reply to ``outcome``'s email, threaded to it."""
    mail = outcome.pull.mail or MailHeaders()
    text = string.Template(_template(outcome, ctx.templates)).safe_substitute(
        _fields(outcome, ctx, mail)
    )
    return threaded(mail, ctx.me, ctx.now, text, tag=outcome.pull.tag)


def threaded(
    mail: MailHeaders, me: str, now: datetime, text: str, *, tag: str, cc: str | None = None
) -> EmailMessage:
    """A reply from ``me`` saying ``text``, in the thread of the email ``mail`` describes:
    ``To`` its sender, ``Cc`` its ``Cc`` (or ``cc``), ``Subject: Re: …`` (``[PULL] TAG``
    when it had none), ``In-Reply-To`` and ``References`` its ``Message-Id``."""
    message = EmailMessage()
    _set(message, "From", me)
    _set(message, "To", formataddr(mailbox(mail.sender)))  # the name quoted as need be
    _set(message, "Cc", mail.cc if cc is None else cc)
    subject = mail.subject or f"[PULL] {tag}"
    subject = visible(subject)  # no raw escape in a draft the maintainer cats or edits
    _set(message, "Subject", subject if subject.lower().startswith("re:") else f"Re: {subject}")
    message["Date"] = format_datetime(now)
    domain = parseaddr(me)[1].rpartition("@")[2] or "send-mergereq.invalid"
    message["Message-Id"] = make_msgid("send-mergereq", domain=domain)
    parent = _MSGID.search(mail.message_id)
    if parent is not None:
        message["In-Reply-To"] = parent.group(0)
        earlier = _MSGID.findall(mail.references)[-20:]
        message["References"] = " ".join(dict.fromkeys([*earlier, parent.group(0)]))
    # 8bit: the maintainer reads and edits the draft; no line is near SMTP's 998
    message.set_content(text, cte="8bit" if _short_lines(text) else None)
    return message


def _short_lines(text: str) -> bool:
    return all(len(line.encode("utf-8")) <= 900 for line in text.splitlines())


def _set(message: EmailMessage, name: str, value: str) -> None:
    """A header from an untrusted email's value: left out when it cannot be written."""
    if not value.strip():
        return
    try:
        message[name] = value
        str(message[name])  # parsed now: an unreadable address fails here, not later
    except Exception:  # the email package's parser fails in many ways
        del message[name]


def _template(outcome: PullOutcome, templates: Templates) -> str:
    if outcome.result is Result.APPLIED:
        return templates.applied
    if outcome.result is Result.CONFLICT:
        return templates.conflict
    return templates.refused


def _fields(outcome: PullOutcome, ctx: Context, mail: MailHeaders) -> dict[str, str]:
    name, address = mailbox(mail.sender)
    name = visible(name or address or "there")  # the email's words: untrusted
    me = parseaddr(ctx.me)[0] or parseaddr(ctx.me)[1]
    count = outcome.commits
    return {
        "first": name.split()[0] if name.split() else name,
        "name": name,
        "tag": outcome.pull.tag,
        "url": visible(outcome.pull.url),
        "branch": ctx.branch,
        "target": ctx.target,
        "merge": (outcome.merge_sha or "")[:12],
        "commits": f"{count} commit{'s' if count != 1 else ''}",
        "details": _details(outcome),
        "subject": visible(mail.subject),
        "me": me,
    }


def _details(outcome: PullOutcome) -> str:
    """The refusal in plain words (each finding and what to do), or the conflicting files."""
    if outcome.result is Result.CONFLICT:
        return "\n".join(f"  {visible(path)}" for path in outcome.conflicts)
    said: list[tuple[str, str]] = []
    errors = [f for f in outcome.findings if str(f.severity) == "error"]
    for finding in errors:
        subject = outcome.subjects.get(finding.commit, "")
        where = ""
        if finding.commit and subject and subject != UNWRITTEN:
            where = f'commit {finding.commit[:12]} ("{subject}"): '
        said.append((where + finding.message, finding.hint))
    if not errors:
        said.append((outcome.reason, outcome.hint))
    lines: list[str] = []
    for what, hint in said:
        lines += _wrapped("- ", what)
        todo = _to_the_sender(hint.removeprefix(f"{NOT_MERGED}: "))  # said once, above
        if todo:
            lines += _wrapped("  What to do: ", todo)
    return "\n".join(lines)


def _to_the_sender(hint: str) -> str:
    """A hint written for the maintainer, as the reply says it to the submaintainer."""
    hint = _ASK_TO.sub("please ", hint)
    hint = _ASK_FOR.sub("please send ", hint)
    return hint[:1].upper() + hint[1:]


def _wrapped(lead: str, text: str) -> list[str]:
    """``text`` after ``lead``, in lines of 72 columns (the rest indented under it); what
    the email said is untrusted: control characters escaped."""
    return textwrap.wrap(
        visible(text), width=72, initial_indent=lead, subsequent_indent="    ",
        break_long_words=False, break_on_hyphens=False,
    ) or [lead.rstrip()]  # fmt: skip


def file_name(number: int, tag: str) -> str:
    """``0001-pull-net.mbox``: numbered in the run's order, the tag made file-safe."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", tag).strip(".-")[:60] or "pull"
    return f"{number:04d}-{safe}.mbox"


def mbox_bytes(message: EmailMessage) -> bytes:
    """One message as an mbox (``git send-email`` and mail clients read it): a ``From ``
    line, headers encoded (RFC 2047 for non-ASCII names), ``From `` in the body quoted."""
    out = io.BytesIO()
    out.write(b"From send-mergereq Thu Jan  1 00:00:00 1970\n")
    generator = BytesGenerator(out, mangle_from_=True, policy=policy.default.clone(linesep="\n"))
    generator.flatten(message)
    return out.getvalue()
