"""What a closed gate says after the failing jobs and their log tails: the pull requests
in the tested staging, a likely culprit for each failing gating job with its evidence
and owners, and the exact next command. Pure: data in, plain lines out (escaped: tags,
subjects, files and log lines are untrusted); the caller decides where they go."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from email.utils import parseaddr

from send_mergereq.terminal import visible
from send_mergereq.triage.pulls import Pull
from send_mergereq.triage.suspects import NO_EVIDENCE, Suspicion

MAX_FILES_SHOWN = 5
MAX_EVIDENCE_SHOWN = 3
MAX_EVIDENCE_WIDTH = 200  # characters of one log line shown as evidence (piped too)


def _cut(line: str) -> str:
    return line if len(line) <= MAX_EVIDENCE_WIDTH else line[: MAX_EVIDENCE_WIDTH - 1] + "…"


def summary_lines(
    branch: str,
    pulls: Sequence[Pull],
    suspicions: Sequence[Suspicion],
    owners_of: Callable[[str], Sequence[str]] | None = None,
    *,
    command: str | None = None,
    maintainers_of: Callable[[str], Sequence[str]] | None = None,
) -> list[str]:
    """The triage of a closed gate, as lines (no trailing newlines); ``command`` is the
    next command in full (default ``send-mergereq bisect BRANCH``); ``maintainers_of``
    who looks after a suspect's files (by its merge: MAINTAINERS' people and lists)."""
    lines = [f"pull requests in {visible(branch)}, oldest first:"]
    if not pulls:
        lines.append("  (none: the branch adds no commit over the target)")
    for pull in pulls:
        lines += _pull_lines(pull)
    by_merge = {p.merge: p for p in pulls}
    if suspicions:
        lines.append("likely culprits:")
    for found in suspicions:
        owners = owners_of(found.job) if owners_of is not None else ()
        lines += _suspicion_lines(found, by_merge, owners, maintainers_of)
    lines.append(f"next: {visible(command or bisect_command(branch))}")
    return lines


def bisect_command(branch: str) -> str:
    """``send-mergereq bisect BRANCH``, safe to paste into a shell."""
    return f"send-mergereq bisect {shlex.quote(branch)}"


def _pull_lines(pull: Pull) -> list[str]:
    name = visible(pull.tag) if pull.tag else f"commit ({visible(pull.subject)})"
    facts = [f"{pull.commits} commit{'s' if pull.commits != 1 else ''}"]
    if pull.signer:  # the name is enough here (the whole user id is in --json)
        facts.append(f"signed by {visible(parseaddr(pull.signer)[0] or pull.signer)}")
    elif pull.signature and pull.signature != "good":
        facts.append(f"signature: {pull.signature}")
    shown = [visible(f) for f in pull.files[:MAX_FILES_SHOWN]]
    more = len(pull.files) - len(shown)
    files = ", ".join(shown) + (f" and {more} more" if more > 0 else "")
    return [
        f"  {pull.k}. {name}  {pull.merge[:12]}  {', '.join(facts)}",
        f"       {files or '(no file changed)'}",
    ]


def _suspicion_lines(
    found: Suspicion,
    by_merge: dict[str, Pull],
    owners: Sequence[str],
    maintainers_of: Callable[[str], Sequence[str]] | None,
) -> list[str]:
    job = visible(found.job)
    if found.basis == "none":
        lines = [f"  {job}: {NO_EVIDENCE}"]
    else:
        lines = []
        why = "its log names its files" if found.basis == "log" else "its owners' paths"
        for s in found.suspects:
            pull = by_merge.get(s.merge)
            if s.tag:
                name = f"{visible(s.tag)} ({s.merge[:12]})"
            else:  # a commit of its own: its id once, and its subject
                name = visible(pull.label) if pull else s.merge[:12]
            lines.append(f"  {job}: {name}: {why}")
            lines += [f"      {_cut(visible(e))}" for e in s.evidence[:MAX_EVIDENCE_SHOWN]]
            people = maintainers_of(s.merge) if maintainers_of is not None else ()
            if people:
                lines.append(f"      maintainers: {', '.join(visible(p) for p in people)}")
    if owners:
        lines.append(f"    owners: {', '.join(visible(o) for o in owners)}")
    return lines
