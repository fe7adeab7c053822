"""Where a run's output goes: human text to stdout (stderr under ``--json``, whose one
document then owns stdout), and which watch display fits the stream."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from send_mergereq.display import Display


@dataclass(frozen=True)
class Output:
    """Where human text and the JSON document go."""

    as_json: bool = False
    color: bool | None = None
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)

    @property
    def human(self) -> IO[str]:
        return self.stderr if self.as_json else self.stdout

    def say(self, line: str) -> None:
        """One line for people; control characters escaped (it may carry server text)."""
        from send_mergereq.terminal import visible

        self.human.write("\n".join(visible(part) for part in line.split("\n")) + "\n")
        self.human.flush()

    def document(self, doc: Mapping[str, Any]) -> None:
        self.stdout.write(json.dumps(doc, indent=2) + "\n")
        self.stdout.flush()

    def live(self) -> bool:
        return not self.as_json and self.color is not False and self.human.isatty()

    def display(self) -> Display:
        """The live table on a terminal, plain lines otherwise (stderr under ``--json``)."""
        from send_mergereq.display import LiveDisplay, PlainDisplay

        if self.live():
            from rich.console import Console

            return LiveDisplay(Console(file=self.human, force_terminal=True))
        return PlainDisplay(self.human)
