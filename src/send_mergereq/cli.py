"""Command line: click commands and options, the error funnel, and the exit codes.

This is the only module that exits. Commands return an exit code; failures are
``SendMergereqError`` exceptions turned into one line on stderr here.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

import click

from send_mergereq import __version__
from send_mergereq.errors import ExitCode, SendMergereqError, exit_code_table, redact

PROG = "send-mergereq"
EPILOG = "\b\nExit codes:\n" + exit_code_table()

# Set by a command once it knows how the user would pick up where it stopped;
# shown on Ctrl-C and with errors that leave work in flight.
RESUME_HINT: list[str] = []


class DefaultCommandGroup(click.Group):
    """``send-mergereq staging`` means ``send-mergereq submit staging``."""

    default_command = "submit"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = next((a for a in args if not a.startswith("-")), None)
        wants_group_help = not args or args[0] in ("--help", "-h", "--version")
        if not wants_group_help and first not in self.commands:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


@click.group(
    cls=DefaultCommandGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name=PROG)
def cli() -> None:
    """Check a staging branch, push it, and gate it through a GitLab merge request.

    \b
      send-mergereq staging            check, push, open/update the MR, show the pipeline
      send-mergereq staging --wait     ... then follow every job live to a verdict
      send-mergereq staging --dry-run  check only: no push, no API call
    """


def _check_override(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    from send_mergereq.errors import ConfigError
    from send_mergereq.policy import parse_severity_override

    del ctx, param
    for value in values:
        try:
            parse_severity_override(value, "--check")
        except ConfigError as exc:
            message = f"{exc.message}; {exc.hint}" if exc.hint else exc.message
            raise click.BadParameter(message) from None
    return values


@cli.command(epilog=EPILOG)
@click.argument("branch")
@click.option("--dry-run", is_flag=True, help="Check only: no push, no API call.")
@click.option("--target", metavar="REF", help="Check what BRANCH adds over REF [remote's default].")
@click.option("--remote", metavar="NAME", help="The GitLab remote [the branch's push remote].")
@click.option("--profile", metavar="NAME", help="Check profile from checks/ (default, qemu, ...).")
@click.option(
    "--check",
    "checks",
    multiple=True,
    metavar="ID=SEVERITY",
    callback=_check_override,
    help="Set one check to error, warning or off for this run (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("--color/--no-color", default=None, help="Force colour on or off [auto].")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option(
    "-C",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    help="Run in this repository [.].",
)
def submit(
    *,
    branch: str,
    dry_run: bool,
    target: str | None,
    remote: str | None,
    profile: str | None,
    checks: tuple[str, ...],
    as_json: bool,
    color: bool | None,
    debug: bool,
    directory: Path,
) -> int:
    """Check every commit BRANCH adds over the target; then push and gate it."""
    from send_mergereq.config import Flags, load_settings
    from send_mergereq.flow import check_phase
    from send_mergereq.report import emit

    flags = Flags(target, remote, profile, checks, as_json, debug, color)
    settings = load_settings(directory, branch, flags, os.environ)
    report = check_phase(settings)
    emit(report, as_json=as_json, color=color)
    if dry_run or not report.passed:
        return int(report.exit_code)
    click.echo(f"{PROG}: checks passed; pushing is not wired yet (use --dry-run)", err=True)
    return int(ExitCode.OK)


def _log_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / PROG / "last-error.log"


def _report_bug(exc: BaseException, debug: bool) -> int:
    text = redact("".join(traceback.format_exception(exc)))
    where = ""
    try:
        log = _log_path()
        log.parent.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        log.write_text(f"{PROG} {__version__} {stamp}\n{text}")
        where = f"; traceback in {log}"
    except OSError:
        pass
    if debug:
        click.echo(text, err=True, nl=False)
    summary = redact(f"{type(exc).__name__}: {exc}".splitlines()[0])
    click.echo(f"{PROG}: internal error (a bug): {summary}{where}; rerun with --debug", err=True)
    return int(ExitCode.INTERNAL)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code; never raises, never shows a traceback unasked."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("SEND_MERGEREQ_DEBUG") == "1"
    try:
        result = cli.main(args=args, prog_name=PROG, standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):
        hint = f"; resume with: {RESUME_HINT[-1]}" if RESUME_HINT else ""
        click.echo(f"\n{PROG}: interrupted{hint}", err=True)
        return int(ExitCode.INTERRUPTED)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return int(ExitCode.USAGE)
    except SendMergereqError as exc:
        click.echo(redact(f"{PROG}: {exc.message}"), err=True)
        if exc.hint:
            click.echo(redact(f"hint: {exc.hint}"), err=True)
        if debug:
            click.echo(redact("".join(traceback.format_exception(exc))), err=True, nl=False)
        return int(exc.exit_code)
    except Exception as exc:
        return _report_bug(exc, debug)
    return int(result) if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run())
