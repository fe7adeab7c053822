"""The option groups every command picks from, and what turns their values into settings.

``common_options`` (where and how: -C, --target, --remote, --json, --color, --debug),
``location_options`` (which GitLab: --gitlab-url, --project; any command that talks to
GitLab takes them), ``check_options`` (what the checks run with and write) and
``watch_options`` (how a pipeline is followed).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import click

from send_mergereq.errors import exit_code_table

if TYPE_CHECKING:
    from send_mergereq.config import Settings
    from send_mergereq.run.triage import Replies
    from send_mergereq.watch.types import WatchOptions

PROG = "send-mergereq"
EPILOG = "\b\nExit codes:\n" + exit_code_table()

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


@dataclass
class Invocation:
    """One run of the command line: its words, and how the user would pick up where it
    stopped (set by a command once it knows; said on Ctrl-C and with errors that leave
    work in flight). Handed to every command as click's context object."""

    argv: tuple[str, ...] = ()
    resume: str | None = None  # from the push on (submit) or from the start (status)
    rerun: str | None = None  # the command as typed, while nothing has been sent yet


def invocation() -> Invocation:
    """This run's ``Invocation`` (a command called outside ``funnel.run`` gets a fresh one)."""
    return click.get_current_context().ensure_object(Invocation)


def _apply(func: Callable[..., Any], options: list[Decorator]) -> Callable[..., Any]:
    for option in reversed(options):
        func = option(func)
    return func


def _check_override(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    del ctx, param
    if not values:  # the checks imported later, once the range's walks have started
        return values
    from send_mergereq.errors import ConfigError
    from send_mergereq.policy import parse_severity_override

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
    del ctx, param
    if not values:  # the report's modules imported later (see _check_override)
        return values
    from send_mergereq.errors import ConfigError
    from send_mergereq.report.files import parse_spec

    for value in values:
        try:
            parse_spec(value)
        except ConfigError as exc:
            raise click.BadParameter(exc.message) from None
    return values


def profile_options(help_check: str) -> Decorator:
    """--profile and --check (``apply`` takes these two alone)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        return _apply(func, [
            click.option("--profile", metavar="NAME",
                         help="Check profile from checks/ (default, qemu, ...)."),
            click.option("--check", "checks", multiple=True, metavar="ID=SEVERITY",
                         callback=_check_override, help=help_check),
        ])  # fmt: skip

    return decorate


def check_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--profile, --check and --report: what the checks run with and what they write."""
    func = _apply(func, [
        click.option("--report", "reports", multiple=True, metavar="KIND=PATH",
                     callback=_report_specs,
                     help="Also write a junit or codequality report to PATH (repeatable)."),
        click.option("--no-pager", is_flag=True,
                     help="Never page a long report (see SEND_MERGEREQ_PAGER, PAGER)."),
    ])  # fmt: skip
    return profile_options("Set one check to error, warning or off for this run (repeatable).")(
        func
    )


class Duration(click.ParamType[float, Any]):
    """Seconds, or a duration like ``90s``, ``45m``, ``2h``, ``1h30m``."""

    name = "duration"
    _UNITS: ClassVar[dict[str, int]] = {"s": 1, "m": 60, "h": 3600}
    EXAMPLES: ClassVar[str] = "300, 90s, 45m, 2h"
    LONGEST: ClassVar[float] = 10 * 366 * 86400.0  # ten years: anything longer is a typo

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            return float(value)
        text, total, number = str(value).strip().lower(), 0.0, ""
        value = text if len(text) <= 40 else text[:37] + "..."  # as it is said back
        for char in text:
            if char.isdigit() or char == ".":
                number += char
            elif char in self._UNITS and number:
                total, number = total + float(number) * self._UNITS[char], ""
            else:
                self.fail(f"{value!r} is not a duration (try {self.EXAMPLES})", param, ctx)
        if number:
            total += float(number)
        if not text or total <= 0:
            self.fail(f"{value!r} is not a positive duration", param, ctx)
        if total > self.LONGEST:  # inf too (a number of 400 digits)
            self.fail(f"{value!r} is longer than ten years", param, ctx)
        return total


def watch_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """How a pipeline is followed: its time limit, polling, and what happens on a failure."""
    return _apply(func, [
        click.option("--timeout", type=Duration(), default="6h",
                     help="Stop waiting after this long, exit 4: seconds, or 90s, 15m, 2h "
                          "[6h]."),
        click.option("--interval", type=Duration(),
                     help="Poll at this fixed interval: seconds, or 30s, 2m [adaptive]."),
        click.option("--no-fail-fast", is_flag=True, help="Wait for the pipeline to finish."),
        click.option("--log-lines", type=click.IntRange(0), default=30, show_default=True,
                     help="Lines of each failed job's log to show."),
        click.option("--retry-failed", type=click.IntRange(0), default=0, metavar="N",
                     help="Retry a failed gating job up to N times first."),
        click.option("--cancel-rest", is_flag=True,
                     help="When the gate closes, cancel the pipeline's jobs still running."),
    ])  # fmt: skip


def reply_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--reply DIR`` and ``--emails FILE``: on a closed gate, a reply drafted to each
    suspect pull request, threaded to its email."""
    return _apply(func, [
        click.option("--reply", type=click.Path(file_okay=False, path_type=Path),
                     metavar="DIR",
                     help="On a closed gate, draft a reply to each suspect pull request in "
                          "DIR/<tag>.mbox (never sent)."),
        click.option("--emails", "emails", multiple=True, metavar="FILE",
                     help="With --reply: the pull request emails (an mbox), for those apply "
                          "recorded none of (repeatable)."),
    ])  # fmt: skip


def location_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Which GitLab and which project, when the remote's URL does not say (any command that
    talks to GitLab)."""
    return _apply(func, [
        click.option("--gitlab-url", metavar="URL", help="GitLab URL [from the remote's URL]."),
        click.option("--project", metavar="PATH", help="GitLab project path [from the remote]."),
    ])  # fmt: skip


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Where and how every command runs."""
    return _apply(func, [
        click.option("--target", metavar="REF", help="The target branch [remote's default]."),
        click.option("--remote", metavar="NAME", help="The GitLab remote [push remote]."),
        click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout."),
        click.option("--color/--no-color", default=None, help="Force colour on or off [auto]."),
        click.option("--debug", is_flag=True, help="Show tracebacks."),
        click.option("-C", "directory", type=click.Path(file_okay=False, path_type=Path),
                     default=".", help="Run in this repository [.]."),
    ])  # fmt: skip


def watch_settings(values: dict[str, Any]) -> WatchOptions:
    from send_mergereq.watch.types import WatchOptions

    return WatchOptions(
        interval=values["interval"],
        timeout=values["timeout"],
        fail_fast=not values["no_fail_fast"],
        log_lines=values["log_lines"],
        retry_failed=values["retry_failed"],
        cancel_rest=values["cancel_rest"],
        # GitLab's own retry (retry:) comes right after the failure; a pinned fast interval
        # (tests, the demo) waits less for it
        retry_grace=5.0
        if values["interval"] is None
        else min(5.0, max(2.0, 5 * values["interval"])),
    )


def reply_settings(values: dict[str, Any], *, waits: bool) -> Replies | None:
    """``--reply``/``--emails`` checked before anything is sent: the directory made and
    writable, each email file read within apply's bounds."""
    directory: Path | None = values["reply"]
    if directory is None:
        if values["emails"]:
            raise click.UsageError("--emails is read for --reply: give --reply DIR too")
        return None
    if not waits:
        raise click.UsageError(
            "--reply drafts replies when the gate closes: it needs --wait (or --land), "
            "and no --dry-run"
        )
    from send_mergereq.apply.email_file import writable_dir
    from send_mergereq.run.triage import Replies
    from send_mergereq.triage.mail import read_emails

    writable_dir(directory)
    return Replies(directory, tuple(read_emails(values["emails"])))


def settings(branch: str, values: dict[str, Any]) -> Settings:
    """The run's settings: the flags given, over the environment, git config and files."""
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


def in_demo() -> str | None:
    """Run by ``send-mergereq demo``: its sandbox ends with it, so the way to pick the run
    up again is a new demo, not a resume command pointing at a server that is gone."""
    from send_mergereq.demo.flow import DEMO_ENV, DEMO_RESUME

    return DEMO_RESUME if os.environ.get(DEMO_ENV) else None
