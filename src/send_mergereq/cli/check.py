"""``send-mergereq check``: the checks alone, in a CI job (no push, no network)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from send_mergereq.cli.options import EPILOG, check_options, common_options, settings


@click.command(epilog=EPILOG)
@click.argument("range_", metavar="[RANGE]", required=False)
@check_options
@common_options
def check(*, range_: str | None, **values: Any) -> int:
    """Run the checks over RANGE in a CI job: no push, no network (exit codes of --dry-run).

    \b
    RANGE is A..B, or one revision checked over the target. Without it, the
    range the pipeline tests: a merged results commit's first..second parent,
    else $CI_MERGE_REQUEST_DIFF_BASE_SHA..$CI_COMMIT_SHA, else the push's
    $CI_COMMIT_BEFORE_SHA..$CI_COMMIT_SHA (a new branch:
    origin/$CI_DEFAULT_BRANCH..); the policy then comes from the merge
    request's target or the default branch.
    """
    from send_mergereq.ci_check import parse_range, policy_source
    from send_mergereq.output import Output
    from send_mergereq.run.check import check_phase
    from send_mergereq.run.submit import write_reports

    rng = parse_range(range_, os.environ)
    if rng.target is not None and values["target"]:
        raise click.UsageError("--target and an A..B range exclude each other")
    policy = None if values["target"] else policy_source(Path(values["directory"]), rng)
    if policy is not None:  # the pipeline's range: the policy from the target GitLab names
        values = {**values, "target": policy.ref, "policy_why": policy.why}
    values = {**values, "target": rng.target or values["target"], "base": rng.base}
    said = settings(rng.branch, values)
    report = check_phase(said, allow_empty=True)
    out = Output(as_json=values["as_json"], color=values["color"], pager=not values["no_pager"])
    write_reports(report, values["reports"], said, out)
    out.report(report)
    return int(report.exit_code)
