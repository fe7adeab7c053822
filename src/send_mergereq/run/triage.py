"""A closed gate's triage, for the runs that watch one (``send-mergereq BRANCH --wait``,
``--land``, ``status``): computed from the repository (the target the run fetched, the
commit the pipeline tested) and the failing jobs' log tails the watch kept, never from
the server's word alone; with ``--reply DIR`` a reply drafted for each suspect.

Only a closed gate pays for it, and it never fails the run: whatever goes wrong becomes
one line (``triage: not available: …``) and the verdict and exit code stand. Never
prints: the lines go to the watch's display, the document to ``run/document.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from send_mergereq.errors import SendMergereqError
from send_mergereq.terminal import visible

if TYPE_CHECKING:
    from send_mergereq.models import Job
    from send_mergereq.triage.closed_gate import Triage
    from send_mergereq.triage.drafts import Drafted
    from send_mergereq.watch.types import WatchResult


@dataclass(frozen=True)
class Replies:
    """``--reply DIR`` and the ``--emails`` files (read and checked before the run)."""

    directory: Path
    emails: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Source:
    """Where a triage reads from: the repository, the target's commit (the one the run
    fetched), the commit the pipeline tested, the branch's name and the next command."""

    repo: Path
    target: str
    tested: str
    branch: str
    command: str = ""
    replies: Replies | None = None


@dataclass(frozen=True)
class ClosedGate:
    """What a closed gate says after its failing jobs: the triage, or why there is none,
    and the replies drafted."""

    triage: Triage | None = None
    error: str = ""
    replies: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def lines(self) -> list[str]:
        """The lines the display prints after the failing jobs (escaped)."""
        lines = self.triage.lines() if self.triage is not None else []
        if self.error:
            lines.append(f"triage: not available: {visible(self.error)}")
        lines += [f"reply drafted (not sent): {visible(path)}" for path in self.replies]
        lines += list(self.notes)
        return lines

    def document(self) -> dict[str, Any]:
        """``triage`` in ``--json``: the pull requests, the next command, the drafts, the
        error (null when there is none)."""
        doc = self.triage.document() if self.triage is not None else {"pulls": [], "next": None}
        doc.pop("jobs", None)
        return {**doc, "replies": list(self.replies), "error": self.error or None}

    def job(self, name: str) -> dict[str, Any]:
        """What a ``failed_jobs[]`` entry gains: ``suspects``, ``basis``, ``owners``."""
        jobs = self.triage.document()["jobs"] if self.triage is not None else {}
        assert isinstance(jobs, dict)
        found: dict[str, Any] = jobs.get(name) or {}
        return {
            "suspects": found.get("suspects", []),
            "basis": found.get("basis"),
            "owners": found.get("owners", []),
        }


SourceOf = Callable[["WatchResult"], Source]


def closed_gate(source_of: SourceOf, watched: WatchResult) -> ClosedGate:
    """The triage of the closed gate ``watched`` ended with; never raises an Exception."""
    try:
        source = source_of(watched)
        found = _triage(source, watched)
    except Exception as exc:  # the verdict stands whatever the triage meets
        return ClosedGate(error=_said(exc))
    if source.replies is None:
        return ClosedGate(found)
    try:
        drafted = _replies(source, source.replies, found, watched.verdict.failed_gating)
    except Exception as exc:
        return ClosedGate(found, notes=(f"no reply drafted: {visible(_said(exc))}",))
    return ClosedGate(found, replies=drafted.written, notes=drafted.notes)


def _said(exc: Exception) -> str:
    if isinstance(exc, SendMergereqError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def _triage(source: Source, watched: WatchResult) -> Triage:
    from send_mergereq.scan.signatures import verify_tags
    from send_mergereq.triage.closed_gate import FailedJob, triage

    failed = [
        FailedJob(job.name, tuple((watched.logs.get(job.id) or "").split("\n")))
        for job in watched.verdict.failed_gating
    ]
    return triage(
        source.repo, source.target, source.tested, failed,
        verify=lambda tags: verify_tags(source.repo, tags), command=source.command,
        name=source.branch,
    )  # fmt: skip


def _replies(source: Source, replies: Replies, found: Triage, jobs: Sequence[Job]) -> Drafted:
    from send_mergereq import git
    from send_mergereq.triage.drafts import write_replies

    ident = git.ident(source.repo, "GIT_COMMITTER_IDENT").decode("utf-8", "replace")
    me = ident.rpartition(">")[0] + ">"
    urls = {job.name: job.web_url for job in jobs}
    return write_replies(
        source.repo, found, urls, replies.directory, emails=replies.emails, me=me,
        now=datetime.now(UTC),
    )  # fmt: skip
