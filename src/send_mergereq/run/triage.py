"""A closed gate's triage, for the runs that watch one (``send-mergereq BRANCH --wait``,
``--land``, ``status``): computed from the repository (the target the run fetched, the
commit the pipeline tested) and the failing jobs' log tails the watch kept, never from
the server's word alone; with ``--reply DIR`` a reply drafted for each suspect.

Only a closed gate pays for it, and it never fails the run: whatever goes wrong becomes
one line (``triage: not available: …``) and the verdict and exit code stand. Never
prints: the lines go to the watch's display, the document to ``run/document.py``.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from send_mergereq.errors import SendMergereqError
from send_mergereq.terminal import visible

if TYPE_CHECKING:
    from send_mergereq.config import Settings
    from send_mergereq.gitlab.session import Session
    from send_mergereq.jobs.tiers import TargetHistory
    from send_mergereq.models import Job, MergeRequest
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
    notes: tuple[str, ...] = ()

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


def on_close(source_of: SourceOf | None, watched: WatchResult) -> ClosedGate | None:
    """The triage when ``watched`` ended on a closed gate (not interrupted); else None."""
    from send_mergereq.gate import Outcome

    if watched.interrupted or watched.verdict.outcome is not Outcome.CLOSED:
        return None
    if source_of is None or watched.pipeline is None:
        return None
    return closed_gate(source_of, watched)


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


def sent_source(settings: Settings, target: str, tested: str, replies: Replies | None) -> Source:
    """What a run that sent reads: the target it fetched and checked over, the commit it
    pushed (the one the pipeline tests, or merges into the target for merged results)."""
    return Source(
        settings.repo, target, tested, settings.branch,
        bisect_command(settings, settings.branch), replies,
    )  # fmt: skip


def status_source(
    settings: Settings, watched: WatchResult, mr: MergeRequest | None, replies: Replies | None
) -> Source:
    """What ``status``'s triage reads: the target as the last run fetched it (its
    remote-tracking ref: ``status`` talks to GitLab only, never to git), the commit the
    pipeline tested (for merged results, the merge request's head)."""
    from send_mergereq import git
    from send_mergereq.errors import GitError
    from send_mergereq.models import PipelineKind
    from send_mergereq.run.target import tracking_ref

    pipeline = watched.pipeline
    assert pipeline is not None
    merged = pipeline.kind is PipelineKind.MERGED_RESULT
    tested = mr.sha if merged and mr is not None else pipeline.sha
    branch = mr.source_branch if mr is not None else settings.branch
    if git.resolve_commit(settings.repo, tested) is None:
        raise GitError(
            f"the tested commit {tested[:12]} is not in this repository",
            hint=f"fetch {branch} and run status again",
        )
    return Source(
        settings.repo, tracking_ref(settings) or settings.target, tested, branch,
        bisect_command(settings, branch), replies,
    )  # fmt: skip


def bisect_command(settings: Settings, branch: str) -> str:
    """``send-mergereq bisect BRANCH`` with the target, remote, GitLab and project the run
    used (and ``-C`` when run from outside the repository), safe to paste into a shell."""
    words = ["send-mergereq"]
    here, repo = Path.cwd().resolve(), settings.repo.resolve()
    if here != repo and repo not in here.parents:
        words += ["-C", str(settings.repo)]
    words += ["bisect", branch, *settings.location_words()]
    return shlex.join(words)


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


def after_close(
    session: Session,
    target: str | None,
    watched: WatchResult,
    source_of: SourceOf | None,
    say: Callable[[str], None],
) -> tuple[Mapping[str, TargetHistory], ClosedGate | None, list[str]]:
    """A closed gate, all it says after its failing jobs: each one's history on ``target``
    (``jobs/gate_history.py``), the triage (:func:`on_close`), and, when a job fails on the
    target too, that the target is broken (a bisection would blame no pull request)."""
    from send_mergereq.jobs.gate_history import of_closed_gate

    histories: Mapping[str, TargetHistory] = {}
    if target is not None:
        histories = of_closed_gate(session.forge, session.repo, target, watched, say)
    lines = [f"{name}: {history.line()}" for name, history in histories.items()]
    closed = on_close(source_of, watched)
    if closed is not None:
        lines += closed.lines()
    broken = [name for name, h in histories.items() if h.verdict == "broken_on_target"]
    if broken and target is not None:
        lines.append(f"note: {', '.join(broken)} also fail{'s' if len(broken) == 1 else ''} "
                     f"on {target}: the target is broken, not this staging "
                     "(bisect would blame no pull request)")  # fmt: skip
    return histories, closed, lines
