"""One run after the checks: submit (push, MR, pipeline), then watch, for
``send-mergereq BRANCH`` and ``send-mergereq status``.

The CLI builds the plain option values; this module calls the phases in order
and picks the renderer. Human text goes to stdout, or to stderr under
``--json`` (stdout then carries one JSON document, at the end).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from send_mergereq.config import Settings
from send_mergereq.errors import ConfigError, ExitCode, ForgeError
from send_mergereq.watch import WatchOptions, WatchResult

if TYPE_CHECKING:
    from send_mergereq.display import Display
    from send_mergereq.forge import Forge
    from send_mergereq.landing import LandResult
    from send_mergereq.models import MergeRequest, Pipeline
    from send_mergereq.report import CheckReport
    from send_mergereq.submit import SubmitRequest


@dataclass(frozen=True)
class Output:
    """Where human text and the JSON document go."""

    as_json: bool = False
    color: bool | None = None
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)

    @property
    def human(self) -> IO[str]:
        return self.stderr if self.as_json else self.stdout

    def say(self, line: str) -> None:
        self.human.write(line + "\n")
        self.human.flush()

    def document(self, doc: Mapping[str, Any]) -> None:
        self.stdout.write(json.dumps(doc, indent=2) + "\n")
        self.stdout.flush()

    def live(self) -> bool:
        return not self.as_json and self.color is not False and self.human.isatty()


@dataclass(frozen=True)
class SendOptions:
    """What the command line asks of the run past the checks."""

    wait: bool = False
    gitlab_url: str | None = None
    project: str | None = None
    title: str | None = None
    description: str | None = None
    edit: bool = False
    labels: tuple[str, ...] | None = None
    assignees: tuple[str, ...] = ()
    auto_merge: bool = False
    watch: WatchOptions = field(default_factory=WatchOptions)
    land: bool = False
    no_mr: bool | None = None  # --mr/--no-mr; None: git config, then the project policy
    refresh: bool = False
    refresh_limit: int = 3


def resume_command(settings: Settings, directory: Path, options: SendOptions) -> str:
    """The command that picks the run up again: ``status`` re-attaches to the pipeline;
    with ``--land`` the run itself, which pushes nothing new and reuses the pipeline."""
    where = "" if directory == Path(".") else f" -C {directory}"
    if not options.land:
        return f"send-mergereq{where} status {settings.branch}"
    mode = {None: "", True: " --no-mr", False: " --mr"}[options.no_mr]
    refresh = " --refresh" if options.refresh else ""
    return f"send-mergereq{where} {settings.branch} --land{mode}{refresh}"


def send(
    settings: Settings,
    report: CheckReport,
    options: SendOptions,
    out: Output,
    *,
    resume: str,
    edit: Callable[[str], str | None] | None = None,
) -> ExitCode:
    """Push the checked head, open or update the MR (or, push-only, just push), find the
    pipeline testing it; watch it with ``--wait``; land what passed with ``--land``."""
    from send_mergereq.land import mode_for
    from send_mergereq.landing import LandMode
    from send_mergereq.report import to_json
    from send_mergereq.submit import request_from_settings

    req = request_from_settings(
        settings,
        report.range,
        os.environ,
        gitlab_url=options.gitlab_url,
        project=options.project,
        title=options.title,
        description=options.description,
        labels=options.labels,
        assignees=options.assignees,
        auto_merge=options.auto_merge,
    )
    run = _Run(options, out, resume, to_json(report))
    if mode_for(settings, options.no_mr) is LandMode.PUSH:
        return run.push_only(req)
    return run.merge_request(req, edit if options.edit else None)


@dataclass
class _Run:
    """One submission's watch and landing, and the JSON document they add up to."""

    options: SendOptions
    out: Output
    resume: str
    doc: dict[str, Any]

    def merge_request(
        self, req: SubmitRequest, edit: Callable[[str], str | None] | None
    ) -> ExitCode:
        from send_mergereq.land import check_stale, land_with_refresh
        from send_mergereq.landing import stale_line
        from send_mergereq.submit import submit

        result = submit(req, notify=self.out.say, edit=edit)
        self._submitted(result.notes, result.as_json())
        if not self.options.wait:
            return self._pending()
        assert result.forge is not None
        forge = result.forge
        watched = self._watch(forge, result.pipeline)
        if watched.interrupted:
            return self._done(watched, result.merge_request)
        if self.options.land:
            rewatch = partial(self._watch, forge)
            landed, watched = land_with_refresh(
                forge, result, watched, rewatch=rewatch, refresh=self.options.refresh,
                refresh_limit=self.options.refresh_limit, notify=self.out.say,
            )  # fmt: skip
            return self._landed(landed, watched, req.target, result.merge_request)
        try:
            basis = check_stale(forge, result, watched)
        except ForgeError as exc:  # the verdict stands; only the freshness is unknown
            self.out.say(f"could not check whether {req.target} moved since: {exc.message}")
            basis = None
        if basis is not None:
            if basis.stale:
                self.out.say(stale_line(basis, req.target))
            self.doc.update(basis.as_json())
        return self._done(watched, result.merge_request)

    def push_only(self, req: SubmitRequest) -> ExitCode:
        from send_mergereq.land_push import land_fast_forward, push_only

        pushed = push_only(req, notify=self.out.say)
        self._submitted(pushed.notes, pushed.as_json())
        if not self.options.wait:
            return self._pending()
        assert pushed.forge is not None
        watched = self._watch(pushed.forge, pushed.pipeline)
        if not self.options.land or watched.interrupted:
            return self._done(watched, None)
        landed = land_fast_forward(
            pushed.forge, pushed, watched.pipeline or pushed.pipeline, watched.verdict,
            notify=self.out.say,
        )  # fmt: skip
        return self._landed(landed, watched, req.target, None)

    def _submitted(self, notes: tuple[str, ...], sections: Mapping[str, Any]) -> None:
        for note in notes:
            self.out.say(note)
        self.doc.update(sections)

    def _pending(self) -> ExitCode:
        self.out.say(f"follow it with: {self.resume}")
        self._document({"verdict": "pending", "exit_code": 0})
        return ExitCode.OK

    def _watch(self, forge: Forge, pipeline: Pipeline) -> WatchResult:
        from send_mergereq.watch import watch

        display = _display(self.out)
        return watch(forge, pipeline.id, display, self.options.watch, resume_command=self.resume)

    def _landed(
        self, landed: LandResult, watched: WatchResult, target: str, mr: MergeRequest | None
    ) -> ExitCode:
        self.out.say(landed.line(target))
        for note in landed.notes:
            self.out.say(note)
        self.doc.update(landed.as_json())
        self._done(watched, mr)
        return landed.exit_code

    def _done(self, watched: WatchResult, mr: MergeRequest | None) -> ExitCode:
        """The watch's sections (verdict, pipeline, jobs) over everything collected before."""
        from send_mergereq.document import build_document

        if self.out.as_json:
            self.out.document(build_document(watched, mr, self.doc))
        return watched.exit_code

    def _document(self, extra: Mapping[str, Any]) -> None:
        if self.out.as_json:
            self.out.document({**self.doc, **extra})


def _pipeline_line(pipeline: Pipeline) -> str:
    kind = str(pipeline.kind).replace("_", " ")
    return f"{kind} pipeline #{pipeline.id} ({pipeline.status}): {pipeline.web_url}"


def _display(out: Output) -> Display:
    """The live table on a terminal, plain lines otherwise (stderr under ``--json``)."""
    from send_mergereq.display import LiveDisplay, PlainDisplay

    if out.live():
        from rich.console import Console

        return LiveDisplay(Console(file=out.human, force_terminal=True))
    return PlainDisplay(out.human)


def status(
    settings: Settings,
    which: str,
    options: SendOptions,
    out: Output,
    *,
    resume: str,
) -> ExitCode:
    """Re-attach to the current pipeline of a merge request (``BRANCH`` or ``!IID``); no push."""
    forge = _connect(settings, options)
    mr, pipeline = _current_pipeline(forge, settings, which, out.say)
    if mr is not None:
        out.say(f"merge request !{mr.iid}: {mr.web_url}")
    out.say(_pipeline_line(pipeline))
    run = _Run(options, out, resume, {})
    return run._done(run._watch(forge, pipeline), mr)


def _connect(settings: Settings, options: SendOptions) -> Forge:
    from send_mergereq.credentials import find_token
    from send_mergereq.submit import connect, resolve_location

    if not settings.remote:
        raise ConfigError("no git remote names the GitLab project", hint="pass --remote NAME")
    location = resolve_location(settings.repo, settings.remote, options.gitlab_url, options.project)
    token = find_token(location.gitlab_url, project=location.project, cwd=settings.repo)
    return connect(location, token)


def _current_pipeline(
    forge: Forge, settings: Settings, which: str, say: Callable[[str], None]
) -> tuple[MergeRequest | None, Pipeline]:
    from send_mergereq.push import gitlab_branch_name

    if which.startswith("!"):
        if not which[1:].isdigit():
            raise ConfigError(f"{which!r} is not a merge request: use !IID, e.g. !42")
        mr, head = forge.merge_request(int(which[1:]))
    else:
        branch = gitlab_branch_name(which, settings.remote or "")
        target = gitlab_branch_name(settings.target, settings.remote or "")
        found = forge.find_open_mr(branch, target)
        if found is None:
            return None, _latest_branch_pipeline(forge, branch, which)
        mr, head = forge.merge_request(found.iid)
    pipeline = _gate_pipeline(forge, mr, head, say) if head else _latest(forge, mr)
    return mr, pipeline


def _gate_pipeline(
    forge: Forge,
    mr: MergeRequest,
    head: Pipeline,
    say: Callable[[str], None],
    *,
    sleep: Callable[[float], None] = time.sleep,
    timeout: float = 60.0,
) -> Pipeline:
    """GitLab's head pipeline may be the branch pipeline of the MR's head while the project
    runs MR pipelines: then the gate is the MR pipeline of the same push (a newer id); wait
    for it as ``submit`` does, and fall back on the branch pipeline only if none comes."""
    from send_mergereq.discovery import Target, best
    from send_mergereq.models import PipelineKind

    target = Target(mr.iid, mr.source_branch, mr.sha, floor=head.id)
    waited, delay = 0.0, 1.0
    while head.kind is PipelineKind.BRANCH:
        pipelines = forge.mr_pipelines(mr.iid)
        found = best(pipelines, target)
        if found is not None and found.kind is not PipelineKind.BRANCH:
            return found
        mr_kinds = any(p.kind is not PipelineKind.BRANCH for p in pipelines)
        if waited >= timeout or not (forge.info.merge_pipelines_enabled or mr_kinds):
            break
        if not waited:
            say(f"waiting for GitLab to create the merge request pipeline of !{mr.iid} …")
        sleep(delay)
        waited, delay = waited + delay, min(delay * 1.5, 5.0)
    return head


def _latest_branch_pipeline(forge: Forge, branch: str, which: str) -> Pipeline:
    """No merge request (push-only mode): the newest pipeline of the branch."""
    pipelines = _gates(forge.branch_pipelines(branch))
    if not pipelines:
        raise ConfigError(
            f"no open merge request and no pipeline for {branch} in {forge.info.path}",
            hint=f"send it first: send-mergereq {which}",
        )
    return max(pipelines, key=lambda p: p.id)


def _latest(forge: Forge, mr: MergeRequest) -> Pipeline:
    pipelines = _gates(forge.mr_pipelines(mr.iid))
    if not pipelines:
        raise ConfigError(
            f"merge request !{mr.iid} has no pipeline yet",
            hint=f"start one by sending again: send-mergereq {mr.source_branch}",
        )
    return max(pipelines, key=lambda p: p.id)


def _gates(pipelines: list[Pipeline]) -> list[Pipeline]:
    """Leave out child pipelines: same ref and sha as their parent and a higher id, never
    the gate themselves (the watch follows them through the parent's bridge)."""
    from send_mergereq.discovery import CHILD_SOURCE

    return [p for p in pipelines if p.source != CHILD_SOURCE]
