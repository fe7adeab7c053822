"""``signoff``: every non-merge commit carries its author's ``Signed-off-by``.

The sign-off must be a trailer by git's rules (the last paragraph, see
``trailers.py``) and match the author's email, case-insensitively. A sign-off
that matches the author's name but not the email satisfies the rule with a
warning (``name-only``), as checkpatch.pl does (names compared ignoring case and
accents); one written outside the trailer block is not a trailer to git: it is
reported on its own (``outside-trailers``, an error by default) so the fix is clear.
Merges are exempt.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from send_mergereq.checks.finding import CheckContext, Finding, Severity
from send_mergereq.checks.list_address import is_list_address, person_behind_list
from send_mergereq.checks.trailers import signed_off_by, signoffs, split_ident
from send_mergereq.history import RawCommit, header_value, ident_email, parent_count

ID = "signoff"
SUMMARY = "every non-merge commit carries a Signed-off-by trailer for its author"


@dataclass(frozen=True)
class Options:
    severity: Severity = Severity.ERROR
    name_only: Severity = Severity.WARNING  # a sign-off by the author's name with another email
    outside_trailers: Severity = Severity.ERROR  # the author's sign-off is not in the trailers


def _text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")


def _norm_name(name: bytes) -> str:
    """``"José  Müller"`` and ``'jose muller'`` compare equal: case, accents, spacing."""
    text = unicodedata.normalize("NFKD", _text(name).strip("\"' "))
    bare = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def _loose_signoffs(message: bytes) -> list[bytes]:
    """Sign-off lines anywhere in the message, trailer or not."""
    prefix = b"signed-off-by:"
    lines = (line.strip() for line in message.split(b"\n"))
    return [line[len(prefix) :].strip() for line in lines if line.lower().startswith(prefix)]


def _match(values: list[bytes], name: bytes, email: bytes) -> tuple[bytes | None, bytes | None]:
    """The sign-off matching the author by email, else the one matching by name."""
    by_name = None
    for value in values:
        so_name, so_email = split_ident(value)
        if email and so_email.lower() == email.lower():
            return value, None
        if by_name is None and name and _norm_name(so_name) == _norm_name(name):
            by_name = value
    return None, by_name


def clean(head: bytes, message: bytes, ctx: CheckContext, opts: Options) -> bool:
    """Cheap pre-check on the raw object: True only when ``check`` finds nothing."""
    del ctx, opts
    if parent_count(head) > 1:
        return True  # merges are exempt
    email = ident_email(header_value(head, b"author") or b"")
    return bool(email) and signed_off_by(message, email)


def _signed_by_person_behind_list(commit: RawCommit, ctx: CheckContext) -> bool:
    """The author is a mailing list (``list-address`` reports it) and the person it hides
    signed off: the sign-off is there, under the person's own address."""
    email = _text(commit.author_email)
    behind = person_behind_list(_text(commit.author_name), email, ctx)
    if behind is None:
        return False
    values = signoffs(commit.message)
    person = behind[0].strip().lower()
    if not person or "@" in person or person == email.partition("@")[0].lower():
        # the list's own name hides the person: any person's sign-off (list-address
        # suggests them as the real author)
        emails = (_text(split_ident(value)[1]) for value in values)
        return any(found and not is_list_address(found, ctx) for found in emails)
    _, by_name = _match(values, behind[0].encode(), b"")
    return by_name is not None


def check(commit: RawCommit, ctx: CheckContext, opts: Options) -> Iterator[Finding]:
    if commit.is_merge:
        return
    name, email = commit.author_name, commit.author_email
    if email and signed_off_by(commit.message, email):  # the common case, quickly
        return
    if not email:
        yield _no_author(commit, opts)
        return
    who = f"{_text(name)} <{_text(email)}>"
    exact, by_name = _match(signoffs(commit.message), name, email)
    if exact or _signed_by_person_behind_list(commit, ctx):
        return
    if by_name is not None:
        if opts.name_only is not Severity.OFF:
            yield Finding(
                ID,
                opts.name_only,
                commit.sha,
                f"signed off as {_text(by_name)}, not with the author's email {_text(email)}",
                "fine if it is the same person; else ask for a sign-off from the author",
            )
        return
    yield from _missing(commit, opts, who)


def _no_author(commit: RawCommit, opts: Options) -> Finding:
    """A malformed commit (git fsck: missingAuthor, missingEmail): no author to match."""
    what = (
        f"the author line {_text(commit.author)!r} has no <email>"
        if commit.author
        else "the commit has no author line"
    )
    return Finding(
        ID,
        opts.severity,
        commit.sha,
        f"{what} (a malformed commit object): its sign-off cannot be matched to an author",
        "ask the submitter to recreate the commit with git (git commit --amend "
        "--reset-author, with user.name and user.email set) and resend the pull request",
    )


def _missing(commit: RawCommit, opts: Options, who: str) -> Iterator[Finding]:
    loose_exact, loose_name = _match(
        _loose_signoffs(commit.message), commit.author_name, commit.author_email
    )
    if loose_exact or loose_name:
        if opts.outside_trailers is not Severity.OFF:
            yield Finding(
                ID,
                opts.outside_trailers,
                commit.sha,
                f"the author's Signed-off-by is not in the trailer block (last paragraph): "
                f"git does not see it as a trailer ({who})",
                "move the Signed-off-by line into the last paragraph of the message",
            )
        return
    others = signoffs(commit.message)
    seen = f" (signed off only by {', '.join(_text(v) for v in others)})" if others else ""
    yield Finding(
        ID,
        opts.severity,
        commit.sha,
        f"no Signed-off-by from the author {who}{seen}",
        "ask the author to certify the DCO and resend the patch with "
        "'git commit --amend -s' (or 'git rebase --signoff'); do not add it for them",
    )
