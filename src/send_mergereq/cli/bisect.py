"""``send-mergereq bisect``: which pull request of BRANCH makes its failing jobs fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from send_mergereq.cli.options import (
    EPILOG,
    Duration,
    common_options,
    invocation,
    location_options,
    settings,
)


@click.command(epilog=EPILOG)
@click.argument("branch", default="staging")
@click.option(
    "--jobs",
    "jobs",
    multiple=True,
    metavar="GLOB",
    help="Bisect the failed gating jobs matching GLOB (repeatable) [every one].",
)
@click.option(
    "--parallel",
    type=click.IntRange(1, 32),
    default=4,
    show_default=True,
    help="Prefixes run at once.",
)
@click.option(
    "--retry-failed",
    type=click.IntRange(0, 5),
    default=1,
    show_default=True,
    metavar="N",
    help="Retry a failed job of a prefix up to N times before it counts.",
)
@click.option(
    "--eject", is_flag=True, help="Rebuild BRANCH locally without the culprit (as 'eject' does)."
)
@click.option(
    "--reply",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Draft the reply to the culprit's email as DIR/<tag>.mbox (never sent).",
)
@click.option(
    "--emails",
    "emails",
    multiple=True,
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --reply: the pull request emails, when apply recorded none.",
)
@click.option(
    "--timeout",
    type=Duration(),
    help="Stop after this long, exit 4: seconds, or 90s, 15m, 2h [no limit].",
)
@click.option(
    "--interval",
    type=Duration(),
    default=10.0,
    help="Poll the prefixes' pipelines this often [10s].",
)
@location_options
@common_options
def bisect(
    *, branch: str, jobs: tuple[str, ...], parallel: int, retry_failed: int, eject: bool,
    reply: Path | None, emails: tuple[Path, ...], timeout: float | None, interval: float,
    **values: Any,
) -> int:  # fmt: skip
    """Find the pull request of BRANCH that makes its failing jobs fail.

    \b
    The failure is the gating jobs that failed in BRANCH's latest pipeline
    (the one 'status' follows). Each prefix of BRANCH's first-parent chain
    over the target (the target, then after each pull request) is judged
    from a finished pipeline of its commit, or pushed to a temporary branch
    BRANCH-bisect-K (git config sendmergereq.bisectPrefix), its pipeline run,
    judged as soon as those jobs allow it, canceled and the branch deleted.
    Neither BRANCH nor the target is touched (but with --eject, locally).
    Exit 0: the culprit found; 1: the target fails on its own; 9: not
    reproduced (flaky).
    """
    from send_mergereq.bisect.flow import bisect as run_bisect
    from send_mergereq.bisect.options import BisectOptions
    from send_mergereq.output import Output

    if emails and reply is None:
        raise click.UsageError("--emails goes with --reply")
    invocation().rerun = None
    options = BisectOptions(
        jobs=jobs, parallel=parallel, retries=retry_failed, eject=eject, reply=reply,
        emails=emails, timeout=timeout, interval=interval, directory=values["directory"],
    )  # fmt: skip
    out = Output(as_json=values["as_json"], color=values["color"])
    return int(run_bisect(settings(branch, values), options, out))
