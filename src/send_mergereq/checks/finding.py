"""The shared vocabulary of checks: severities, findings, what a check may see, and what
a check module declares of the fast path (``FastPath``) and of the report's digest
(``DigestAction``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from send_mergereq.checks.encodings import valid_text


class Severity(StrEnum):
    """How much a finding matters; ``off`` disables a check."""

    ERROR = "error"
    WARNING = "warning"
    OFF = "off"


@dataclass(frozen=True)
class Finding:
    """One problem with one commit. ``message`` says what is wrong, ``hint`` what to do."""

    check: str
    severity: Severity
    commit: str  # full 40-hex id
    message: str
    hint: str = ""
    # For the report's digest, as data rather than words in the message: what sort of
    # problem this is within its check (e.g. "unknown-key", "untagged", "missing") and
    # what the action is about (the key id or SSH fingerprint, the author "Name <email>").
    kind: str = ""
    about: str = ""

    def __post_init__(self) -> None:
        # Valid Unicode whatever a check read: --json, JUnit, Code Quality and the terminal
        # can write every finding (a lone surrogate from a decoder could not be written).
        for name in ("message", "hint", "about"):
            value = getattr(self, name)
            if not value.isascii():
                object.__setattr__(self, name, valid_text(value))


class TagStatus(StrEnum):
    """What git said of a tag rebuilt from a merge's ``mergetag`` header."""

    GOOD = "good"
    UNSIGNED = "unsigned"  # an annotated tag without a signature
    BAD = "bad"  # the signature does not verify: the tag was altered
    UNKNOWN_KEY = "unknown-key"  # no public key for it in the keyring
    EXPIRED_KEY = "expired-key"
    REVOKED_KEY = "revoked-key"
    UNTRUSTED_KEY = "untrusted-key"  # a good signature git refuses: below gpg.minTrustLevel
    ERROR = "error"  # git or gpg failed in another way


@dataclass(frozen=True)
class TagVerification:
    """The result of ``git verify-tag --raw`` on one rebuilt tag."""

    status: TagStatus
    signer: str = ""  # fingerprint, key id or SSH principal, as git reports it
    detail: str = ""  # the line of gpg/ssh output that decided it
    uid: str = ""  # the key's user id ("Jane Doe <jane@example.org>"), when gpg names it
    key_ids: tuple[str, ...] = ()  # other names of the same key: subkey fingerprint, SSH SHA256:...


def _no_verifier(tag: bytes) -> TagVerification:  # pragma: no cover - replaced by the runner
    del tag
    return TagVerification(TagStatus.ERROR, detail="no tag verifier configured")


@dataclass(frozen=True)
class CheckContext:
    """Everything a check may consult beyond the commit itself: plain data plus one callable."""

    list_addresses: tuple[str, ...] = ()
    list_name_suffixes: tuple[str, ...] = ()  # e.g. "via Qemu-devel", matched case-insensitively
    trusted_signers: tuple[str, ...] = ()  # empty: any key the keyring trusts
    verify_tag: Callable[[bytes], TagVerification] = field(default=_no_verifier)


@dataclass(frozen=True)
class FastPath:
    """How a check takes part in the fused fast path, as its module's ``FAST_PATH`` says
    (``FAST_PATH = None``: it does not, and every commit of a range, clean or not, goes
    through the check's own ``clean`` or ``check``: a 100,000 commit range is slower).

    The fused path looks at each raw commit once (``checks/fused.py``): the shared look,
    written for the built-in checks (``fused.SHARED``), then each fused check's ``vouch``.
    A commit they all vouch for is never parsed and no check runs on it.
    """

    # vouch(raw, ctx, opts): a cheap look at the whole raw commit object that is True only
    # when ``check`` would find nothing on it (asked after the shared look said yes: a
    # usual commit, valid UTF-8, no NUL, signed off by an author that is no list). None:
    # the shared look already implies it, which holds only for the checks it was written
    # for (``fused.SHARED``; a test proves it for each).
    vouch: Callable[[bytes, CheckContext, Any], bool] | None = None
    # whether the merge fast path (``fused.fused_merge_clean``) may vouch for merges too;
    # False: every merge goes through the check (signed-tags verifies their tags)
    merges: bool = True


@dataclass(frozen=True)
class DigestAction:
    """One action of the report's digest, answering every finding of some ``kinds`` of a
    check at once (its module's ``DIGEST``, in the order the digest says them).
    ``action`` names how ``report/digest.py`` words it: ``fetch-keys``, ``refresh-keys``,
    ``certify-keys``, ``ssh-keys``, ``ssh-setup``, ``resign`` or ``ask-signoff``. A
    finding no action takes is answered by its ``hint``, said once per check and kind."""

    action: str
    kinds: frozenset[str]
