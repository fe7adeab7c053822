"""The exit point: the error funnel, the signals, stdout that outlives its reader.

This is the only module that exits. Commands return an exit code; failures are
``SendMergereqError`` exceptions turned into one line on stderr here, written (like every
line here) by ``output.Output``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any

import click

from send_mergereq import __version__
from send_mergereq.cli.group import USAGE, BareCommand, cli
from send_mergereq.cli.options import PROG, Invocation, in_demo
from send_mergereq.errors import (
    ExitCode,
    OutputError,
    SendMergereqError,
    Terminated,
    interrupt_code,
    redact,
)
from send_mergereq.output import Output


def _log_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / PROG / "last-error.log"


def _traceback(exc: BaseException) -> str:
    """``exc``'s traceback, redacted (traceback is imported on an error only)."""
    import traceback

    return redact("".join(traceback.format_exception(exc)))


def _report_bug(exc: BaseException, debug: bool) -> int:
    import datetime as dt

    text = _traceback(exc)
    where = ""
    try:
        log = _log_path()
        log.parent.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        log.write_text(f"{PROG} {__version__} {stamp}\n{text}")
        where = f"; traceback in {log}"
    except OSError:
        pass
    out = Output()
    if debug:
        out.verbatim(text)
    summary = redact(f"{type(exc).__name__}: {exc}".splitlines()[0])
    out.note(f"internal error (a bug): {summary}{where}; rerun with --debug")
    return int(ExitCode.INTERNAL)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code; never raises, never shows a traceback unasked."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("SEND_MERGEREQ_DEBUG") == "1"
    as_json = "--json" in args
    sys.stdout = out = _QuietWhenClosed(sys.stdout)
    # stderr is the side channel (the report itself under --json): a stderr that cannot be
    # written, or whose reader has gone, is silenced and never costs stdout its document
    sys.stderr = _QuietWhenClosed(sys.stderr, side=True)
    restore = _handle_signals()
    try:
        code = _run(args, debug, as_json, out)
        try:
            sys.stdout.flush()  # here, not at exit: a full disk is said like any error
        except OutputError as exc:
            code = _fail(exc.message, exc.hint, exc.exit_code, as_json=False)
        return code
    finally:
        restore()


def _handle_signals() -> Callable[[], None]:
    """SIGTERM and SIGHUP raise ``Terminated`` (a KeyboardInterrupt) where the program is,
    so they end the run as Ctrl-C does; returns what puts the previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def terminate(signum: int, frame: FrameType | None) -> None:
        del frame
        raise Terminated(signum, signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, terminate) for sig in (signal.SIGTERM, signal.SIGHUP)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def _run(args: list[str], debug: bool, as_json: bool, out: _QuietWhenClosed) -> int:
    state = Invocation(argv=tuple(args))
    try:
        result = cli.main(args=args, prog_name=PROG, standalone_mode=False, obj=state)
    except (KeyboardInterrupt, click.exceptions.Abort) as caught:
        # click turns a KeyboardInterrupt into Abort: a SIGTERM is still a SIGTERM
        exc = caught.__context__ if isinstance(caught.__context__, Terminated) else caught
        hint = f"; resume with: {state.resume}" if state.resume else ""
        if state.rerun and not state.resume:
            hint = f"; nothing was sent: run it again with: {state.rerun}"
        if in_demo():
            from send_mergereq.demo.flow import DEMO_GONE

            hint = f"; {DEMO_GONE}"
        said = f"{exc.name} received, stopped" if isinstance(exc, Terminated) else "interrupted"
        code = interrupt_code(exc)
        with contextlib.suppress(OutputError):
            Output().note(f"{said}{hint}")
            if as_json and not out.written:  # the document scripts expect, unless one began
                doc = {"verdict": "error", "exit_code": int(code), "error": said,
                       "hint": hint.removeprefix("; ") or None}  # fmt: skip
                Output(as_json=True).document(doc)
        return int(code)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        return _usage_error(exc, as_json)
    except SendMergereqError as exc:
        if debug:
            Output().verbatim(_traceback(exc))
        return _fail(exc.message, exc.hint, exc.exit_code, as_json)
    except Exception as exc:
        return _report_bug(exc, debug)
    return int(result) if isinstance(result, int) else 0


def _usage_error(exc: click.ClickException, as_json: bool) -> int:
    """A usage error in one line and a hint; a bare ``send-mergereq`` gets the usage
    itself on stderr, as git does (not the whole help)."""
    if isinstance(exc, BareCommand):
        Output().verbatim(USAGE + f"hint: see '{PROG} --help'\n")
        return int(ExitCode.USAGE)
    where = exc.ctx.command_path if isinstance(exc, click.UsageError) and exc.ctx else PROG
    return _fail(exc.format_message(), f"see '{where} --help'", ExitCode.USAGE, as_json)


def _fail(message: str, hint: str | None, code: ExitCode, as_json: bool) -> int:
    """One line (and a hint) on stderr, control characters escaped; with ``--json`` also the
    document scripts expect (exact)."""
    return Output(as_json=as_json).error(message, hint, code)


class _QuietWhenClosed:
    """stdout that stops writing once its reader has gone (``send-mergereq … | head``),
    so the run still ends with its own exit code instead of click's EPIPE exit 1; ``side``
    (stderr): any write that fails silences it (``2>/dev/full`` under ``--json``: the
    document still comes, with the run's own code). ``written``: whether text was sent."""

    def __init__(self, stream: IO[str], *, side: bool = False) -> None:
        self._stream, self._side, self.written = stream, side, False

    def write(self, text: str) -> int:
        if not text:  # click probes a stream with write(b"") and write(""): a probe's error
            return self._stream.write(text)  # is click's to see, not "cannot write the output"
        self.written = True
        try:
            return self._stream.write(text)
        except OSError as exc:
            self._quiet_or_raise(exc)
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            self._quiet_or_raise(exc)

    def _quiet_or_raise(self, exc: OSError) -> None:
        """A reader gone (EPIPE), or any failed write to the side channel: silenced; else
        the output cannot be written (``OutputError``)."""
        if self._side or isinstance(exc, BrokenPipeError):
            self._silence()
            return
        raise self._failed(exc) from None

    def _failed(self, exc: OSError) -> OutputError:
        """The output cannot be written (``> /dev/full``): say so once, on stderr; what is
        still buffered goes nowhere, so that the exit does not fail on it again."""
        self._silence()
        return OutputError(f"cannot write the output: {exc.strerror or exc}")

    def _silence(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, self._stream.fileno())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main() -> None:
    code = run()
    # What the run made is freed as the interpreter ends, object by object, and its last
    # collections would look at all of it again for cycles: frozen, they pass it by
    # (u-boot's history, 5,448 findings: the end 60-80 ms, now 25-35).
    import gc

    gc.freeze()
    sys.exit(code)
