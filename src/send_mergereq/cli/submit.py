"""``send-mergereq [submit] BRANCH``: check, push, open the merge request, watch, land."""

from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING, Any

import click

from send_mergereq.cli.options import (
    EPILOG,
    PROG,
    check_options,
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

if TYPE_CHECKING:
    from send_mergereq.run.send import SendOptions


@click.command(epilog=EPILOG)
@click.argument("branch")
@click.option("--dry-run", is_flag=True, help="Check only: no push, no API call.")
@check_options
@click.option("--wait", is_flag=True, help="Follow the pipeline live to a verdict.")
@watch_options
@reply_options
@location_options
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
@common_options
def submit(*, branch: str, dry_run: bool, **values: Any) -> int:
    """Check every commit BRANCH adds over the target; then push and gate it."""
    if dry_run:  # offline: the range is the settings', its walks may start now
        from send_mergereq.scan.cut import walk_ahead

        walk_ahead(
            values["directory"], branch, target=values["target"], remote=values["remote"],
            env=os.environ,
        )  # fmt: skip
    from send_mergereq.run.submit import SubmitOptions
    from send_mergereq.run.submit import submit as run_submit

    run = invocation()
    run.rerun = shlex.join([PROG, *run.argv])
    if values["land"] and values["auto_merge"]:
        raise click.UsageError(
            "--land and --auto-merge exclude each other: --land merges what "
            "it watched pass, --auto-merge leaves the merge to GitLab"
        )

    replies = reply_settings(values, waits=not dry_run and (values["wait"] or values["land"]))

    def options() -> SendOptions:  # past the checks only (a dry run stays light)
        from send_mergereq.run.send import SendOptions

        return SendOptions(
            wait=values["wait"] or values["land"],
            title=values["title"],
            description=values["description"],
            edit=values["edit"],
            labels=values["labels"] or None,
            auto_merge=values["auto_merge"],
            watch=watch_settings(values),
            land=values["land"],
            refresh=values["refresh"],
            refresh_limit=values["refresh_limit"],
            replies=replies,
        )

    opts = SubmitOptions(
        send=options, dry_run=dry_run, assignees=values["assignees"],
        reviewers=values["reviewers"], reports=values["reports"], pager=not values["no_pager"],
        as_json=values["as_json"], color=values["color"], directory=values["directory"],
        use_mr=values["use_mr"], resume=None if dry_run else in_demo(),
    )  # fmt: skip

    def sending(resume: str) -> None:
        run.resume = resume

    return int(run_submit(lambda: settings(branch, values), opts, edit=click.edit, sending=sending))
