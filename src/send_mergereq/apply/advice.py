"""What ``apply`` tells the maintainer about one pull request, in its own words: a refusal's
hint as it reads when nothing was merged, and what an applied pull request is worth a
note about. Pure.

The ``signed-tags`` check speaks of a merge that exists (``send-mergereq staging`` checks
merges already made): "redo the merge". ``apply`` refuses before it merges, so its hints
say that nothing was merged and what the submaintainer sends instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from send_mergereq.checks.finding import Finding, TagStatus, TagVerification

UNWRITTEN = "(the merge apply would make: not written)"
NOT_MERGED = "nothing was merged"
_RESEND = "push it and send the pull request again ('git request-pull')"
_HINTS = {  # the finding's kind -> what to do, when the tag was not merged
    "unsigned": "ask the submaintainer to sign the tag ('git tag -s -f {tag} <commit>'), "
    + _RESEND,
    "untagged": "ask the submaintainer for a signed tag ('git tag -s {tag} <commit>'), " + _RESEND,
    "bad-signature": "do not trust this tag: ask the submaintainer to check it, " + _RESEND,
    "damaged-signature": "do not trust this tag: ask the submaintainer to sign it again, "
    + _RESEND,
    "stray-tag": "ask the submaintainer for a signed tag of the commit to merge, " + _RESEND,
}
# gpg's words when the key is in the keyring but nobody certified it (gpg's "undefined"
# trust); git verify-tag passes it, and the merge message records it as a comment line
UNCERTIFIED = "This key is not certified with a trusted signature!"


def not_merged(finding: Finding) -> Finding:
    """``finding`` with a hint that says nothing was merged (never "redo the merge")."""
    tag = _tag_name(finding.message)
    hint = _HINTS.get(finding.kind, "").format(tag=tag or "<tag>") or finding.hint
    if not hint.startswith(NOT_MERGED):
        hint = f"{NOT_MERGED}: {hint}" if hint else NOT_MERGED
    return replace(finding, hint=hint)


def _tag_name(message: str) -> str:
    """The tag a signed-tags message names (``tag 'pull-x' …``, ``merged tag 'pull-x'``)."""
    _, found, rest = message.partition("tag '")
    return rest.partition("'")[0] if found else ""


def notices(said: str, verified: Mapping[bytes, TagVerification]) -> tuple[str, ...]:
    """What the summary says of an applied pull request beyond "applied": a good
    signature by a key nobody certified (the merge message records gpg's warning)."""
    if UNCERTIFIED not in said:
        return ()
    key = next((v.signer for v in verified.values() if v.status is TagStatus.GOOD), "")
    certify = f"'gpg --lsign-key {key}'" if key else "'gpg --lsign-key KEY'"
    return (
        f'the signing key is in your keyring but not certified: gpg warns "{UNCERTIFIED}" '
        f"(recorded in the merge message); check its fingerprint with the submaintainer, "
        f"then certify it: {certify}",
    )
