"""``signoff``: every non-merge commit carries its author's ``Signed-off-by``.

Read as the DCO anchors read it (checkpatch.pl, the DCO bot): the author's
``Signed-off-by: Name <email>`` on any line of the message counts, matched by
email, case-insensitively. In git's trailer block (the last paragraph, see
``trailers.py``) it passes silently; on another line it passes with a finding of
its own (``outside-trailers``, a warning by default) since git does not see it as
a trailer. A sign-off by the author's name with another email passes with a
warning (``name-only``; names compared ignoring case and accents). A sign-off with
no email address (``Signed-off-by: Jane Doe``, ``<jane at example.org>``)
certifies nothing: it is an error.
Merges are exempt.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from send_mergereq.checks.finding import (
    CheckContext,
    DigestAction,
    FastPath,
    Finding,
    Severity,
)
from send_mergereq.checks.list_address import is_list_address, person_behind_list, suspect_author
from send_mergereq.checks.trailers import signed_off_by, signoffs, split_ident
from send_mergereq.history import RawCommit, header_value, ident_email, parent_count

ID = "signoff"
SUMMARY = "every non-merge commit carries a Signed-off-by trailer for its author"
ORDER = 40  # where it comes among the checks (checks/__init__.py)
FAST_PATH = FastPath()  # the shared look covers it (fused.SHARED)
ASK_KINDS = frozenset({"missing", "no-email"})  # the digest: ask the author for one
DIGEST = (DigestAction("ask-signoff", ASK_KINDS),)


@dataclass(frozen=True)
class Options:
    severity: Severity = Severity.ERROR
    name_only: Severity = Severity.WARNING  # a sign-off by the author's name with another email
    outside_trailers: Severity = Severity.WARNING  # the author's sign-off is not in the trailers


def _text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")


@functools.lru_cache(maxsize=4096)
def _norm_name(name: bytes) -> str:
    """``"José  Müller"`` and ``'jose muller'`` compare equal: case, accents, spacing.
    (Names repeat over a history: cached.)"""
    text = unicodedata.normalize("NFKD", _text(name).strip("\"' "))
    bare = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


# a line that is a sign-off once stripped (bytes.strip: ASCII whitespace), any case
_LOOSE_SIGNOFF = re.compile(
    rb"^[ \t\r\x0b\x0c]*signed-off-by:([^\n]*)", re.IGNORECASE | re.MULTILINE
)


def _loose_signoffs(message: bytes) -> list[bytes]:
    """Sign-off lines anywhere in the message, trailer or not."""
    return [value.strip() for value in _LOOSE_SIGNOFF.findall(message)]


def _match(
    values: list[bytes], name: bytes, email: bytes, *, emailed: bool = True
) -> tuple[bytes | None, bytes | None]:
    """The sign-off matching the author by email, else the one matching by name (with an
    email of its own unless ``emailed`` is False: a bare name certifies nothing)."""
    by_name = None
    for value in values:
        so_name, so_email = split_ident(value)
        if email and so_email.lower() == email.lower():
            return value, None
        if (
            by_name is None
            and name
            and (b"@" in so_email or not emailed)
            and (_norm_name(so_name) == _norm_name(name))
        ):
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
    if not suspect_author(commit.author, ctx):
        return False  # no list at all (the cached first look): the usual author
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
    _, by_name = _match(values, behind[0].encode(), b"", emailed=False)
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
    # no "signed-off-by" in any case anywhere: no trailer or line to read (an old
    # history's commits; u-boot's first years: 5,300 of them)
    mentioned = b"signed-off-by" in commit.message.lower()
    exact, by_name = _match(signoffs(commit.message), name, email) if mentioned else (None, None)
    if exact or _signed_by_person_behind_list(commit, ctx):
        return
    loose = _loose_signoffs(commit.message) if mentioned else []
    loose_exact, loose_name = _match(loose, name, email)
    who = f"{_text(name)} <{_text(email)}>"
    if loose_exact is not None:
        if opts.outside_trailers is not Severity.OFF:
            yield Finding(
                ID,
                opts.outside_trailers,
                commit.sha,
                f"the author's Signed-off-by is not in the trailer block (last paragraph): "
                f"git does not see it as a trailer ({who})",
                "move the Signed-off-by line into the last paragraph of the message",
                "outside-trailers",
                who,
            )
        return
    by_name = by_name or loose_name
    if by_name is not None:
        if opts.name_only is not Severity.OFF:
            yield Finding(
                ID,
                opts.name_only,
                commit.sha,
                f"signed off as {_text(by_name)}, not with the author's email {_text(email)}",
                "fine if it is the same person; else ask for a sign-off from the author",
                "name-only",
                who,
            )
        return
    yield _missing(commit, opts, who, loose)


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
        "no-author",
    )


def _missing(commit: RawCommit, opts: Options, who: str, loose: list[bytes]) -> Finding:
    """No e-mailed sign-off by the author anywhere: an error, naming what is there."""
    author = _norm_name(commit.author_name)
    bare = [v for v in loose if b"@" not in split_ident(v)[1]]
    if any(_norm_name(split_ident(v)[0]) == author for v in bare):
        return Finding(
            ID,
            opts.severity,
            commit.sha,
            f"the author's sign-off has no email address ({who}): "
            "a Signed-off-by without an email is no DCO sign-off",
            "ask the author to resend with 'git commit --amend -s' "
            "(Signed-off-by: Name <email>); do not add it for them",
            "no-email",
            who,
        )
    seen = f" (signed off only by {', '.join(_text(v) for v in loose)})" if loose else ""
    return Finding(
        ID,
        opts.severity,
        commit.sha,
        f"no Signed-off-by from the author {who}{seen}",
        "ask the author to certify the DCO and resend the patch with "
        "'git commit --amend -s' (or 'git rebase --signoff'); do not add it for them",
        "missing",
        who,
    )
