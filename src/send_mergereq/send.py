"""One run after the checks: submit (push, MR, pipeline), then watch, for
``send-mergereq BRANCH`` and ``send-mergereq status``.

The CLI builds the plain option values; this module calls the phases in order
and picks the renderer. Human text goes to stdout, or to stderr under
``--json`` (stdout then carries one JSON document, at the end).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from send_mergereq.config import Settings
from send_mergereq.errors import ConfigError, ExitCode
from send_mergereq.watch import WatchOptions, WatchResult

if TYPE_CHECKING:
    from send_mergereq.display import Display
    from send_mergereq.forge import Forge
    from send_mergereq.models import MergeRequest, Pipeline
    from send_mergereq.report import CheckReport


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


def resume_command(settings: Settings, directory: Path) -> str:
    """The command that re-attaches to this branch's merge request pipeline."""
    where = "" if directory == Path(".") else f" -C {directory}"
    return f"send-mergereq{where} status {settings.branch}"


def send(
    settings: Settings,
    report: CheckReport,
    options: SendOptions,
    out: Output,
    *,
    resume: str,
    edit: Callable[[str], str | None] | None = None,
) -> ExitCode:
    """Push the checked head, open or update the MR, find its pipeline; watch it if asked."""
    from send_mergereq.report import to_json
    from send_mergereq.submit import request_from_settings, submit

    req = request_from_settings(
        settings,
        report.range,
        _environ(),
        gitlab_url=options.gitlab_url,
        project=options.project,
        title=options.title,
        description=options.description,
        labels=options.labels,
        assignees=options.assignees,
        auto_merge=options.auto_merge,
    )
    result = submit(req, notify=out.say, edit=edit if options.edit else None)
    for note in result.notes:
        out.say(note)
    earlier = {**to_json(report), **result.as_json()}
    if not options.wait:
        out.say(f"follow it with: {resume}")
        if out.as_json:
            out.document({**earlier, "verdict": "pending", "exit_code": 0})
        return ExitCode.OK
    assert result.forge is not None
    watched = follow(result.forge, result.pipeline, result.merge_request, options.watch, out,
                     resume=resume, earlier=earlier)  # fmt: skip
    return watched.exit_code


def _environ() -> Mapping[str, str]:
    import os

    return os.environ


def _pipeline_line(pipeline: Pipeline) -> str:
    kind = str(pipeline.kind).replace("_", " ")
    return f"{kind} pipeline #{pipeline.id} ({pipeline.status}): {pipeline.web_url}"


def follow(
    forge: Forge,
    pipeline: Pipeline,
    merge_request: MergeRequest | None,
    options: WatchOptions,
    out: Output,
    *,
    resume: str,
    earlier: Mapping[str, Any] | None = None,
) -> WatchResult:
    """Watch ``pipeline`` to a verdict with the renderer that fits ``out``."""
    from send_mergereq.watch import watch

    display = _display(out, merge_request, earlier)
    return watch(forge, pipeline.id, display, options, resume_command=resume)


def _display(
    out: Output, merge_request: MergeRequest | None, earlier: Mapping[str, Any] | None
) -> Display:
    from send_mergereq.display import JsonDisplay, LiveDisplay, PlainDisplay

    if out.as_json:
        return JsonDisplay(out.stdout, out.stderr, merge_request=merge_request, earlier=earlier)
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
    mr, pipeline = _current_pipeline(forge, settings, which)
    out.say(f"merge request !{mr.iid}: {mr.web_url}")
    out.say(_pipeline_line(pipeline))
    return follow(forge, pipeline, mr, options.watch, out, resume=resume).exit_code


def _connect(settings: Settings, options: SendOptions) -> Forge:
    from send_mergereq.credentials import find_token
    from send_mergereq.submit import connect, resolve_location

    if not settings.remote:
        raise ConfigError("no git remote names the GitLab project", hint="pass --remote NAME")
    location = resolve_location(settings.repo, settings.remote, options.gitlab_url, options.project)
    token = find_token(location.gitlab_url, project=location.project, cwd=settings.repo)
    return connect(location, token)


def _current_pipeline(
    forge: Forge, settings: Settings, which: str
) -> tuple[MergeRequest, Pipeline]:
    from send_mergereq.push import gitlab_branch_name

    if which.startswith("!"):
        if not which[1:].isdigit():
            raise ConfigError(f"{which!r} is not a merge request: use !IID, e.g. !42")
        mr, head = forge.merge_request(int(which[1:]))
    else:
        branch = gitlab_branch_name(which, settings.remote or "")
        found = forge.find_open_mr(
            branch, gitlab_branch_name(settings.target, settings.remote or "")
        )
        if found is None:
            raise ConfigError(
                f"no open merge request from {branch} in {forge.info.path}",
                hint=f"send it first: send-mergereq {which}",
            )
        mr, head = forge.merge_request(found.iid)
    pipeline = head or _latest(forge, mr)
    return mr, pipeline


def _latest(forge: Forge, mr: MergeRequest) -> Pipeline:
    pipelines = forge.mr_pipelines(mr.iid)
    if not pipelines:
        raise ConfigError(
            f"merge request !{mr.iid} has no pipeline yet",
            hint=f"start one by sending again: send-mergereq {mr.source_branch}",
        )
    return max(pipelines, key=lambda p: p.id)
