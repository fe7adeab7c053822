"""Steps 1 and 2 of a run: resolve ``TARGET..BRANCH`` and run every enabled check over
it in one pass. ``run.submit`` stops on a failed report (and after it with ``--dry-run``);
otherwise ``run.send`` takes over. No network, no GitPython, no python-gitlab."""

from __future__ import annotations

from send_mergereq import git
from send_mergereq.checks import CHECKS
from send_mergereq.checks.finding import Severity
from send_mergereq.checks.runner import EnabledCheck, TagVerifier
from send_mergereq.config import POLICY_FILE, Settings
from send_mergereq.history import CommitRange
from send_mergereq.report import CheckReport, Policy
from send_mergereq.scan import processes
from send_mergereq.scan.cut import cut
from send_mergereq.scan.range_check import check_range, default_verifier
from send_mergereq.scan.walk import empty_range, resolve_range


def check_phase(
    settings: Settings, verifier: TagVerifier | None = None, *, allow_empty: bool = False
) -> CheckReport:
    """Resolve ``TARGET..BRANCH``, run every enabled check over it in one pass."""
    base = settings.base or settings.target
    rng = resolve_range(settings.repo, base, settings.branch, allow_empty=allow_empty)
    enabled = [EnabledCheck(CHECKS[check_id], opts) for check_id, opts in settings.checks.items()]

    workers = processes.workers()
    result = check_range(
        settings.repo,
        rng,
        enabled,
        settings.context(),
        verifier or default_verifier(settings.repo, lambda _: settings.gpg_program),
        parts=cut(settings.repo, rng, workers),
        workers=workers,
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
        policy=policy_of(settings, rng),
    )


def policy_of(settings: Settings, rng: CommitRange) -> Policy:
    """Where the run's ``.send-mergereq.toml`` was read from (the commit, and whether the
    file was there); the commit is the range's target's when read from it."""
    spec = settings.policy_file or f"{settings.target}:{POLICY_FILE}"
    ref = spec.rpartition(":")[0]
    found = settings.policy_found  # as the settings found it (a git less at the end)
    if found is None or not settings.policy_file:
        found = git.blob_size(settings.repo, spec) is not None
    commit = rng.target_sha if ref == rng.target else git.resolve_commit(settings.repo, ref)
    return Policy(spec, commit or "", found, settings.policy_why)
