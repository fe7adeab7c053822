"""What a signed tag itself says, held against the email that asks for it: its name and
its age. Pure: bytes in, findings' words out.

A signature covers the tag object's own ``tag`` name and ``tagger`` date, not the ref it
is published under: a trusted tag republished under another name, or an old one sent
again, verifies as well as the day it was made. So the name the email asks for must be
the name that was signed, and the signature must be recent (``apply.max-tag-age`` days in
the policy file, measured against the merge's own committer date), and not dated after
it (more than a day ahead: a tag dated in the future would stay fresh for years).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

DEFAULT_MAX_AGE_DAYS = 30
_CLOCK_SKEW = 86400  # seconds a tagger's clock may run ahead of the merge's


def _ident_date(ident: bytes) -> tuple[int, str] | None:
    """``(seconds since the epoch, "+0100")`` from ``Name <email> 1700000000 +0100``."""
    rest = ident[ident.rfind(b">") + 1 :].split() if b">" in ident else []
    if len(rest) != 2 or not rest[0].isdigit() or len(rest[0]) > 12:
        return None
    zone = rest[1].decode("ascii", errors="replace")
    if len(zone) != 5 or zone[0] not in "+-" or not zone[1:].isdigit():
        zone = "+0000"
    return int(rest[0]), zone


def _header(tag: bytes, key: bytes) -> bytes | None:
    for line in tag.partition(b"\n\n")[0].split(b"\n"):
        name, _, value = line.partition(b" ")
        if name == key:
            return value
    return None


def signed_name(tag: bytes) -> str:
    """The ``tag`` header: the name the tagger signed."""
    return (_header(tag, b"tag") or b"").decode("utf-8", errors="replace").strip()


def tagger(tag: bytes) -> str:
    """``Name <email>`` of the ``tagger`` line (anyone can write it), or ""."""
    ident = _header(tag, b"tagger") or b""
    end = ident.rfind(b">")
    return ident[: end + 1].decode("utf-8", errors="replace").strip() if end >= 0 else ""


def tagger_date(tag: bytes) -> tuple[int, str] | None:
    """When the tag was made (its ``tagger`` line), or None when it has no readable date."""
    tagger = _header(tag, b"tagger")
    return _ident_date(tagger) if tagger is not None else None


def committer_date(ident: bytes) -> int | None:
    found = _ident_date(ident)
    return found[0] if found else None


def shown(date: tuple[int, str]) -> str:
    """``2026-12-01 14:03 +0100``: the date as the tagger's own clock said it."""
    seconds, zone = date
    sign = -1 if zone[0] == "-" else 1
    offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])) * sign
    try:
        when = datetime.fromtimestamp(seconds, UTC).astimezone(timezone(offset))
    except (OverflowError, ValueError, OSError):
        return f"@{seconds} {zone}"
    return f"{when:%Y-%m-%d %H:%M} {zone}"


def name_problem(asked: str, tag: bytes) -> tuple[str, str] | None:
    """The tag was signed under another name than the email asks for: (message, hint)."""
    signed = signed_name(tag)
    if signed == asked:
        return None
    return (
        f"tag '{asked}' was signed as '{signed}': the signed tag object names another "
        "tag, so it was republished under a new name (a replayed tag)",
        f"do not merge it: ask the submitter to sign a tag named '{asked}' (git tag -s) "
        "and send the pull request again",
    )


def age_problem(
    asked: str, tag: bytes, now: int | None, max_days: int, allow_old: bool
) -> tuple[str, str] | None:
    """The tag is older than ``max_days`` (or has no date): (message, hint)."""
    if allow_old:
        return None
    date = tagger_date(tag)
    if date is None:
        return (
            f"tag '{asked}' has no tagger date: its age cannot be told",
            "ask the submitter to sign a new tag (git tag -s) and send the pull request "
            "again; --allow-old-tag applies it anyway",
        )
    if now is None or now - date[0] <= max_days * 86400:
        return None
    days = (now - date[0]) // 86400
    return (
        f"tag '{asked}' was signed on {shown(date)}, {days} days ago: older than the "
        f"{max_days} days apply.max-tag-age allows (an old tag sent again?)",
        "ask the submitter for a freshly signed tag; if this old tag is really meant, "
        "rerun with --allow-old-tag",
    )


def future_problem(asked: str, tag: bytes, now: int | None) -> tuple[str, str] | None:
    """The tag is dated more than a day after the merge: (message, hint). Not waived by
    ``--allow-old-tag``: such a date keeps the tag fresh long after it was signed."""
    date = tagger_date(tag)
    if date is None or now is None or date[0] - now <= _CLOCK_SKEW:
        return None
    return (
        f"tag '{asked}' was signed on {shown(date)}, after the merge's own date "
        f"({shown((now, '+0000'))}): a date in the future would keep it within "
        "apply.max-tag-age long after it was signed",
        "ask the submitter to check their clock and sign a new tag (git tag -s); "
        "--allow-old-tag does not apply to a tag dated in the future",
    )
