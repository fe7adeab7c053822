"""``send-mergereq apply``: verify, check and merge pull-request emails into a branch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from send_mergereq.cli.options import EPILOG, common_options, profile_options, settings


@click.command(epilog=EPILOG)
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
@profile_options("Set one check's severity for this run.")
@common_options
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
    from send_mergereq.output import Output

    if (url is None) != (tag is None):
        raise click.UsageError("--url and --tag go together")
    if url is not None and emails:
        raise click.UsageError("give EMAIL files or --url/--tag, not both")
    if url is None and not emails:
        raise click.UsageError("give at least one EMAIL file (or - for standard input)")
    return apply_command(
        settings(branch, values), emails, url=url, tag=tag, expect=expect, dry_run=dry_run,
        keep_going=keep_going, allow_old_tag=allow_old_tag, allow_local=allow_local,
        out=Output(as_json=values["as_json"], color=values["color"]), reply=reply,
    )  # fmt: skip
