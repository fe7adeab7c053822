"""Tag objects as carried in a merge's ``mergetag`` header: pure parsing, no I/O.

``git merge`` of a signed tag copies the whole tag object into the merge commit,
one ``mergetag`` header whose continuation lines start with a space.
``history.parse_commit`` joins those lines (dropping one leading space each and
the final newline); ``tag_object`` turns that value back into the tag object
byte for byte, so git can verify its signature.
"""

from __future__ import annotations

from dataclasses import dataclass

# The armour lines git's parse_signature() recognises (gpg-interface.c): OpenPGP,
# X.509 (gpgsm) and SSH signatures.
SIGNATURE_MARKERS = (
    b"-----BEGIN PGP SIGNATURE-----",
    b"-----BEGIN PGP MESSAGE-----",
    b"-----BEGIN SIGNED MESSAGE-----",
    b"-----BEGIN SSH SIGNATURE-----",
)


@dataclass(frozen=True)
class TagHeader:
    """The headers of a tag object that a merge check needs (decoded for display only)."""

    object: str
    type: str
    name: str
    signed: bool


def tag_object(mergetag: bytes) -> bytes:
    """The tag object a ``mergetag`` header value (as ``parse_commit`` leaves it) stands for."""
    return mergetag + b"\n"


def parse_tag(tag: bytes) -> TagHeader:
    """Read ``object``, ``type`` and ``tag`` from a tag object; missing ones are empty."""
    head = tag.partition(b"\n\n")[0]
    fields: dict[bytes, bytes] = {}
    for line in head.split(b"\n"):
        key, _, value = line.partition(b" ")
        fields.setdefault(key, value)

    def text(key: bytes) -> str:
        return fields.get(key, b"").decode("utf-8", errors="replace").strip()

    signed = has_signature(tag) or b"gpgsig" in fields or b"gpgsig-sha256" in fields
    return TagHeader(text(b"object"), text(b"type"), text(b"tag"), signed)


def has_signature(tag: bytes) -> bool:
    """Whether a tag object carries a signature block git would verify."""
    return any(line.startswith(SIGNATURE_MARKERS) for line in tag.split(b"\n"))
