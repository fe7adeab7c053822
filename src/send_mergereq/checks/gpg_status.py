"""What ``git verify-tag --raw`` said, as a TagVerification: pure parsing, no I/O.

With ``--raw`` git passes on the verifier's own machine-readable output on stderr:
gpg's (and gpgsm's) ``[GNUPG:]`` status lines, or ssh-keygen's text for SSH
signatures. The exit code alone cannot tell a bad signature from a missing key,
so the status lines decide; the exit code only adds git's trust verdict
(``gpg.minTrustLevel``) to an otherwise good signature.
"""

from __future__ import annotations

from send_mergereq.checks.finding import TagStatus, TagVerification

_STATUS_PREFIX = "[GNUPG:] "
_SSH_GOOD_PRINCIPAL = 'Good "git" signature for '
_SSH_GOOD_NO_PRINCIPAL = 'Good "git" signature with '
# KEY_CONSIDERED aside, the keywords that decide, worst first.
_GPG_VERDICTS = (
    ("BADSIG", TagStatus.BAD),
    ("REVKEYSIG", TagStatus.REVOKED_KEY),
    ("EXPKEYSIG", TagStatus.EXPIRED_KEY),
    ("EXPSIG", TagStatus.EXPIRED_KEY),
    ("GOODSIG", TagStatus.GOOD),
)


def interpret(returncode: int, output: str, ssh: bool = False) -> TagVerification:
    """Turn git's exit code and stderr into a verdict; ``ssh`` if the tag has an SSH signature."""
    status = _gpg_status(output)
    if status:
        return _from_gpg(returncode, status)
    if ssh or _SSH_GOOD_NO_PRINCIPAL in output or _SSH_GOOD_PRINCIPAL in output:
        return _from_ssh(returncode, output)
    return TagVerification(TagStatus.ERROR, detail=_last_line(output, returncode))


def _gpg_status(output: str) -> dict[str, list[str]]:
    """The first status line of each keyword, split into its arguments."""
    status: dict[str, list[str]] = {}
    for line in output.splitlines():
        if line.startswith(_STATUS_PREFIX):
            keyword, *args = line[len(_STATUS_PREFIX) :].split(" ")
            status.setdefault(keyword, args)
    return status


def _from_gpg(returncode: int, status: dict[str, list[str]]) -> TagVerification:
    decisive = [(k, verdict) for k, verdict in _GPG_VERDICTS if k in status]
    if not decisive:
        if "ERRSIG" in status:
            return _errsig(status)
        return TagVerification(TagStatus.ERROR, detail="gpg gave no verdict: " + " ".join(status))
    keyword, verdict = decisive[0]
    args = status[keyword]
    signer, key_ids = _signer(status, args)
    detail = " ".join([keyword, *args])
    if verdict is TagStatus.GOOD and returncode != 0:  # git refused the key's trust level
        verdict, detail = TagStatus.UNTRUSTED_KEY, _trust_line(status) or detail
    uid = " ".join(args[1:])
    return TagVerification(verdict, signer, detail, uid=uid, key_ids=key_ids)


def _signer(status: dict[str, list[str]], args: list[str]) -> tuple[str, tuple[str, ...]]:
    """The primary key's fingerprint (VALIDSIG's last field), and the other ids of the key."""
    long_id = args[0] if args else ""
    valid = status.get("VALIDSIG", [])
    if len(valid) >= 10:
        ids = tuple(dict.fromkeys(i for i in (valid[0], long_id) if i and i != valid[9]))
        return valid[9], ids
    return long_id, ()


def _errsig(status: dict[str, list[str]]) -> TagVerification:
    """ERRSIG <keyid> <algo> <hash> <class> <time> <rc> [<fpr>]: rc 9 is a missing key."""
    args = status["ERRSIG"]
    fpr = args[6] if len(args) > 6 and args[6] != "-" else ""
    signer = fpr or (args[0] if args else "")
    detail = "ERRSIG " + " ".join(args)
    if "NO_PUBKEY" in status or (len(args) > 5 and args[5] == "9"):
        return TagVerification(TagStatus.UNKNOWN_KEY, signer, detail)
    return TagVerification(TagStatus.ERROR, signer, detail)


def _trust_line(status: dict[str, list[str]]) -> str:
    for keyword, args in status.items():
        if keyword.startswith("TRUST_"):
            return " ".join([keyword, *args])
    return ""


def _from_ssh(returncode: int, output: str) -> TagVerification:
    """ssh-keygen's words, as git relays them (gpg-interface.c: parse_ssh_output)."""
    for line in output.splitlines():
        if line.startswith(_SSH_GOOD_PRINCIPAL):
            principal, _, key = line[len(_SSH_GOOD_PRINCIPAL) :].rpartition(" with ")
            fpr = _ssh_fingerprint(key)
            verdict = TagStatus.GOOD if returncode == 0 else TagStatus.ERROR
            return TagVerification(verdict, principal, line, key_ids=(fpr,) if fpr else ())
        if line.startswith(_SSH_GOOD_NO_PRINCIPAL):
            return TagVerification(TagStatus.UNKNOWN_KEY, _ssh_fingerprint(line), line)
    if "allowedSignersFile" in output:
        detail = "gpg.ssh.allowedSignersFile is not set (or the file is missing)"
        return TagVerification(TagStatus.ERROR, detail=detail)
    verdict = TagStatus.BAD if output.strip() else TagStatus.ERROR
    return TagVerification(verdict, detail=_last_line(output, returncode))


def _ssh_fingerprint(text: str) -> str:
    _, found, fpr = text.partition("key ")
    return fpr.strip() if found else ""


def _last_line(output: str, returncode: int) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else f"git verify-tag exited with {returncode} and gave no verdict"
