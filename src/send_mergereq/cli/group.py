"""The ``send-mergereq`` click group: a bare BRANCH means ``submit BRANCH``, and each
command is one module of this package, of the command's name (the registry is
``COMMANDS``), imported when the command runs or the help lists it: a run imports its
own command's options and no other's."""

from __future__ import annotations

import importlib

import click

from send_mergereq import __version__
from send_mergereq.cli.options import EPILOG, PROG

COMMANDS = ("submit", "status", "check", "apply", "bisect", "eject", "jobs", "demo")

USAGE = f"""\
usage: {PROG} BRANCH [--wait] [--land] [--dry-run] [OPTIONS]
       {PROG} status [BRANCH|!IID|IID] [OPTIONS]
       {PROG} check [RANGE] [OPTIONS]
       {PROG} apply EMAIL... [OPTIONS]
       {PROG} bisect [BRANCH] [--eject] [--reply DIR] [OPTIONS]
       {PROG} eject TAG|SHA [BRANCH] [OPTIONS]
       {PROG} jobs [--ref REF] [--since AGE] [--patch [FILE]] [OPTIONS]
       {PROG} demo [--scenario NAME] [-- {PROG.upper()} OPTIONS]
"""


class BareCommand(click.UsageError):
    """``send-mergereq`` with no words at all."""


class DefaultCommandGroup(click.Group):
    """``send-mergereq staging`` means ``send-mergereq submit staging``."""

    default_command = "submit"

    def list_commands(self, ctx: click.Context) -> list[str]:
        del ctx
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        del ctx
        if cmd_name not in COMMANDS:
            return None
        command = getattr(importlib.import_module(f"{__package__}.{cmd_name}"), cmd_name)
        assert isinstance(command, click.Command)
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # a bare ``send-mergereq``: the usage, not the whole help (a shell completing the
        # first word parses no words either, resiliently: it gets the commands' names)
        if not args and not ctx.resilient_parsing:
            raise BareCommand("no branch given", ctx)
        leading: list[str] = []  # ``-C DIR`` before the command, as with git
        while len(args) >= 2 and args[0] == "-C":
            leading, args = [*leading, *args[:2]], args[2:]
        if args == ["--version"]:  # ``-C DIR --version``: the version, as git says it
            return super().parse_args(ctx, args)
        self._refuse_misspelt_command(ctx, args)
        if args and args[0] in COMMANDS:
            args = [args[0], *leading, *args[1:]]
        elif leading or not (not args or args[0] in ("--help", "-h", "--version")):
            args = [self.default_command, *leading, *args]
        return super().parse_args(ctx, args)

    def _refuse_misspelt_command(self, ctx: click.Context, args: list[str]) -> None:
        """``stauts staging``: a word close to a command, followed by another word, is a
        misspelt command (a branch takes no second word)."""
        words = [a for a in args if not a.startswith("-")]
        if len(words) < 2 or args[0] != words[0] or args[0] in COMMANDS:
            return
        import difflib

        close = difflib.get_close_matches(args[0], COMMANDS, n=1, cutoff=0.6)
        if close:
            raise click.UsageError(f"no command {args[0]!r}: did you mean {close[0]!r}?", ctx)


@click.group(
    cls=DefaultCommandGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name=PROG)
def cli() -> None:
    """Check a staging branch, push it, and gate it through a GitLab merge request.

    \b
      send-mergereq apply pulls.mbox   verify, check, merge pull requests
      send-mergereq staging            check, push, open/update the MR
      send-mergereq staging --wait     ... then follow every job to a verdict
      send-mergereq staging --dry-run  check only: no push, no API call
      send-mergereq check --report junit=report.xml   the checks in a CI job
      send-mergereq bisect staging     which pull request broke the gate
      send-mergereq jobs               each job's health and tier advice
    """
