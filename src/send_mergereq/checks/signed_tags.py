"""``signed-tags``: every merge merged a signed tag that verifies and names what was merged.

A pull request is a signed tag; ``git pull <url> <tag>`` (or ``git merge
<tag>``) copies the tag into the merge commit as a ``mergetag`` header. Each
merged parent (every parent but the first) needs such a tag, whose ``object``
is that parent and whose signature git verifies (``ctx.verify_tag``, backed by
``signatures.verify_tags``). Trust: a good signature by any key in the
maintainer's keyring (or ``gpg.ssh.allowedSignersFile``) passes, as gpg's
"undefined" trust is normal for imported submaintainer keys; a project whose
``.send-mergereq.toml`` lists ``trusted-signers`` accepts only those (key
fingerprints, long key ids, SSH principals or ``SHA256:`` SSH key fingerprints).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from send_mergereq.checks.finding import (
    CheckContext,
    DigestAction,
    FastPath,
    Finding,
    Severity,
    TagStatus,
    TagVerification,
)
from send_mergereq.checks.ssh_signature import allowed_signers_line
from send_mergereq.checks.tags import TagHeader, parse_tag, tag_object
from send_mergereq.history import RawCommit, parent_count

ID = "signed-tags"
SUMMARY = "every merge merged a signed tag that verifies and names the merged commit"
ORDER = 30  # where it comes among the checks (checks/__init__.py)
# the shared look covers a non-merge; a merge's tags are verified, never vouched for
FAST_PATH = FastPath(merges=False)
# kinds answered by asking the submaintainer for a (new) signed tag
RESIGN_KINDS = frozenset(
    {
        "untagged",
        "unsigned",
        "bad-signature",
        "damaged-signature",
        "revoked-key",
        "stray-tag",
        "not-a-commit",
        "untrusted-signer",
    }
)
DIGEST = (  # the report's digest: one action per kind of problem (report/digest.py words them)
    DigestAction("fetch-keys", frozenset({"unknown-key"})),
    DigestAction("refresh-keys", frozenset({"expired-key"})),
    DigestAction("certify-keys", frozenset({"refused-trust"})),
    DigestAction("ssh-keys", frozenset({"unknown-ssh-key"})),
    DigestAction("ssh-setup", frozenset({"no-allowed-signers"})),
    DigestAction("resign", RESIGN_KINDS),
)
USES_TAGS = True  # the runner verifies mergetags in one batch for this check

_REDO = "redo the merge from the tag: 'git pull <url> <tag>' (or 'git merge <tag>')"


class _Problem(NamedTuple):
    """A finding's text and, for the report's digest, its kind and the key it is about."""

    message: str
    hint: str
    kind: str
    about: str = ""


@dataclass(frozen=True)
class Options:
    severity: Severity = Severity.ERROR


def clean(head: bytes, message: bytes, ctx: CheckContext, opts: Options) -> bool:
    """Cheap pre-check for the runner: a commit with one parent has nothing to check."""
    del message, ctx, opts
    return parent_count(head) < 2


def check(commit: RawCommit, ctx: CheckContext, opts: Options) -> Iterator[Finding]:
    if not commit.is_merge:
        return
    merged = commit.parents[1:]
    tags = [(raw, parse_tag(tag_object(raw))) for raw in commit.mergetags]
    for raw, tag in tags:
        for problem in _tag_problems(raw, tag, merged, ctx):
            yield Finding(ID, opts.severity, commit.sha, *problem)
    tagged = {tag.object for _, tag in tags}
    strays = any(tag.object not in merged for _, tag in tags)
    named = _merged_tag_name(commit) if len(merged) == 1 else None
    for parent in merged:
        if parent not in tagged and not strays:  # a stray tag's finding already names it
            yield Finding(ID, opts.severity, commit.sha, *_untagged(parent, named))


def _merged_tag_name(commit: RawCommit) -> str | None:
    """The tag a default merge message names ("Merge tag 'pull-x' of ..."), if any."""
    found = re.match(r"Merge tag '([^']+)'", commit.subject)
    return found.group(1) if found else None


def _untagged(parent: str, tag_name: str | None) -> _Problem:
    ask = "ask the submaintainer for a signed pull request ('git tag -s', 'git request-pull')"
    if tag_name:
        return _Problem(
            f"merged tag '{tag_name}' ({parent[:12]}), which is not signed: the merge "
            "carries no mergetag header (a lightweight or unsigned annotated tag)",
            f"{ask}, then {_REDO}",
            "untagged",
        )
    return _Problem(
        f"merged {parent[:12]} without a signed tag (a plain branch merge: no mergetag header)",
        f"{ask}, then {_REDO}",
        "untagged",
    )


def _tag_problems(
    raw: bytes, tag: TagHeader, merged: tuple[str, ...], ctx: CheckContext
) -> Iterator[_Problem]:
    name = f"tag '{tag.name}'" if tag.name else "an unnamed tag"
    if not tag.signed:
        yield _Problem(
            f"{name} is an annotated tag without a signature",
            f"ask the submaintainer to sign it ('git tag -s {tag.name or '<tag>'}'), then {_REDO}",
            "unsigned",
        )
    else:
        for problem in _signature_problems(name, ctx.verify_tag(raw), ctx.trusted_signers):
            if problem.kind == "unknown-ssh-key":  # the line to add, for the digest
                line = allowed_signers_line(tag_object(raw))
                yield problem._replace(about=line or problem.about)
            else:
                yield problem
    if tag.object not in merged:
        what = ", ".join(p[:12] for p in merged)
        yield _Problem(
            f"{name} names {tag.object[:12] or 'no object'}, not a commit this merge merged "
            f"({what})",
            f"the merge does not contain what was signed: {_REDO}",
            "stray-tag",
        )
    elif tag.type != "commit":
        yield _Problem(
            f"{name} tags a {tag.type or 'missing type'}, not a commit",
            "ask the submaintainer for a signed tag of the commit to merge",
            "not-a-commit",
        )


def _signature_problems(
    name: str, result: TagVerification, pins: tuple[str, ...]
) -> Iterator[_Problem]:
    if result.status is TagStatus.GOOD:
        if pins and not is_trusted(result, pins):
            yield _untrusted(name, result)
        return
    describe = _DESCRIBE.get(result.status, _error)
    yield describe(name, result)


def _who(result: TagVerification) -> str:
    if result.uid:
        return f"{result.uid} (key {result.signer})"
    return result.signer or "an unknown signer"


def _untrusted(name: str, result: TagVerification) -> _Problem:
    return _Problem(
        f"{name} is signed by {_who(result)}, who is not among this project's trusted signers",
        f"if they should be, add {result.signer!r} to trusted-signers in .send-mergereq.toml "
        "on the target branch; else ask a trusted submaintainer to send the pull request",
        "untrusted-signer",
        result.signer,
    )


def _bad(name: str, result: TagVerification) -> _Problem:
    return _Problem(
        f"{name}: the signature does not verify: the tag or the merge's copy of it was "
        f"altered after signing ({result.detail})",
        f"do not trust this merge: fetch the tag again from the submaintainer and {_REDO}",
        "bad-signature",
    )


def _unknown(name: str, result: TagVerification) -> _Problem:
    key = result.signer or "?"
    if key.startswith("SHA256:"):
        return _Problem(
            f"{name} is signed with SSH key {key}, which your allowed signers file does not list",
            "add '<principal> <key type> <public key>' for the submaintainer to the file "
            "that gpg.ssh.allowedSignersFile names, then rerun",
            "unknown-ssh-key",
            key,
        )
    return _Problem(
        f"{name} is signed with key {key}, which is not in your keyring",
        f"import the submaintainer's key ('gpg --recv-keys {key}' or 'gpg --import <file>'), "
        "check its fingerprint with them, then rerun",
        "unknown-key",
        result.signer,
    )


def _expired(name: str, result: TagVerification) -> _Problem:
    return _Problem(
        f"{name} has a good signature by {_who(result)}, but the key has expired",
        f"refresh the key, its owner has probably extended it: 'gpg --refresh-keys "
        f"{result.signer}' (or re-import it from them with 'gpg --import'), then rerun",
        "expired-key",
        result.signer,
    )


def _revoked(name: str, result: TagVerification) -> _Problem:
    return _Problem(
        f"{name} is signed by {_who(result)}, but that key has been revoked",
        "do not merge it: ask the submaintainer for a tag signed with their current key "
        f"(if the revocation is stale on your side, 'gpg --refresh-keys {result.signer}')",
        "revoked-key",
        result.signer,
    )


def _refused(name: str, result: TagVerification) -> _Problem:
    return _Problem(
        f"{name} has a good signature by {_who(result)}, but git refuses the key's trust "
        f"level ({result.detail})",
        f"check the fingerprint with the submaintainer and certify it ('gpg --lsign-key "
        f"{result.signer}'), or lower gpg.minTrustLevel",
        "refused-trust",
        result.signer,
    )


def _damaged(name: str, result: TagVerification) -> _Problem:
    return _Problem(
        f"{name}: the signature is damaged, gpg finds no valid signature data in it "
        f"({result.detail.removeprefix('gpg gave no verdict: ')})",
        f"do not trust this merge: fetch the tag again from the submaintainer and {_REDO}",
        "damaged-signature",
    )


def _error(name: str, result: TagVerification) -> _Problem:
    if any(word in result.detail.split() for word in ("NODATA", "BADARMOR")):
        return _damaged(name, result)
    kind = "unverifiable"
    if "allowedSignersFile" in result.detail:
        kind = "no-allowed-signers"
        hint = (
            "point git at your SSH allowed signers: 'git config gpg.ssh.allowedSignersFile "
            "~/.ssh/allowed_signers' (one '<principal> <key type> <public key>' per line)"
        )
    else:
        hint = "make sure 'git verify-tag' works here (gpg, gpgsm or ssh-keygen installed, "
        hint += "gpg.program right), then rerun"
    return _Problem(f"{name} could not be verified: {result.detail}", hint, kind)


_DESCRIBE = {
    TagStatus.BAD: _bad,
    TagStatus.UNKNOWN_KEY: _unknown,
    TagStatus.EXPIRED_KEY: _expired,
    TagStatus.REVOKED_KEY: _revoked,
    TagStatus.UNTRUSTED_KEY: _refused,
}


def is_trusted(result: TagVerification, pins: tuple[str, ...]) -> bool:
    """Whether a pinned signer names this key: a fingerprint, a long key id (a fingerprint's
    last 16+ hex digits), an SSH principal or an SSH key's ``SHA256:`` fingerprint."""
    names = [result.signer, *result.key_ids]
    for pin in pins:
        wanted = _normalise(pin)
        for name in filter(None, names):
            have = _normalise(name)
            if have == wanted or (_is_long_id(wanted) and _is_hex(have) and have.endswith(wanted)):
                return True
    return False


def _normalise(name: str) -> str:
    compact = "".join(name.split())
    compact = compact.removeprefix("0x").removeprefix("0X")
    return compact.upper() if _is_hex(compact) else compact


def _is_long_id(text: str) -> bool:
    return _is_hex(text) and len(text) >= 16  # short (8-digit) ids collide too easily


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdefABCDEF" for c in text)
