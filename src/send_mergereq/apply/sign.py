"""Sign the merge commit as ``git commit -S`` would, when the maintainer's git config signs
commits (``commit.gpgSign``): OpenPGP through ``gpg.program``, SSH through
``ssh-keygen -Y sign``, with ``user.signingKey``. ``git commit-tree -S`` cannot add a
``mergetag`` header, so the signature is made here over the finished object.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from send_mergereq import git
from send_mergereq.errors import GitError

_TIMEOUT = 120.0  # a pinentry may ask for the passphrase


def wants_signing(repo: Path) -> bool:
    """Whether the maintainer's config signs commits (``commit.gpgSign``)."""
    return git.config_value(repo, "commit.gpgsign", boolean=True) == "true"


def sign(repo: Path, payload: bytes, committer: bytes) -> bytes:
    """A detached signature of ``payload`` by the maintainer's signing key.

    :raises GitError: the signing program failed (its reason in one line).
    """
    fmt = (git.config_value(repo, "gpg.format") or "openpgp").lower()
    key = git.config_value(repo, "user.signingkey")
    if fmt == "ssh":
        return _sign_ssh(repo, payload, key)
    program = git.config_value(repo, f"gpg.{fmt}.program") or git.config_value(repo, "gpg.program")
    program = program or ("gpgsm" if fmt == "x509" else "gpg")
    who = key or committer.rpartition(b">")[0].decode("utf-8", "replace") + ">"
    return _run([program, "--status-fd=2", "-bsau", who], payload, "gpg")


def _sign_ssh(repo: Path, payload: bytes, key: str | None) -> bytes:
    if not key:
        raise GitError(
            "commit.gpgSign is on with gpg.format=ssh but user.signingKey is not set",
            hint="set user.signingKey to your SSH key, or sign the merge by hand",
        )
    with tempfile.TemporaryDirectory(prefix="send-mergereq-sign-") as tmp:
        if key.startswith(("key::", "ssh-")):
            literal = Path(tmp) / "key.pub"
            literal.write_text(key.removeprefix("key::") + "\n")
            key_file = str(literal)
        else:
            key_file = str(Path(key).expanduser())
        data = Path(tmp) / "payload"
        data.write_bytes(payload)
        program = git.config_value(repo, "gpg.ssh.program") or "ssh-keygen"
        _run([program, "-Y", "sign", "-n", "git", "-f", key_file, str(data)], b"", "ssh-keygen")
        return Path(f"{data}.sig").read_bytes()


def _run(argv: list[str], payload: bytes, what: str) -> bytes:
    done = git.run_signer(argv, payload, timeout=_TIMEOUT)
    if done.returncode != 0 or (what == "gpg" and b"-----BEGIN" not in done.stdout):
        raise GitError(
            f"cannot sign the merge with {what}: {done.reason()}",
            hint="check user.signingKey and gpg.format, or unset commit.gpgSign for this run",
        )
    return done.stdout
