"""``send-mergereq jobs``: each job's health on the target and the tier advice."""

from __future__ import annotations

from typing import Any, ClassVar

import click

from send_mergereq.cli.options import EPILOG, Duration, common_options, location_options, settings


class Age(Duration):
    """A duration back in time: ``60d``, ``12w``, ``36h`` (or seconds)."""

    name = "age"
    _UNITS: ClassVar[dict[str, int]] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    EXAMPLES: ClassVar[str] = "60d, 12w, 36h"


@click.command(epilog=EPILOG)
@click.option("--ref", metavar="REF", help="The branch whose pipelines are read [the target].")
@click.option(
    "--pipelines",
    "count",
    type=click.IntRange(1, 5000),
    default=None,
    help="Read the last N finished pipelines [200; with --since, those of DURATION, at most "
    "N when given].",
)
@click.option(
    "--since",
    type=Age(),
    metavar="DURATION",
    help="Read the pipelines of the last DURATION instead (60d, 12w).",
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="SOURCE",
    help="Pipeline sources to read (repeatable) [push, schedule].",
)
@click.option(
    "--patch",
    "patch",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[FILE]",
    help="Print the .gitlab-ci.yml change the promote/demote advice asks for; "
    "with FILE, edit FILE and print its diff.",
)
@click.option("--no-cache", is_flag=True, help="Read every pipeline from GitLab again.")
@location_options
@common_options
def jobs(*, ref: str | None, count: int | None, since: float | None, sources: tuple[str, ...],
         patch: str | None, no_cache: bool, **values: Any) -> int:  # fmt: skip
    """Each job's health on the target's finished pipelines, and the tier advice.

    \b
    Runs, failures, flaky runs (failed, then passed on a retry of the same
    pipeline), the current streak, median and p90 duration and a strip of the
    last runs; then the advice of the [tiers] policy of .send-mergereq.toml:
    promote an allow_failure job, demote a gating one, flag a flaky one, drop
    one that no longer runs. Manual jobs are never advised on.
    """
    from send_mergereq.jobs.command import DEFAULT_SOURCES, JobsOptions, run_jobs
    from send_mergereq.output import Output

    said = settings("HEAD", values)
    options = JobsOptions(
        ref=ref,
        pipelines=count or (5000 if since is not None else 200),
        since=since,
        sources=tuple(dict.fromkeys(sources)) or DEFAULT_SOURCES,
        patch=patch,
        use_cache=not no_cache,
    )
    out = Output(as_json=values["as_json"], color=values["color"])
    return run_jobs(said, options, out)
