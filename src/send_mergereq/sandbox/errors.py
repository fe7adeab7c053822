"""The sandbox's own error type: it stands alone and imports nothing of the tool.

A :class:`ScenarioError` is a mistake in how the sandbox was asked to run: a scenario file
that does not parse, an unknown scenario, project setting or fault. The tool maps it to its
own ``ConfigError`` (exit 2) where it embeds the sandbox (``send-mergereq demo``).
"""

from __future__ import annotations


class ScenarioError(Exception):
    """A bad scenario or sandbox setting: one line of message, an optional hint."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
