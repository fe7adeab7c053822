"""``send-mergereq bisect`` and ``eject``: which pull request broke the gate, and staging
without it (issue 22 §2, §4)."""
