"""Text bound for a terminal: control characters escaped, so untrusted text (a commit
message, a GitLab answer, an email) cannot move the cursor, recolour or retitle it, nor
reorder what follows it on the line (the bidirectional overrides of "Trojan Source")."""

from __future__ import annotations

# each C0 and C1 control character, as \\xNN
CONTROLS: dict[int, str] = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)]}
# the bidirectional marks, embeddings, overrides and isolates, and the line and paragraph
# separators, as \\uNNNN
CONTROLS.update(
    {c: f"\\u{c:04x}" for c in [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F),
                                  *range(0x2066, 0x206A), 0x2028, 0x2029]}
)  # fmt: skip


def visible(text: str) -> str:
    """``text`` with control characters escaped: junk must not reach a terminal raw."""
    if text.isascii() and text.isprintable():  # the usual text: nothing to escape
        return text
    return text.translate(CONTROLS)
