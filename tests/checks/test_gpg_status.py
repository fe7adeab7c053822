"""signature_output.interpret on outputs real gpg/ssh runs rarely produce (the common ones are
covered against real keys in test_signatures.py)."""

from __future__ import annotations

from send_mergereq.checks.finding import TagStatus
from send_mergereq.checks.gpg_status import interpret

FPR = "F6463E9485FAE0C79AD716A3A0DFAAA249A5E958"
VALIDSIG = f"[GNUPG:] VALIDSIG {'1' * 40} 2026-11-25 1795615211 0 4 0 22 8 00 {FPR}"


def test_errsig_other_than_missing_key_is_an_error() -> None:
    out = "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG A0DFAAA249A5E958 99 8 00 1795615211 4 -\n"
    result = interpret(1, out)
    assert result.status is TagStatus.ERROR
    assert result.signer == "A0DFAAA249A5E958"
    assert "ERRSIG" in result.detail


def test_errsig_rc9_without_no_pubkey_line_is_unknown_key() -> None:
    out = f"[GNUPG:] ERRSIG A0DFAAA249A5E958 22 8 00 1795615211 9 {FPR}\n"
    result = interpret(1, out)
    assert (result.status, result.signer) == (TagStatus.UNKNOWN_KEY, FPR)


def test_expired_signature_counts_as_expired() -> None:
    out = f"[GNUPG:] EXPSIG A0DFAAA249A5E958 Jane <j@example.org>\n{VALIDSIG}\n"
    result = interpret(1, out)
    assert result.status is TagStatus.EXPIRED_KEY
    assert result.signer == FPR
    assert result.key_ids == ("1" * 40, "A0DFAAA249A5E958")


def test_bad_signature_wins_over_a_good_one() -> None:
    out = "[GNUPG:] GOODSIG AAAA Jane\n[GNUPG:] BADSIG BBBB Mallory\n"
    assert interpret(1, out).status is TagStatus.BAD


def test_good_signature_that_git_rejects_without_trust_line() -> None:
    result = interpret(1, f"[GNUPG:] GOODSIG A0DFAAA249A5E958 Jane\n{VALIDSIG}\n")
    assert result.status is TagStatus.UNTRUSTED_KEY
    assert result.detail.startswith("GOODSIG")


def test_status_lines_without_verdict() -> None:
    result = interpret(2, "[GNUPG:] NEWSIG\n[GNUPG:] NODATA 1\n")
    assert result.status is TagStatus.ERROR
    assert "no verdict" in result.detail


def test_silence_is_an_error_not_a_bad_signature() -> None:
    for ssh in (False, True):
        result = interpret(1, "", ssh=ssh)
        assert result.status is TagStatus.ERROR
        assert "exited with 1" in result.detail


def test_other_verifier_failure_names_the_last_line() -> None:
    result = interpret(128, "error: cannot run gpg: No such file or directory\n")
    assert result.status is TagStatus.ERROR
    assert result.detail == "error: cannot run gpg: No such file or directory"


def test_ssh_principal_with_spaces_and_with() -> None:
    line = 'Good "git" signature for a with b@example.org with ED25519 key SHA256:abc'
    result = interpret(0, line + "\n", ssh=True)
    assert (result.status, result.signer, result.key_ids) == (
        TagStatus.GOOD,
        "a with b@example.org",
        ("SHA256:abc",),
    )
