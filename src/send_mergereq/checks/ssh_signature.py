"""The public key inside a tag's SSH signature, as a line for git's allowed signers file.

An SSH signature (``-----BEGIN SSH SIGNATURE-----``, OpenSSH's PROTOCOL.sshsig) carries
the signer's public key. A maintainer who lacks it needs ``<principal> <key type>
<public key>`` in the file ``gpg.ssh.allowedSignersFile`` names; the digest offers that
line, the principal being the tagger's email, for them to check with the key's owner.
Pure: bytes in, text out; anything malformed gives None.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct

_BEGIN = b"-----BEGIN SSH SIGNATURE-----"
_END = b"-----END SSH SIGNATURE-----"
_MAGIC = b"SSHSIG"
_KEY_TYPE = re.compile(rb"[A-Za-z0-9@._+-]{1,64}")
_EMAIL = re.compile(rb"<([^<>\s\"]{1,254}@[^<>\s\"]{1,254})>")


def _string(blob: bytes, at: int) -> tuple[bytes, int] | None:
    """An SSH wire-format string (uint32 length, then bytes) at ``at``, and where it ends."""
    if at + 4 > len(blob):
        return None
    (length,) = struct.unpack(">I", blob[at : at + 4])
    end = at + 4 + length
    return (blob[at + 4 : end], end) if end <= len(blob) else None


def public_key(tag: bytes) -> str | None:
    """``ssh-ed25519 AAAA…`` of the key that made the SSH signature in ``tag``, or None."""
    start = tag.find(_BEGIN)
    stop = tag.find(_END, start + 1)
    if start < 0 or stop < 0:
        return None
    try:
        blob = base64.b64decode(b"".join(tag[start + len(_BEGIN) : stop].split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not blob.startswith(_MAGIC):
        return None
    key = _string(blob, len(_MAGIC) + 4)  # after the magic and the uint32 version
    kind = _string(key[0], 0) if key else None
    if key is None or kind is None or not _KEY_TYPE.fullmatch(kind[0]):
        return None
    return f"{kind[0].decode()} {base64.b64encode(key[0]).decode()}"


def allowed_signers_line(tag: bytes) -> str | None:
    """``<tagger email> <key type> <public key>`` for the tag's SSH signer, or None."""
    key = public_key(tag)
    if key is None:
        return None
    head = tag.partition(b"\n\n")[0]
    tagger = next((line for line in head.split(b"\n") if line.startswith(b"tagger ")), b"")
    found = _EMAIL.search(tagger)
    principal = found.group(1).decode("utf-8", errors="replace") if found else "<principal>"
    return f"{principal} {key}"
