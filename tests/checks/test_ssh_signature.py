"""The public key read out of an SSH signature: malformed input gives None, never raises."""

from __future__ import annotations

import base64
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from send_mergereq.checks.ssh_signature import allowed_signers_line, public_key

KEY = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(range(32))


def wire(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def tag(blob: bytes, tagger: bytes = b"tagger Sue <sue@example.org> 1700000000 +0000") -> bytes:
    armour = base64.b64encode(blob)
    lines = b"\n".join(armour[i : i + 70] for i in range(0, len(armour), 70))
    return (
        b"object " + b"1" * 40 + b"\ntype commit\ntag pull-x\n" + tagger + b"\n\nPull x\n"
        b"-----BEGIN SSH SIGNATURE-----\n" + lines + b"\n-----END SSH SIGNATURE-----\n"
    )


SIG = b"SSHSIG" + struct.pack(">I", 1) + wire(KEY) + wire(b"git") + wire(b"") + wire(b"sha512")


def test_the_key_and_the_line_for_allowed_signers() -> None:
    expected = "ssh-ed25519 " + base64.b64encode(KEY).decode()
    assert public_key(tag(SIG)) == expected
    assert allowed_signers_line(tag(SIG)) == f"sue@example.org {expected}"
    assert allowed_signers_line(tag(SIG, b"tagger Sue 1700000000 +0000")) == (
        f"<principal> {expected}"
    )


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"NOTSIG" + SIG[6:],
        SIG[:12],  # cut inside the key's length
        b"SSHSIG" + struct.pack(">I", 1) + struct.pack(">I", 999) + KEY,  # length past the end
        b"SSHSIG" + struct.pack(">I", 1) + wire(wire(b"ssh ed25519\x1b[2J") + b"x"),  # junk type
    ],
)
def test_malformed_signatures_give_none(blob: bytes) -> None:
    assert public_key(tag(blob)) is None and allowed_signers_line(tag(blob)) is None


def test_no_ssh_signature_gives_none() -> None:
    assert public_key(b"object 1\ntype commit\n\nmsg\n-----BEGIN PGP SIGNATURE-----\n") is None
    assert public_key(tag(SIG).replace(b"BEGIN SSH", b"BEGIN XYZ")) is None
    assert public_key(tag(SIG).replace(b"\n-----END SSH", b"!!\n-----END SSH")) is None


@given(st.binary(max_size=200))
def test_never_raises(junk: bytes) -> None:
    public_key(tag(junk))
    public_key(b"-----BEGIN SSH SIGNATURE-----\n" + junk + b"\n-----END SSH SIGNATURE-----")
