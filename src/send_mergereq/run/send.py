"""One run after the checks, phase by phase, for ``send-mergereq BRANCH`` and ``status``.

``send``: open the GitLab session once, publish (push, and the merge request in MR
mode), then with ``--wait`` watch, with ``--land`` land; ``status``: find the
pipeline gating a merge request now (no push) and watch it. Human text goes to
``Output.human``; with ``--json`` one document (``document.document``) on stdout.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from send_mergereq import deadline
from send_mergereq.config import LandMode, Settings
from send_mergereq.errors import ConfigError, ExitCode, ForgeError
from send_mergereq.output import Output
from send_mergereq.run.clock import Notify, quiet
from send_mergereq.run.document import document
from send_mergereq.watch.types import WatchOptions, WatchResult

if TYPE_CHECKING:
    from send_mergereq.gitlab.session import Session
    from send_mergereq.jobs.tiers import TargetHistory
    from send_mergereq.models import MergeRequest, Pipeline
    from send_mergereq.report import CheckReport
    from send_mergereq.run.land_decision import Basis, LandResult
    from send_mergereq.run.publish import Editor, Published, PublishRequest
    from send_mergereq.run.settled import Settled
    from send_mergereq.run.target import Contained
    from send_mergereq.run.triage import ClosedGate, Replies, SourceOf
    from send_mergereq.watch.display import HeldVerdict


@dataclass(frozen=True)
class SendOptions:
    """What the command line asks of the run past the checks."""

    wait: bool = False
    title: str | None = None
    description: str | None = None
    edit: bool = False
    labels: tuple[str, ...] | None = None
    assignee_ids: tuple[int, ...] | None = None  # resolved before the checks (run/people.py)
    reviewer_ids: tuple[int, ...] | None = None
    auto_merge: bool = False
    watch: WatchOptions = field(default_factory=WatchOptions)
    land: bool = False
    refresh: bool = False
    refresh_limit: int = 3
    replies: Replies | None = None  # --reply DIR (and --emails): drafts on a closed gate


def resume_command(
    settings: Settings,
    directory: Path,
    options: SendOptions,
    use_mr: bool | None,
    *,
    status_of: str | None = None,
) -> str:
    """The command that picks the run up again, safe to paste into bash or zsh (each word
    quoted): ``status`` re-attaches to the pipeline (of ``status_of``, a branch or ``!IID``);
    with ``--land`` the run itself, which pushes nothing new and reuses the pipeline. It
    names the target, remote, GitLab and project the run used, so it resumes that one."""
    words = ["send-mergereq"]
    if directory != Path("."):
        words += ["-C", str(directory)]
    if status_of is not None or not options.land:
        words += ["status", status_of or settings.branch]
    else:
        words += [settings.branch, "--land"]
        words += {None: [], False: ["--no-mr"], True: ["--mr"]}[use_mr]
        words += ["--refresh"] * options.refresh
    words += settings.location_words()
    return shlex.join(words)


def publish_request(
    settings: Settings, report: CheckReport, options: SendOptions
) -> PublishRequest:
    """What to publish, from the settings (branch names, remote, mode) and the MR flags."""
    from send_mergereq.run.publish import PublishRequest

    assert settings.remote, "Session.open refuses a run without a remote"
    return PublishRequest(
        repo=settings.repo,
        range=report.range,
        branch=settings.source_branch,
        target=settings.target_branch,
        remote=settings.remote,
        mode=settings.mode,
        title=options.title,
        description=options.description,
        labels=options.labels,
        assignee_ids=options.assignee_ids,
        reviewer_ids=options.reviewer_ids,
        auto_merge=options.auto_merge,
    )


def prepare(
    settings: Settings, reload: Callable[[], Settings], say: Notify = quiet
) -> tuple[Session, Settings, Contained | None]:
    """Before the checks of a run that sends: open the session (no remote, not GitLab, no
    token: said first; whom the token is for, when that matters, said once), fetch the
    target's head, and re-read the settings when it moved (the policy file comes from the
    target). ``Contained`` when the target already has the branch: then there is nothing
    to check or send."""
    from send_mergereq.run.target import contained_locally, fetch_target

    session = open_session(settings, say)
    if fetch_target(session, settings):
        settings = reload()
    return session, settings, contained_locally(settings)


def open_session(settings: Settings, say: Notify) -> Session:
    """The run's GitLab session, its notes said (once: the session is opened once)."""
    from send_mergereq.gitlab.session import Session

    session = Session.open(settings)
    session.notify = say  # GitLab's long waits (rate limits, 5xx) said as they happen
    for note in session.notes:
        say(note)
    return session


def up_to_date(
    contained: Contained, out: Output, checks: Mapping[str, Any] | None = None
) -> ExitCode:
    """Nothing to send: say so (and the document with ``--json``); exit 0."""
    out.say(contained.line())
    if out.as_json:
        out.document(document(exit_code=ExitCode.OK, checks=checks, contained=contained))
    return ExitCode.OK


def send(
    settings: Settings,
    report: CheckReport,
    options: SendOptions,
    out: Output,
    *,
    resume: str,
    edit: Editor | None = None,
    session: Session | None = None,
    sending: Callable[[], None] = lambda: None,
) -> ExitCode:
    """Publish the checked head and find the pipeline testing it; watch it with ``--wait``;
    land what passed with ``--land``. Nothing when GitLab's target already has the head.
    ``sending`` is called just before the push starts."""
    from send_mergereq.report import to_json
    from send_mergereq.run.publish import publish
    from send_mergereq.run.target import contained_on_server
    from send_mergereq.run.triage import sent_source

    session = session or open_session(settings, out.say)
    req = publish_request(settings, report, options)
    contained = contained_on_server(
        session.forge, req.target, req.branch, req.range.branch_sha,
        checked_over=req.range.target_sha,
    )  # fmt: skip
    if contained is not None:
        return up_to_date(contained, out, to_json(report))
    published = publish(
        req, session, notify=out.say, edit=edit if options.edit else None, sending=sending
    )
    for note in published.notes:
        out.say(note)
    run = _AfterPublish(session, options, out, resume, to_json(report), published)
    tested = sent_source(settings, req.range.target_sha, req.range.branch_sha, options.replies)
    run.triage_of = lambda _: tested
    if not options.wait:
        out.say(f"follow it with: {resume}")
        return run.finish(ExitCode.OK)
    mr_mode = settings.mode is LandMode.MR
    watched = run.watch(published.pipeline, hold=mr_mode)  # the verdict line says "stale"
    if watched.interrupted:
        run.release(None)
        return run.finish(watched.exit_code, watched)
    basis = run.freshness(watched) if mr_mode else None
    if options.land:
        return run.land(watched)
    if mr_mode and published.merge_request and session.forge.info.merge_trains_enabled:
        out.say(f"{published.target} lands through its merge train: --land adds "
                f"!{published.merge_request.iid} to the train, never a direct merge")  # fmt: skip
    return run.finish(watched.exit_code, watched, basis=basis)


def status(
    settings: Settings, which: str, options: SendOptions, out: Output, *, resume: str
) -> ExitCode:
    """Re-attach to the current pipeline of a merge request (``BRANCH`` or ``!IID``); no push."""

    with deadline.overall(options.watch.timeout):  # the whole wait: finding it, then watching
        session = open_session(settings, out.say)
        return _status(session, settings, which, options, out, resume=resume)


def _status(
    session: Session,
    settings: Settings,
    which: str,
    options: SendOptions,
    out: Output,
    *,
    resume: str,
) -> ExitCode:
    from send_mergereq.run.discovery import gate_of, merge_request_of
    from send_mergereq.run.settled import contained_branch, landed_branch, read_which, settled_mr
    from send_mergereq.run.triage import status_source

    forge, branch = session.forge, settings.source_branch
    which, how = read_which(forge, settings.repo, which)
    if how:
        out.say(how)
    mr, head = merge_request_of(forge, which, branch, settings.target_branch)
    settled, older = (settled_mr(mr), None) if mr else (None, None)
    if mr is None and not which.startswith("!"):
        settled, older = landed_branch(forge, branch, settings.target_branch)
        contained = None if settled else contained_branch(forge, branch, settings.target_branch)
        if contained is not None:
            out.say(f"{contained.target} already contains {branch} ({contained.branch_sha[:12]}) "
                    "on GitLab: it landed, nothing to watch")  # fmt: skip
            if out.as_json:
                out.document(document(exit_code=ExitCode.OK, contained=contained))
            return ExitCode.OK
    if settled is not None:
        return _settled(settled, out)
    pipeline = gate_of(forge, mr, head, branch, which, notify=out.say, hint=older)
    if mr is not None:
        out.say(f"merge request !{mr.iid}: {mr.web_url}")
    out.say(_pipeline_line(pipeline))
    run = _AfterPublish(session, options, out, resume, {})
    run.triage_of = lambda watched: status_source(settings, watched, mr, options.replies)
    run.target = mr.target_branch if mr is not None else settings.target_branch
    watched = run.watch(pipeline)
    return run.finish(watched.exit_code, watched, mr=mr)


def _settled(settled: Settled, out: Output) -> ExitCode:
    """A merged merge request: nothing to watch; said, and its document (exit 0). A closed
    one is a ConfigError (exit 2): nothing to follow."""
    if not settled.merged:
        raise ConfigError(settled.line(), hint=settled.hint())
    out.say(settled.line())
    if out.as_json:
        out.document({**settled.document(), "exit_code": int(ExitCode.OK)})
    return ExitCode.OK


@dataclass
class _AfterPublish:
    """What the phases after publishing share: the session, where output goes, and the
    check report's sections for the document."""

    session: Session
    options: SendOptions
    out: Output
    resume: str
    checks: Mapping[str, Any]
    published: Published | None = None
    held: HeldVerdict | None = None
    triage_of: SourceOf | None = None  # where a closed gate's triage reads from
    closed: ClosedGate | None = None  # the last closed gate's triage
    histories: Mapping[str, TargetHistory] = field(default_factory=dict)  # its jobs on the target
    target: str | None = None  # the branch whose history a closed gate's jobs are seen in

    def watch(self, pipeline: Pipeline, *, hold: bool = False) -> WatchResult:
        """Watch ``pipeline``; with ``hold`` its verdict waits for :meth:`release`. A closed
        gate's triage is said after its failing jobs (computed before the verdict shows)."""
        from send_mergereq.watch.display import HeldVerdict
        from send_mergereq.watch.loop import watch

        held = HeldVerdict(self.out.display())
        if hold:
            self.held = held
        watched = watch(
            self.session.forge, pipeline.id, held, self.options.watch, resume_command=self.resume
        )
        try:
            self.triage(watched, held)
        except BaseException:
            held.release()
            raise
        if not hold:
            held.release()
        return watched

    def triage(self, watched: WatchResult, held: HeldVerdict) -> None:
        """On a closed gate, what ``run/triage.after_close`` says, added to the held verdict."""
        from send_mergereq.run.triage import after_close

        target = self.published.target if self.published is not None else self.target
        self.histories, self.closed, lines = after_close(
            self.session, target, watched, self.triage_of, self.out.say
        )
        if lines:
            held.add(tuple(lines))

    def freshness(self, watched: WatchResult) -> Basis | None:
        """For a plain ``--wait`` on an open gate: is the result stale? (said, not acted on)"""
        from send_mergereq.run.land import check_stale
        from send_mergereq.run.land_decision import stale_line

        assert self.published is not None
        try:
            basis = check_stale(self.session.forge, self.published, watched)
        except ForgeError as exc:  # the verdict stands; only the freshness is unknown
            target = self.published.target
            self.out.say(f"could not check whether {target} moved since: {exc.message}")
            self.release(None)
            return None
        except BaseException:
            self.release(None)
            raise
        stale = stale_line(basis, self.published.target) if basis and basis.stale else None
        self.release(stale)
        return basis

    def release(self, stale: str | None) -> None:
        """Show the verdict a held watch kept back (``stale``: in the verdict line)."""
        if self.held is not None:
            self.held.release(stale)

    def land(self, watched: WatchResult) -> ExitCode:
        from send_mergereq.run.land import land

        assert self.published is not None
        landed, watched = land(
            self.session, self.published, watched, rewatch=self.watch,
            refresh=self.options.refresh, refresh_limit=self.options.refresh_limit,
            notify=self.out.say,
        )  # fmt: skip
        self.out.say(landed.line(self.published.target))
        if landed.landed and (landed.target_head or landed.sha):
            from send_mergereq.run.target import record_landing

            head = landed.target_head or landed.sha
            assert head is not None
            record_landing(self.session, self.published.target, None, head)
        for note in landed.notes:
            self.out.say(note)
        if landed.stale and not landed.landed:
            again = "with a higher --refresh-limit" if self.options.refresh else "with --refresh"
            self.out.say(
                f"hint: run again {again} to start a pipeline on the current "
                f"{self.published.target} and land it if it passes"
            )
        return self.finish(landed.exit_code, watched, landed=landed)

    def finish(
        self,
        exit_code: ExitCode,
        watched: WatchResult | None = None,
        *,
        mr: MergeRequest | None = None,
        basis: Basis | None = None,
        landed: LandResult | None = None,
    ) -> ExitCode:
        """The run's exit code; with ``--json``, the one document saying the same. A gate
        that closed with jobs still alive: ``--cancel-rest`` cancels them, else a hint."""
        if watched is not None:
            self.the_rest(watched)
        if self.out.as_json:
            doc = document(
                exit_code=exit_code, checks=self.checks, published=self.published,
                watched=watched, merge_request=mr, basis=basis, landed=landed,
                closed=self.closed,
                histories={name: h.document() for name, h in self.histories.items()},
            )  # fmt: skip
            self.out.document(doc)
        return exit_code

    def the_rest(self, watched: WatchResult) -> None:
        """On a closed gate, cancel what is left (``--cancel-rest``) or say how to."""
        from send_mergereq.run.cancel import after_close

        cancel = self.options.watch.cancel_rest
        after_close(self.session.forge, watched, cancel, self.resume, self.out.say)


def _pipeline_line(pipeline: Pipeline) -> str:
    kind = str(pipeline.kind).replace("_", " ")
    return f"{kind} pipeline #{pipeline.id} ({pipeline.status}): {pipeline.web_url}"
