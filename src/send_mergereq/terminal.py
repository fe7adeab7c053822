"""Text bound for a terminal: control characters escaped, so untrusted text (a commit
message, a GitLab answer, an email) cannot move the cursor, recolour or retitle it."""

from __future__ import annotations

# each C0 and C1 control character, as \\xNN
CONTROLS = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)]}


def visible(text: str) -> str:
    """``text`` with control characters escaped: junk must not reach a terminal raw."""
    if text.isascii() and text.isprintable():  # the usual text: nothing to escape
        return text
    return text.translate(CONTROLS)
