"""``send-mergereq BRANCH``, start to end: prepare (the server's view of the target), the
people, the checks, the reports, the report said, then ``run.send`` (push, merge request,
watch, land). ``--dry-run`` stops after the report, with no network at all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from send_mergereq import git
from send_mergereq.errors import ExitCode
from send_mergereq.output import Output

if TYPE_CHECKING:
    from send_mergereq.config import Settings
    from send_mergereq.report import CheckReport
    from send_mergereq.run.publish import Editor
    from send_mergereq.run.send import SendOptions


@dataclass(frozen=True)
class SubmitOptions:
    """What the command line asks of ``submit`` besides the settings."""

    send: Callable[[], SendOptions]  # made only past the checks: a dry run never imports run.send
    dry_run: bool = False
    assignees: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    reports: tuple[str, ...] = ()
    pager: bool = True
    as_json: bool = False
    color: bool | None = None
    directory: Path = Path()
    use_mr: bool | None = None
    resume: str | None = None  # how to pick the run up again when not ours to say (the demo)


def submit(
    load: Callable[[], Settings],
    opts: SubmitOptions,
    *,
    edit: Editor | None = None,
    sending: Callable[[str], None] = lambda _resume: None,
) -> ExitCode:
    """Check every commit the branch adds over the target, then push and gate it.
    ``load`` reads the settings (again when the target moved); ``sending`` is told the
    resume command just before the push starts."""
    from send_mergereq.run.check import check_phase

    out = Output(as_json=opts.as_json, color=opts.color, pager=opts.pager)
    session, people = None, None
    try:
        settings = load()
        if not opts.dry_run:  # the server's view of the target first; --dry-run: offline
            from send_mergereq.run.people import resolve
            from send_mergereq.run.send import prepare, up_to_date

            session, settings, contained = prepare(settings, load, out.say)
            if contained is not None:
                return up_to_date(contained, out)
            if opts.assignees or opts.reviewers:  # before the checks and the push
                people = resolve(session.forge, opts.assignees, opts.reviewers)
        report = check_phase(settings)
    finally:  # a walk started ahead (cli/submit) that the checks did not take, or failed
        git.stop_walks_ahead()
    write_reports(report, opts.reports, settings, out)
    if opts.dry_run or not report.passed:
        out.report(report)
        return report.exit_code
    out.report(report, final=False)  # the run goes on: no pager, the document comes later
    from send_mergereq.run.send import resume_command, send

    options = opts.send()
    if people is not None:
        options = replace(
            options, assignee_ids=people.assignee_ids, reviewer_ids=people.reviewer_ids
        )
    resume = opts.resume or resume_command(settings, opts.directory, options, opts.use_mr)
    return send(
        settings, report, options, out, resume=resume, edit=edit, session=session,
        sending=lambda: sending(resume),  # from the push on, resume it
    )  # fmt: skip


def write_reports(
    report: CheckReport, specs: tuple[str, ...], settings: Settings, out: Output
) -> None:
    """``--report KIND=PATH``: each file written, and a note on stderr for what it said."""
    if specs:
        from send_mergereq.report.files import write_reports as write

        for note in write(report, specs, settings.repo):
            out.note(note)
