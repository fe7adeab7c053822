"""Steps 1 and 2 of a run: resolve ``TARGET..BRANCH`` and run every enabled check over
it in one pass. ``cli`` stops on a failed report (and after it with ``--dry-run``);
otherwise ``run.send`` takes over. No network, no GitPython, no python-gitlab."""

from __future__ import annotations

import os

from send_mergereq.checks import CHECKS
from send_mergereq.checks.finding import Severity
from send_mergereq.checks.runner import EnabledCheck, TagVerifier, default_verifier, run_checks
from send_mergereq.config import Settings
from send_mergereq.history import empty_range, read_raw, resolve_range
from send_mergereq.report import CheckReport


def _workers() -> int:
    """Worker processes for a long range: only when cores are left over for them beside
    this process and git (on two cores the pipeline is already CPU-bound)."""
    cores = os.cpu_count() or 1
    return min(cores - 1, 4) if cores >= 3 else 1


def check_phase(
    settings: Settings, verifier: TagVerifier | None = None, *, allow_empty: bool = False
) -> CheckReport:
    """Resolve ``TARGET..BRANCH``, run every enabled check over it in one pass."""
    rng = resolve_range(settings.repo, settings.target, settings.branch, allow_empty=allow_empty)
    enabled = [EnabledCheck(CHECKS[check_id], opts) for check_id, opts in settings.checks.items()]

    result = run_checks(
        read_raw(settings.repo, rng),
        enabled,
        settings.context(),
        verifier or default_verifier(settings.repo),
        workers=_workers(),
        rules=settings.exemptions,
    )
    if result.commits == 0 and not allow_empty:
        raise empty_range(rng)
    return CheckReport(
        range=rng,
        commits=result.commits,
        merges=result.merges,
        findings=result.findings,
        subjects=result.subjects,
        profile=settings.profile,
        exempt=result.exempt,
        exempted=result.exempted,
        checks=tuple(e.module.ID for e in enabled if e.opts.severity is not Severity.OFF),
    )
