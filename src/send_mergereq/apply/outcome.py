"""What ``apply`` ends with: each pull request's ``PullOutcome``, the run's
``ApplyResult`` and its exit code, and the summary lines said at the end. Pure values;
``flow.py`` makes them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from send_mergereq.apply.pulls import PullRequest
from send_mergereq.checks.finding import Finding
from send_mergereq.errors import ExitCode


class Result(StrEnum):
    APPLIED = "applied"  # merged (or, with --dry-run, would be)
    REFUSED = "refused"  # the signature or the checks said no
    CONFLICT = "conflict"  # does not merge cleanly
    FETCH_FAILED = "fetch-failed"
    SKIPPED = "skipped"  # not tried: an earlier pull request stopped the run
    ALREADY_APPLIED = "already-applied"  # the branch already contains it: nothing to merge


# The run's exit code when pull requests end differently: a refusal says most.
_WORST_FIRST = (ExitCode.CHECKS_FAILED, ExitCode.NOT_MERGED, ExitCode.GITLAB_OR_GIT)


_EXIT = {
    Result.APPLIED: ExitCode.OK,
    Result.REFUSED: ExitCode.CHECKS_FAILED,
    Result.CONFLICT: ExitCode.NOT_MERGED,
    Result.FETCH_FAILED: ExitCode.GITLAB_OR_GIT,
    Result.SKIPPED: ExitCode.OK,
    Result.ALREADY_APPLIED: ExitCode.OK,
}


@dataclass(frozen=True)
class ApplyOptions:
    branch: str = "staging"
    dry_run: bool = False
    keep_going: bool = False
    expect: str | None = None  # --expect SHA: the commit the tag must point at
    allow_old_tag: bool = False  # --allow-old-tag: no apply.max-tag-age limit
    allow_local: bool = False  # --allow-local: local paths and file:// may be fetched


@dataclass(frozen=True)
class PullOutcome:
    pull: PullRequest
    result: Result
    signer: str = ""
    commits: int = 0  # commits the pull request adds over the branch
    findings: tuple[Finding, ...] = ()
    reason: str = ""  # why it was refused, one line
    hint: str = ""
    merge_sha: str | None = None
    conflicts: tuple[str, ...] = ()
    subjects: Mapping[str, str] = field(default_factory=dict)
    tagged: str = ""  # when the tag was signed (its tagger date), as the tagger's clock said
    notices: tuple[str, ...] = ()  # applied, but worth a word (a key not certified)

    @property
    def exit_code(self) -> ExitCode:
        return _EXIT[self.result]


@dataclass(frozen=True)
class ApplyResult:
    branch: str
    target: str
    branch_before: str | None
    branch_after: str | None
    pulls: tuple[PullOutcome, ...]
    dry_run: bool
    afresh: bool = False  # the target contained the branch (it landed): built from the target

    @property
    def exit_code(self) -> ExitCode:
        """3 when anything was refused, else 8 for a conflict, else 6 for a failed fetch."""
        codes = {p.exit_code for p in self.pulls}
        return next((code for code in _WORST_FIRST if code in codes), ExitCode.OK)

    def count(self, result: Result) -> int:
        return sum(p.result is result for p in self.pulls)


def _line(outcome: PullOutcome, dry_run: bool) -> str:
    """One line for an outcome: the summary's and the progress's."""
    tag, count = outcome.pull.tag, outcome.commits
    added = f"{count} commit{'s' if count != 1 else ''}"
    signer = f", signed by {outcome.signer}" if outcome.signer else ""
    if outcome.tagged:  # when: "tagged by Carol … on DATE", else "tagged DATE"
        signer += (
            f" on {outcome.tagged}" if ", tagged by " in signer else f", tagged {outcome.tagged}"
        )
    if outcome.result is Result.APPLIED:
        word = "would apply" if dry_run else "applied"
        return f"  {word} {tag}: {added}{signer} -> {(outcome.merge_sha or '')[:12]}"
    if outcome.result is Result.CONFLICT:
        return f"  conflict {tag}: {outcome.reason}"
    if outcome.result is Result.SKIPPED:
        return f"  skipped {tag}: an earlier pull request stopped the run (see --keep-going)"
    if outcome.result is Result.ALREADY_APPLIED:
        return f"  already applied {tag}: {outcome.reason}"
    return f"  {outcome.result} {tag}{signer}: {outcome.reason}"


def summary_lines(result: ApplyResult) -> list[str]:
    """The end summary: each pull request applied, refused (why) or conflict."""
    lines = [f"{'dry run: ' if result.dry_run else ''}{result.branch}:"]
    for outcome in result.pulls:
        lines.append(_line(outcome, result.dry_run))
        lines += [f"    note: {notice}" for notice in outcome.notices]
    lines.append(_counts(result))
    before, after = result.branch_before, result.branch_after
    afresh = f" (started afresh from {result.target})" if result.afresh and before != after else ""
    if result.dry_run:
        lines.append(f"{result.branch} would be at {(after or '-')[:12]}{afresh} (nothing written)")
    elif before != after:
        was = before[:12] if before else f"created from {result.target}"
        lines.append(f"{result.branch}: {was} -> {(after or '-')[:12]}{afresh}")
    else:
        lines.append(f"{result.branch} unchanged at {(before or '(absent)')[:12]}")
    return lines


def _counts(result: ApplyResult) -> str:
    """``3 pull requests: 1 applied, 1 already applied, 1 refused, 0 conflict, 0 skipped``."""
    total = len(result.pulls)
    parts = [
        f"{result.count(Result.APPLIED)} {'would apply' if result.dry_run else 'applied'}",
        f"{result.count(Result.ALREADY_APPLIED)} already applied",
        f"{result.count(Result.REFUSED)} refused",
        f"{result.count(Result.CONFLICT)} conflict",
        f"{result.count(Result.SKIPPED)} skipped",
    ]
    if result.count(Result.FETCH_FAILED):
        parts.append(f"{result.count(Result.FETCH_FAILED)} fetch failed")
    return f"{total} pull request{'s' if total != 1 else ''}: " + ", ".join(parts)
