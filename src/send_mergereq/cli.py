"""Command line: click commands and options, the error funnel, and the exit codes.

This is the only module that exits. Commands return an exit code; failures are
``SendMergereqError`` exceptions turned into one line on stderr here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any, ClassVar

import click

from send_mergereq import __version__
from send_mergereq.errors import (
    ExitCode,
    OutputError,
    SendMergereqError,
    Terminated,
    exit_code_table,
    interrupt_code,
    redact,
)

if TYPE_CHECKING:
    from send_mergereq.config import Settings
    from send_mergereq.run.watch import WatchOptions

PROG = "send-mergereq"
USAGE = f"""\
usage: {PROG} BRANCH [--wait] [--land] [--dry-run] [OPTIONS]
       {PROG} status [BRANCH|!IID|IID] [OPTIONS]
       {PROG} check [RANGE] [OPTIONS]
       {PROG} apply EMAIL... [OPTIONS]
       {PROG} demo [--scenario NAME] [-- {PROG.upper()} OPTIONS]
"""
EPILOG = "\b\nExit codes:\n" + exit_code_table()

# Set by a command once it knows how the user would pick up where it stopped;
# shown on Ctrl-C and with errors that leave work in flight.
RESUME_HINT: list[str] = []
# Set by ``submit`` from its start: the command as typed, every word quoted for the shell,
# shown on Ctrl-C while nothing has been sent yet (before the push starts).
RERUN_HINT: list[str] = []
_ARGV: list[str] = []  # the words of this run, as given to ``run``


class BareCommand(click.UsageError):
    """``send-mergereq`` with no words at all."""


class DefaultCommandGroup(click.Group):
    """``send-mergereq staging`` means ``send-mergereq submit staging``."""

    default_command = "submit"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args:  # a bare ``send-mergereq``: the usage, not the whole help
            raise BareCommand("no branch given", ctx)
        leading: list[str] = []  # ``-C DIR`` before the command, as with git
        while len(args) >= 2 and args[0] == "-C":
            leading, args = [*leading, *args[:2]], args[2:]
        self._refuse_misspelt_command(ctx, args)
        if args and args[0] in self.commands:
            args = [args[0], *leading, *args[1:]]
        elif leading or not (not args or args[0] in ("--help", "-h", "--version")):
            args = [self.default_command, *leading, *args]
        return super().parse_args(ctx, args)

    def _refuse_misspelt_command(self, ctx: click.Context, args: list[str]) -> None:
        """``stauts staging``: a word close to a command, followed by another word, is a
        misspelt command (a branch takes no second word)."""
        words = [a for a in args if not a.startswith("-")]
        if len(words) < 2 or args[0] != words[0] or args[0] in self.commands:
            return
        close = difflib.get_close_matches(args[0], list(self.commands), n=1, cutoff=0.6)
        if close:
            raise click.UsageError(f"no command {args[0]!r}: did you mean {close[0]!r}?", ctx)


@click.group(
    cls=DefaultCommandGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name=PROG)
def cli() -> None:
    """Check a staging branch, push it, and gate it through a GitLab merge request.

    \b
      send-mergereq apply pulls.mbox   verify, check and merge pull requests into staging
      send-mergereq staging            check, push, open/update the MR, show the pipeline
      send-mergereq staging --wait     ... then follow every job live to a verdict
      send-mergereq staging --dry-run  check only: no push, no API call
      send-mergereq check --report junit=report.xml   the same checks in a CI job
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
        except ConfigError as exc:  # click names the option itself: no second prefix
            said = exc.message.removeprefix("--check: ")
            message = f"{said}; {exc.hint}" if exc.hint else said
            raise click.BadParameter(message) from None
    return values


def _report_specs(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    from send_mergereq.errors import ConfigError
    from send_mergereq.reports import parse_spec

    del ctx, param
    for value in values:
        try:
            parse_spec(value)
        except ConfigError as exc:
            raise click.BadParameter(exc.message) from None
    return values


def _check_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--profile, --check and --report: what the checks run with and what they write."""
    options = [
        click.option("--profile", metavar="NAME",
                     help="Check profile from checks/ (default, qemu, ...)."),
        click.option("--check", "checks", multiple=True, metavar="ID=SEVERITY",
                     callback=_check_override,
                     help="Set one check to error, warning or off for this run (repeatable)."),
        click.option("--report", "reports", multiple=True, metavar="KIND=PATH",
                     callback=_report_specs,
                     help="Also write a junit or codequality report to PATH (repeatable)."),
        click.option("--no-pager", is_flag=True,
                     help="Never page a long report (see SEND_MERGEREQ_PAGER, PAGER)."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


class Duration(click.ParamType[float, Any]):
    """Seconds, or a duration like ``90s``, ``45m``, ``2h``, ``1h30m``."""

    name = "duration"
    _UNITS: ClassVar[dict[str, int]] = {"s": 1, "m": 60, "h": 3600}

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            return float(value)
        text, total, number = str(value).strip().lower(), 0.0, ""
        for char in text:
            if char.isdigit() or char == ".":
                number += char
            elif char in self._UNITS and number:
                total, number = total + float(number) * self._UNITS[char], ""
            else:
                self.fail(f"{value!r} is not a duration (try 300, 90s, 45m, 2h)", param, ctx)
        if number:
            total += float(number)
        if not text or total <= 0:
            self.fail(f"{value!r} is not a positive duration", param, ctx)
        return total


def _watch_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--timeout", type=Duration(),
                     help="Stop waiting after this long, exit 4: seconds, or 90s, 15m, 2h "
                          "[no limit]."),
        click.option("--interval", type=Duration(),
                     help="Poll at this fixed interval: seconds, or 30s, 2m [adaptive]."),
        click.option("--no-fail-fast", is_flag=True, help="Wait for the pipeline to finish."),
        click.option("--log-lines", type=click.IntRange(0), default=30, show_default=True,
                     help="Lines of each failed job's log to show."),
        click.option("--retry-failed", type=click.IntRange(0), default=0, metavar="N",
                     help="Retry a failed gating job up to N times first."),
        click.option("--cancel-rest", is_flag=True,
                     help="When the gate closes, cancel the pipeline's jobs still running."),
        click.option("--gitlab-url", metavar="URL", help="GitLab URL [from the remote's URL]."),
        click.option("--project", metavar="PATH", help="GitLab project path [from the remote]."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def _watch_settings(values: dict[str, Any]) -> WatchOptions:
    from send_mergereq.run.watch import WatchOptions

    return WatchOptions(
        interval=values["interval"],
        timeout=values["timeout"],
        fail_fast=not values["no_fail_fast"],
        log_lines=values["log_lines"],
        retry_failed=values["retry_failed"],
        cancel_rest=values["cancel_rest"],
    )


def _common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--target", metavar="REF", help="The target branch [remote's default]."),
        click.option("--remote", metavar="NAME", help="The GitLab remote [push remote]."),
        click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout."),
        click.option("--color/--no-color", default=None, help="Force colour on or off [auto]."),
        click.option("--debug", is_flag=True, help="Show tracebacks."),
        click.option("-C", "directory", type=click.Path(file_okay=False, path_type=Path),
                     default=".", help="Run in this repository [.]."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


@cli.command(epilog=EPILOG)
@click.argument("branch")
@click.option("--dry-run", is_flag=True, help="Check only: no push, no API call.")
@_check_options
@click.option("--wait", is_flag=True, help="Follow the pipeline live to a verdict.")
@_watch_options
@click.option("--title", help="Merge request title [generated from the pull requests].")
@click.option("--description", help="Merge request description [generated].")
@click.option("--edit", is_flag=True, help="Edit title and description in $EDITOR first.")
@click.option("--label", "labels", multiple=True, help="Set a label on the MR (repeatable).")
@click.option(
    "--assignee", "assignees", multiple=True, help="Assign the MR (username, repeatable)."
)
@click.option(
    "--reviewer", "reviewers", multiple=True, help="Ask for a review (username, repeatable)."
)
@click.option("--auto-merge", is_flag=True, help="Let GitLab merge when the pipeline succeeds.")
@click.option(
    "--land", is_flag=True, help="On an open gate, land exactly what passed (implies --wait)."
)
@click.option(
    "--mr/--no-mr",
    "use_mr",
    default=None,
    help="Gate through a merge request, or push-only on the branch pipeline [mr].",
)
@click.option(
    "--refresh", is_flag=True, help="With --land: re-run a stale merged-results pipeline."
)
@click.option(
    "--refresh-limit",
    type=click.IntRange(0),
    default=3,
    show_default=True,
    metavar="N",
    help="How many times --refresh may start a new pipeline.",
)
@_common_options
def submit(*, branch: str, dry_run: bool, **values: Any) -> int:
    """Check every commit BRANCH adds over the target; then push and gate it."""
    import shlex

    from send_mergereq.report import emit

    RERUN_HINT.append(shlex.join([PROG, *_ARGV]))
    from send_mergereq.run.check import check_phase

    if values["land"] and values["auto_merge"]:
        raise click.UsageError(
            "--land and --auto-merge exclude each other: --land merges what "
            "it watched pass, --auto-merge leaves the merge to GitLab"
        )
    settings = _settings(branch, values)
    as_json = values["as_json"]
    from send_mergereq.run.people import People, resolve

    session, people = None, People()
    if not dry_run:  # the server's view of the target, before the checks; --dry-run: offline
        from send_mergereq.run.output import Output
        from send_mergereq.run.send import prepare, up_to_date

        said = Output(as_json=as_json, color=values["color"])
        session, settings, contained = prepare(
            settings, lambda: _settings(branch, values), said.say
        )
        if contained is not None:
            return int(up_to_date(contained, said))
        if values["assignees"] or values["reviewers"]:  # before the checks and the push
            people = resolve(session.forge, values["assignees"], values["reviewers"])
    report = check_phase(settings)
    _write_reports(report, values["reports"], settings)
    if dry_run or not report.passed:
        emit(report, as_json=as_json, color=values["color"], pager=not values["no_pager"])
        return int(report.exit_code)
    emit(report, as_json=False, color=values["color"], stream=sys.stderr if as_json else None)
    from send_mergereq.run.output import Output
    from send_mergereq.run.send import SendOptions, resume_command, send

    options = SendOptions(
        wait=values["wait"] or values["land"],
        title=values["title"],
        description=values["description"],
        edit=values["edit"],
        labels=values["labels"] or None,
        assignee_ids=people.assignee_ids,
        reviewer_ids=people.reviewer_ids,
        auto_merge=values["auto_merge"],
        watch=_watch_settings(values),
        land=values["land"],
        refresh=values["refresh"],
        refresh_limit=values["refresh_limit"],
    )
    resume = _in_demo() or resume_command(settings, values["directory"], options, values["use_mr"])
    out = Output(as_json=as_json, color=values["color"])
    return int(
        send(
            settings, report, options, out, resume=resume, edit=click.edit, session=session,
            sending=lambda: RESUME_HINT.append(resume),  # from the push on, resume it
        )
    )  # fmt: skip


def _write_reports(report: Any, specs: tuple[str, ...], settings: Settings) -> None:
    if specs:
        from send_mergereq.reports import write_reports
        from send_mergereq.terminal import visible

        for note in write_reports(report, specs, settings.repo):
            click.echo(f"{PROG}: {visible(note)}", err=True)


@cli.command(epilog=EPILOG)
@click.argument("range_", metavar="[RANGE]", required=False)
@_check_options
@_common_options
def check(*, range_: str | None, **values: Any) -> int:
    """Run the checks over RANGE in a CI job: no push, no network (exit codes of --dry-run).

    \b
    RANGE is A..B, or one revision checked over the target. Without it, the
    range the pipeline tests: a merged results commit's first..second parent,
    else $CI_MERGE_REQUEST_DIFF_BASE_SHA..$CI_COMMIT_SHA, else the push's
    $CI_COMMIT_BEFORE_SHA..$CI_COMMIT_SHA (a new branch: origin/$CI_DEFAULT_BRANCH..);
    the policy then comes from the merge request's target or the default branch.
    """
    from send_mergereq.ci_check import parse_range, policy_source
    from send_mergereq.report import emit
    from send_mergereq.run.check import check_phase

    rng = parse_range(range_, os.environ)
    if rng.target is not None and values["target"]:
        raise click.UsageError("--target and an A..B range exclude each other")
    policy = None if values["target"] else policy_source(Path(values["directory"]), rng)
    if policy is not None:  # the pipeline's range: the policy from the target GitLab names
        values = {**values, "target": policy.ref, "policy_why": policy.why}
    values = {**values, "target": rng.target or values["target"], "base": rng.base}
    settings = _settings(rng.branch, values)
    report = check_phase(settings, allow_empty=True)
    _write_reports(report, values["reports"], settings)
    emit(report, as_json=values["as_json"], color=values["color"], pager=not values["no_pager"])
    return int(report.exit_code)


@cli.command(epilog=EPILOG)
@click.argument("which", metavar="[BRANCH|!IID|IID]", default="staging")
@_watch_options
@_common_options
def status(*, which: str, **values: Any) -> int:
    """Re-attach to a merge request's current pipeline (no push) and follow it to a verdict.

    \b
    A merged merge request, or a branch whose merge request landed, is said
    (exit 0), not watched. A bare number is the branch of that name when one
    exists, else the merge request !NUMBER.
    """
    from send_mergereq.run.output import Output
    from send_mergereq.run.send import SendOptions, resume_command, status

    branch = which if not which.startswith("!") else "HEAD"
    settings = _settings(branch, values)
    options = SendOptions(watch=_watch_settings(values))
    resume = _in_demo() or resume_command(
        settings, values["directory"], options, None, status_of=which
    )
    RESUME_HINT.append(resume)
    out = Output(as_json=values["as_json"], color=values["color"])
    return int(status(settings, which, options, out, resume=resume))


@cli.command(epilog=EPILOG)
@click.argument("emails", nargs=-1, metavar="EMAIL...")
@click.option("--branch", default="staging", show_default=True, help="The branch to build.")
@click.option("--url", metavar="URL", help="Apply this pull request instead of an email.")
@click.option("--tag", metavar="TAG", help="With --url: the signed tag to pull.")
@click.option("--expect", metavar="SHA", help="The commit the tag must point at.")
@click.option("--dry-run", is_flag=True, help="Do every step, write nothing to the branch.")
@click.option("--keep-going", is_flag=True, help="Skip a refused pull request and go on.")
@click.option(
    "--allow-local",
    is_flag=True,
    help="Fetch from a local path or file:// URL too (else https, http, git, ssh).",
)
@click.option("--allow-old-tag", is_flag=True,
              help="Apply a tag older than apply.max-tag-age (default 30 days).")  # fmt: skip
@click.option("--reply", metavar="DIR", type=click.Path(file_okay=False, path_type=Path),
              help="Draft a reply to each pull request's email in DIR (never sent).")  # fmt: skip
@click.option("--profile", metavar="NAME", help="Check profile from checks/ (default, qemu, ...).")
@click.option("--check", "checks", multiple=True, metavar="ID=SEVERITY",
              callback=_check_override, help="Set one check's severity for this run.")  # fmt: skip
@_common_options
def apply(
    *, emails: tuple[str, ...], branch: str, url: str | None, tag: str | None,
    expect: str | None, dry_run: bool, keep_going: bool, allow_old_tag: bool,
    allow_local: bool, reply: Path | None, **values: Any,
) -> int:  # fmt: skip
    """Verify, check and merge pull requests (git request-pull emails) into BRANCH.

    \b
    EMAIL is an .eml, an mbox or a format-patch file, or - for standard input;
    in a thread, messages without a 'git request-pull' block are passed over.
    Each tag is fetched into refs/send-mergereq/pulls/, its signature verified
    as the signed-tags check does, every commit it adds checked, then merged
    as 'git merge --no-ff TAG' would, without touching your work tree. When
    the target contains BRANCH (it landed), BRANCH starts afresh from it.
    """
    from send_mergereq.apply.command import apply_command

    if (url is None) != (tag is None):
        raise click.UsageError("--url and --tag go together")
    if url is not None and emails:
        raise click.UsageError("give EMAIL files or --url/--tag, not both")
    if url is None and not emails:
        raise click.UsageError("give at least one EMAIL file (or - for standard input)")
    settings = _settings(branch, values)
    return apply_command(
        settings, emails, url=url, tag=tag, expect=expect, dry_run=dry_run,
        keep_going=keep_going, allow_old_tag=allow_old_tag, allow_local=allow_local,
        as_json=values["as_json"], color=values["color"], reply=reply,
    )  # fmt: skip


class _ScenarioOption(click.Option):
    """``--scenario``, whose help lists the shipped scenarios only when help is shown (the
    demo module is not imported by every run just to build a help text)."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from send_mergereq.demo import scenario_names

        self.help = "Pipeline scenario: " + ", ".join(scenario_names()) + " [green]."
        return super().get_help_record(ctx)


@cli.command(epilog=EPILOG)
@click.option("--scenario", cls=_ScenarioOption, default="green", metavar="NAME")
@click.option("--keep", is_flag=True, help="Keep the throwaway repository afterwards.")
@click.option(
    "--time-scale",
    type=click.FloatRange(min=1),
    default=80.0,
    show_default=True,
    help="Virtual pipeline seconds per real second.",
)
@click.argument("send_args", nargs=-1, metavar="[-- SEND-MERGEREQ OPTIONS]")
def demo(*, scenario: str, keep: bool, time_scale: float, send_args: tuple[str, ...]) -> int:
    """Run the whole flow on a throwaway repo against the embedded sandbox GitLab.

    Builds a repository with two signed-tag pull requests merged into staging,
    starts a GitLab-compatible server on loopback (on a virtual clock), and runs
    `send-mergereq staging --wait` and the options after `--` against it (with
    --no-mr the sandbox runs branch pipelines). Nothing of your own git or gpg
    configuration is read or written.
    """
    from send_mergereq import demo as demo_flow

    if scenario not in demo_flow.scenario_names():
        known = ", ".join(demo_flow.scenario_names())
        raise click.BadParameter(
            f"unknown scenario {scenario!r}; known: {known}", param_hint="--scenario"
        )

    def say(line: str) -> None:
        click.echo(line, err=True)

    return demo_flow.run(
        scenario=scenario, keep=keep, time_scale=time_scale, extra_args=send_args, say=say
    )


def _in_demo() -> str | None:
    """Run by ``send-mergereq demo``: its sandbox ends with it, so the way to pick the run
    up again is a new demo, not a resume command pointing at a server that is gone."""
    from send_mergereq.demo import DEMO_ENV, DEMO_RESUME

    return DEMO_RESUME if os.environ.get(DEMO_ENV) else None


def _settings(branch: str, values: dict[str, Any]) -> Settings:
    from send_mergereq.config import Flags, load_settings

    flags = Flags(
        values["target"],
        values["remote"],
        values.get("profile"),
        values.get("checks", ()),
        values["as_json"],
        values["debug"],
        values["color"],
        gitlab_url=values.get("gitlab_url"),
        project=values.get("project"),
        use_mr=values.get("use_mr"),
        base=values.get("base"),
        policy_why=values.get("policy_why", ""),
    )
    return load_settings(values["directory"], branch, flags, os.environ)


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
    as_json = "--json" in args
    sys.stdout = _QuietWhenClosed(sys.stdout)
    restore = _handle_signals()
    try:
        code = _run(args, debug, as_json)
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


def _run(args: list[str], debug: bool, as_json: bool) -> int:
    _ARGV[:] = args
    try:
        result = cli.main(args=args, prog_name=PROG, standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort) as caught:
        # click turns a KeyboardInterrupt into Abort: a SIGTERM is still a SIGTERM
        exc = caught.__context__ if isinstance(caught.__context__, Terminated) else caught
        hint = f"; resume with: {RESUME_HINT[-1]}" if RESUME_HINT else ""
        if RERUN_HINT and not RESUME_HINT:
            hint = f"; nothing was sent: run it again with: {RERUN_HINT[-1]}"
        if _in_demo():
            from send_mergereq.demo import DEMO_GONE

            hint = f"; {DEMO_GONE}"
        said = f"{exc.name} received, stopped" if isinstance(exc, Terminated) else "interrupted"
        with contextlib.suppress(OutputError):
            click.echo(f"{PROG}: {said}{hint}", err=True)
        return int(interrupt_code(exc))
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        return _usage_error(exc, as_json)
    except SendMergereqError as exc:
        if debug:
            click.echo(redact("".join(traceback.format_exception(exc))), err=True, nl=False)
        return _fail(exc.message, exc.hint, exc.exit_code, as_json)
    except Exception as exc:
        return _report_bug(exc, debug)
    return int(result) if isinstance(result, int) else 0


def _usage_error(exc: click.ClickException, as_json: bool) -> int:
    """A usage error in one line and a hint; a bare ``send-mergereq`` gets the usage
    itself on stderr, as git does (not the whole help)."""
    if isinstance(exc, BareCommand):
        click.echo(USAGE + f"hint: see '{PROG} --help'", err=True)
        return int(ExitCode.USAGE)
    where = exc.ctx.command_path if isinstance(exc, click.UsageError) and exc.ctx else PROG
    return _fail(exc.format_message(), f"see '{where} --help'", ExitCode.USAGE, as_json)


def _fail(message: str, hint: str | None, code: ExitCode, as_json: bool) -> int:
    """One line (and a hint) on stderr, control characters escaped; with ``--json`` also the
    document scripts expect (exact)."""
    from send_mergereq.terminal import visible

    message, hint = redact(message.replace("\n", " ").strip()), redact(hint) if hint else None
    click.echo(f"{PROG}: {visible(message)}", err=True)  # the server may have written it
    if hint:
        click.echo("hint: " + "\n".join(visible(part) for part in hint.split("\n")), err=True)
    if as_json:
        doc = {"verdict": "error", "exit_code": int(code), "error": message, "hint": hint}
        click.echo(json.dumps(doc, indent=2))
    return int(code)


class _QuietWhenClosed:
    """stdout that stops writing once its reader has gone (``send-mergereq … | head``),
    so the run still ends with its own exit code instead of click's EPIPE exit 1."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if not text:  # click probes a stream with write(b"") and write(""): a probe's error
            return self._stream.write(text)  # is click's to see, not "cannot write the output"
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._silence()
            return len(text)
        except OSError as exc:
            raise self._failed(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._silence()
        except OSError as exc:
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
    sys.exit(run())
