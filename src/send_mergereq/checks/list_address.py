"""``list-address``: the author is the mailing list, not the person who wrote the patch.

Caught three ways: the author email is one of the profile's list addresses
(shell globs allowed: ``qemu-*@nongnu.org``); the name ends with one of the
profile's list-name suffixes (``via Qemu-devel``); or the name was munged by
the list in the usual DMARC way, ``Jane Doe via Qemu-devel
<qemu-devel@nongnu.org>``, the list's own name in the ``via`` part. The real
author is suggested from the message's Signed-off-by lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import translate
from functools import lru_cache

from send_mergereq.checks.finding import CheckContext, FastPath, Finding, Severity
from send_mergereq.checks.trailers import signoffs, split_ident
from send_mergereq.history import RawCommit, header_value, ident_email, ident_name

ID = "list-address"
SUMMARY = "the author is a mailing list (its address, or a name munged 'via' the list)"
ORDER = 20  # where it comes among the checks (checks/__init__.py)
FAST_PATH = FastPath()  # the shared look covers it (fused.SHARED)
DIGEST = ()  # no action of its own in the report's digest: each hint is said once
_VIA = re.compile(r"^(?P<name>.*?)\s+via\s+(?P<list>\S+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Options:
    severity: Severity = Severity.ERROR


@lru_cache(maxsize=8)
def _addresses(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex for all the address globs (lowercased), compiled once per profile."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{translate(p.lower())})" for p in patterns))


def is_list_address(email: str, ctx: CheckContext) -> bool:
    addresses = _addresses(ctx.list_addresses)
    return bool(addresses and addresses.match(email.lower()))


@lru_cache(maxsize=4096)
def _suspect(ident: bytes, addresses: tuple[str, ...], suffixes: tuple[str, ...]) -> bool:
    """Whether ``Name <email>`` is a list as ``check`` reads it: the very test, once per
    distinct author (authors repeat over a history: cached). (A cheaper look of ASCII
    spaces around ``via`` once let ``Jane Doe\\xa0via\\xa0Qemu-devel`` through, which
    ``check`` reports.)"""
    name = ident_name(ident).decode("utf-8", errors="replace")
    email = ident_email(ident).decode("utf-8", errors="replace")
    ctx = CheckContext(list_addresses=addresses, list_name_suffixes=suffixes)
    return person_behind_list(name, email, ctx) is not None


def _unmunged(name: str, email: str, ctx: CheckContext) -> str | None:
    """The person's name when ``name`` was munged by a list, else None."""
    lowered = " ".join(name.split()).lower()
    for configured in ctx.list_name_suffixes:
        suffix = " ".join(configured.split()).lower()
        if suffix and lowered.endswith(" " + suffix):
            return " ".join(name.split())[: -len(suffix)].strip()
    match = _VIA.match(name.strip())
    if match and match["list"].lower() == email.partition("@")[0].lower():
        return match["name"]
    return None


def _real_author(message: bytes, person: str, ctx: CheckContext) -> str | None:
    """The Signed-off-by that names ``person``, else the first that is not a list."""
    candidates = []
    for value in signoffs(message):
        name, email = (part.decode("utf-8", errors="replace") for part in split_ident(value))
        if email and not is_list_address(email, ctx) and _unmunged(name, email, ctx) is None:
            candidates.append((name, email))
    wanted = person.strip("'\" ").lower()
    named = [c for c in candidates if wanted and c[0].strip("'\" ").lower() == wanted]
    picks = named or candidates
    return f"{picks[0][0]} <{picks[0][1]}>" if picks else None


def clean(head: bytes, message: bytes, ctx: CheckContext, opts: Options) -> bool:
    """Cheap pre-check on the raw object: True only when ``check`` finds nothing."""
    del message, opts
    author = header_value(head, b"author")
    return author is not None and not suspect_author(author, ctx)


def suspect_ident(ident: bytes, ctx: CheckContext) -> bool:
    """Whether ``Name <email>`` may be a list (False: ``check`` finds nothing for it)."""
    return _suspect(ident, ctx.list_addresses, ctx.list_name_suffixes)


def suspect_author(author: bytes, ctx: CheckContext) -> bool:
    """``suspect_ident`` of an ``author`` header's value (``Name <email> date``); one
    without ``<email>`` may be anything."""
    if b">" not in author:
        return True
    return suspect_ident(author[: author.rfind(b">") + 1], ctx)


def person_behind_list(name: str, email: str, ctx: CheckContext) -> tuple[str, str] | None:
    """``(person's name, what is wrong)`` when the author ``name <email>`` is a mailing
    list, else None."""
    person = _unmunged(name, email, ctx)
    if person is not None:
        return person, f"the author name {name!r} was munged by the mailing list"
    if is_list_address(email, ctx):
        return name, f"the author email {email} is a mailing list address"
    return None


def check(commit: RawCommit, ctx: CheckContext, opts: Options) -> Iterator[Finding]:
    name = commit.author_name.decode("utf-8", errors="replace")
    email = commit.author_email.decode("utf-8", errors="replace")
    behind = person_behind_list(name, email, ctx)
    if behind is None:
        return
    person, what = behind
    real = _real_author(commit.message, person, ctx)
    guess = f"; the real author is probably {real} (from Signed-off-by)" if real else ""
    fix = f"--author='{real}'" if real else "--author='Real Name <real@address>'"
    yield Finding(
        ID,
        opts.severity,
        commit.sha,
        f"{what}{guess}",
        f"ask the submaintainer to restore the author (git commit --amend {fix}) "
        "and resend the pull request",
    )
