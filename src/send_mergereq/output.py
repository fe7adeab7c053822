"""The one output funnel, for every command: human text to stdout (stderr under
``--json``, whose one document then owns stdout), colour (``--color``/``--no-color``,
``NO_COLOR``, a terminal or not), the pager for a long check report, which watch display
fits the stream, and the one-line error. Every server string is escaped here."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from send_mergereq import json_text
from send_mergereq.errors import ExitCode, redact

if TYPE_CHECKING:
    from send_mergereq.report import CheckReport
    from send_mergereq.watch.types import Display


PROG = "send-mergereq"


@dataclass(frozen=True)
class Output:
    """Where human text and the JSON document go."""

    as_json: bool = False
    color: bool | None = None  # --color / --no-color; None: a terminal without NO_COLOR
    pager: bool = False  # may the report that ends the run go through the pager
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

    def line(self, text: str) -> None:
        """One line for people, every control character escaped (a newline too)."""
        from send_mergereq.terminal import visible

        self.human.write(visible(text) + "\n")
        self.human.flush()

    def note(self, text: str) -> None:
        """``send-mergereq: …`` on stderr, whatever ``--json`` says (a side note)."""
        from send_mergereq.terminal import visible

        self.stderr.write(f"{PROG}: {visible(text)}\n")
        self.stderr.flush()

    def verbatim(self, text: str) -> None:
        """The tool's own text on stderr as it is (the usage, a ``--debug`` traceback)."""
        self.stderr.write(text)
        self.stderr.flush()

    def error(self, message: str, hint: str | None, code: ExitCode) -> int:
        """One line (and a hint) on stderr, control characters escaped, secrets redacted;
        with ``--json`` also the document scripts expect (exact)."""
        from send_mergereq.terminal import visible

        message, hint = redact(message.replace("\n", " ").strip()), redact(hint) if hint else None
        self.stderr.write(f"{PROG}: {visible(message)}\n")  # the server may have written it
        if hint:
            self.stderr.write("hint: " + "\n".join(visible(part) for part in hint.split("\n")))
            self.stderr.write("\n")
        self.stderr.flush()
        if self.as_json:
            doc = {"verdict": "error", "exit_code": int(code), "error": message, "hint": hint}
            self.document(doc)
        return int(code)

    def styled(self, stream: IO[str]) -> bool:
        """Whether text for ``stream`` is styled: ``--color`` forces it, ``--no-color`` and
        ``NO_COLOR`` (set and not empty) turn it off, else a terminal has it."""
        if self.color is not None:
            return self.color
        return stream.isatty() and not os.environ.get("NO_COLOR")

    def report(self, report: CheckReport, *, final: bool = True) -> None:
        """The check report for people on ``human``: rich when styled, plain otherwise.
        ``final`` (the run ends with it): a report longer than the terminal goes through
        the pager (``report/pager.py``; never under ``--json``, only when ``pager``), and under
        ``--json`` the report's document follows on stdout."""
        import io

        from send_mergereq.report import pager as paging
        from send_mergereq.report import render_plain, render_rich, to_json

        human = self.human
        size = paging.terminal_size(human) if human.isatty() else None
        width = size[0] if size else None
        paged = final and self.pager and not self.as_json and size
        command = paging.command(os.environ) if paged else None
        target: IO[str] = io.StringIO() if command else human
        if self.styled(human):
            render_rich(report, target, color=True if command else self.color, width=width)
        else:
            render_plain(report, target, width=width)
        if command and size and isinstance(target, io.StringIO):
            text = target.getvalue()
            if text.count("\n") < size[1] or not paging.page(text, command, os.environ):
                human.write(text)
        human.flush()
        if final and self.as_json:
            self.document(to_json(report))

    def document(self, doc: Mapping[str, Any]) -> None:
        self.stdout.write(json_text.dumps(doc) + "\n")
        self.stdout.flush()

    def live(self) -> bool:
        return not self.as_json and self.color is not False and self.human.isatty()

    def display(self) -> Display:
        """The live table on a terminal, plain lines otherwise (stderr under ``--json``)."""
        from send_mergereq.watch.display import PlainDisplay
        from send_mergereq.watch.live import LiveDisplay

        if self.live():
            from rich.console import Console

            return LiveDisplay(Console(file=self.human, force_terminal=True))
        return PlainDisplay(self.human)
