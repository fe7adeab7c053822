"""``send-mergereq status``: re-attach to a merge request's pipeline and follow it."""

from __future__ import annotations

from typing import Any

import click

from send_mergereq.cli.options import (
    EPILOG,
    common_options,
    in_demo,
    invocation,
    location_options,
    reply_options,
    reply_settings,
    settings,
    watch_options,
    watch_settings,
)


@click.command(epilog=EPILOG)
@click.argument("which", metavar="[BRANCH|!IID|IID]", default="staging")
@watch_options
@reply_options
@location_options
@common_options
def status(*, which: str, **values: Any) -> int:
    """Re-attach to a merge request's current pipeline (no push) and follow it to a verdict.

    \b
    A merged merge request, or a branch whose merge request landed, is said
    (exit 0), not watched. A bare number is the branch of that name when one
    exists, else the merge request !NUMBER.
    """
    from send_mergereq.output import Output
    from send_mergereq.run.send import SendOptions, resume_command
    from send_mergereq.run.send import status as run_status

    branch = which if not which.startswith("!") else "HEAD"
    said = settings(branch, values)
    options = SendOptions(watch=watch_settings(values), replies=reply_settings(values, waits=True))
    resume = in_demo() or resume_command(said, values["directory"], options, None, status_of=which)
    invocation().resume = resume
    out = Output(as_json=values["as_json"], color=values["color"])
    return int(run_status(said, which, options, out, resume=resume))
