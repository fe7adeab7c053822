"""Scenario files: what the sandbox's pipelines do (``scenarios/*.toml``).

A scenario names the stages and jobs of the pipeline every push or merge request
gets, the child pipelines bridge jobs trigger, when the merge request pipeline
appears, decoy pipelines, events (the target branch moves) and injected faults.
Every mistake in a file is a :class:`~send_mergereq.sandbox.errors.ScenarioError` naming the
file and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from send_mergereq.sandbox.errors import ScenarioError
from send_mergereq.sandbox.past import HistorySpec, parse_history

OUTCOMES = ("success", "failed")
WHENS = ("on_success", "manual")
FAULT_ACTIONS = ("404", "429", "500", "502", "503", "504", "drop", "lost", "lost-502")
EVENT_ACTIONS = ("move_target",)
DECOYS = ("branch", "stale_mr")


@dataclass(frozen=True)
class JobSpec:
    """One job of a scenario pipeline; ``trigger`` makes it a bridge to a child pipeline."""

    name: str
    stage: str
    duration: float = 60.0
    outcome: str = "success"
    allow_failure: bool = False
    when: str = "on_success"
    flaky: bool = False
    script: str = "make check"
    log: str = ""
    trigger: str | None = None
    strategy: str = "depend"
    failure_reason: str = "script_failure"  # GitLab's CommitStatus failure_reason when it fails
    # A glob (fnmatch: ``*`` crosses ``/``) on the paths of the tested commit's tree: the job
    # fails when one matches, and its log names the path (``{path}``/``{line}`` in ``log``).
    fails_if_path: str | None = None
    # GitLab's ``retry: N``: a failed attempt is retried by GitLab itself, up to N times,
    # ``auto_retry_delay`` virtual seconds after the failure (Ci::Build's after_commit);
    # ``fails_first`` K: the first K attempts fail, the next ones pass.
    retry: int = 0
    fails_first: int = 0
    # A glob on the pipeline's ref: the job fails there (``*/train``: only in merge trains).
    fails_if_ref: str | None = None
    # A multi-project bridge: a pipeline of this other sandbox project (its default branch,
    # its own scenario), source ``pipeline``; a project that does not exist fails the
    # bridge with ``downstream_bridge_project_not_found`` (Ci::Bridge's failure reasons).
    trigger_project: str | None = None


@dataclass(frozen=True)
class PipelineSpec:
    stages: tuple[str, ...]
    jobs: tuple[JobSpec, ...]


@dataclass(frozen=True)
class EventSpec:
    """Something that happens ``at`` virtual seconds after the first MR pipeline (or, with
    branch pipelines on, the first branch pipeline) appears."""

    at: float
    action: str
    message: str = "Unrelated change lands on the target branch"


@dataclass(frozen=True)
class FaultSpec:
    """API requests matching ``match`` (a path substring), numbered from 1, that fail:
    the ``first`` to ``last`` of them answer ``action`` (a status, or ``drop``)."""

    action: str
    match: str = ""
    first: int = 1
    last: int = 1
    retry_after: int = 1


@dataclass(frozen=True)
class Scenario:
    name: str
    pipeline: PipelineSpec
    description: str = ""
    children: Mapping[str, PipelineSpec] = field(default_factory=dict)
    mr_pipeline_delay: float = 0.0
    queue_delay: float = 2.0
    branch_pipelines: bool | None = None
    decoys: tuple[str, ...] = ()
    events: tuple[EventSpec, ...] = ()
    faults: tuple[FaultSpec, ...] = ()
    auto_retry_delay: float = 1.0
    history: HistorySpec | None = None  # past pipelines a test or the demo seeds


_TOP_KEYS = {
    "history",
    "name",
    "description",
    "stages",
    "jobs",
    "children",
    "mr_pipeline_delay",
    "queue_delay",
    "branch_pipelines",
    "decoys",
    "events",
    "faults",
    "auto_retry_delay",
}
_JOB_KEYS = {
    "name",
    "stage",
    "duration",
    "outcome",
    "allow_failure",
    "when",
    "flaky",
    "script",
    "log",
    "trigger",
    "strategy",
    "repeat",
    "failure_reason",
    "fails_if_path",
    "retry",
    "fails_first",
    "fails_if_ref",
    "trigger_project",
}
_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "description": str,
    "stage": str,
    "duration": (int, float),
    "outcome": str,
    "allow_failure": bool,
    "when": str,
    "flaky": bool,
    "script": str,
    "log": str,
    "trigger": str,
    "strategy": str,
    "repeat": int,
    "failure_reason": str,
    "fails_if_path": str,
    "retry": int,
    "fails_first": int,
    "fails_if_ref": str,
    "trigger_project": str,
    "auto_retry_delay": (int, float),
    "mr_pipeline_delay": (int, float),
    "queue_delay": (int, float),
    "branch_pipelines": bool,
    "at": (int, float),
    "action": str,
    "message": str,
    "match": str,
    "first": int,
    "last": int,
    "retry_after": int,
}


class _Reader:
    """Reads one scenario file, raising ScenarioErrors that name it."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, where: str, problem: str, hint: str | None = None) -> ScenarioError:
        return ScenarioError(f"scenario {self.origin}: {where}: {problem}", hint=hint)

    def table(self, data: Mapping[str, Any], where: str, known: set[str]) -> Mapping[str, Any]:
        unknown = sorted(set(data) - known)
        if unknown:
            hint = "known keys: " + ", ".join(sorted(known))
            raise self.fail(where, f"unknown key {unknown[0]!r}", hint)
        for key, value in data.items():
            expected = _TYPES.get(key)
            if expected is not None and not _is_type(value, expected):
                raise self.fail(f"{where}.{key}", f"expected {_type_name(expected)}, got {value!r}")
        return data

    def choice(self, value: str, where: str, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            raise self.fail(where, f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def tables(self, data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, "expected an array of tables ([[" + key + "]])")
        return value

    def pipeline(self, data: Mapping[str, Any], where: str) -> PipelineSpec:
        stages = data.get("stages")
        if (
            not isinstance(stages, list)
            or not stages
            or not all(isinstance(s, str) for s in stages)
        ):
            raise self.fail(f"{where}stages", "expected a non-empty list of stage names")
        jobs: list[JobSpec] = []
        for index, raw in enumerate(self.tables(data, "jobs")):
            jobs.extend(self.jobs(raw, f"{where}jobs[{index}]", tuple(stages)))
        if not jobs:
            raise self.fail(f"{where}jobs", "a pipeline needs at least one job")
        names = [job.name for job in jobs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise self.fail(f"{where}jobs", f"duplicate job name {duplicates[0]!r}")
        return PipelineSpec(stages=tuple(stages), jobs=tuple(jobs))

    def jobs(self, raw: Mapping[str, Any], where: str, stages: tuple[str, ...]) -> list[JobSpec]:
        data = dict(self.table(raw, where, _JOB_KEYS))
        for required in ("name", "stage"):
            if required not in data:
                raise self.fail(where, f"missing key {required!r}")
        self.choice(data["stage"], f"{where}.stage", stages)
        self.choice(data.get("outcome", "success"), f"{where}.outcome", OUTCOMES)
        self.choice(data.get("when", "on_success"), f"{where}.when", WHENS)
        self.choice(data.get("strategy", "depend"), f"{where}.strategy", ("depend", "none"))
        if not 0 <= data.get("retry", 0) <= 2:  # GitLab's retry: max is 0, 1 or 2
            raise self.fail(f"{where}.retry", "GitLab allows 0, 1 or 2")
        if data.get("fails_first", 0) < 0:
            raise self.fail(f"{where}.fails_first", "must not be negative")
        if data.get("duration", 0) < 0:
            raise self.fail(f"{where}.duration", "must not be negative")
        if "fails_if_path" in data:
            self.fails_if_path(data, where)
        repeat = data.pop("repeat", 0)
        if not repeat:
            return [JobSpec(**data)]
        if "{n}" not in data["name"]:
            raise self.fail(f"{where}.name", "a repeated job's name needs a {n} placeholder")
        return [
            JobSpec(**{**data, "name": data["name"].replace("{n}", str(n))})
            for n in range(1, repeat + 1)
        ]

    def fails_if_path(self, data: Mapping[str, Any], where: str) -> None:
        """A job that fails on the tested tree: a glob of a relative path, on a plain job
        whose outcome the tree decides, with a log that names the path."""
        glob = data["fails_if_path"]
        if not glob or glob.startswith("/") or "\n" in glob:
            raise self.fail(f"{where}.fails_if_path", f"{glob!r} is not a relative path glob")
        if "trigger" in data:
            raise self.fail(f"{where}.fails_if_path", "a bridge job's outcome is its child's")
        if data.get("outcome", "success") != "success":
            raise self.fail(
                f"{where}.fails_if_path", "the tree decides the outcome: drop 'outcome'"
            )
        if data.get("log") and "{path}" not in data["log"]:
            raise self.fail(f"{where}.log", "a fails_if_path job's log needs a {path} placeholder")

    def events(self, data: Mapping[str, Any]) -> tuple[EventSpec, ...]:
        events = []
        for index, raw in enumerate(self.tables(data, "events")):
            where = f"events[{index}]"
            spec = self.table(raw, where, {"at", "action", "message"})
            if "at" not in spec or "action" not in spec:
                raise self.fail(where, "needs 'at' and 'action'")
            self.choice(spec["action"], f"{where}.action", EVENT_ACTIONS)
            events.append(EventSpec(**spec))
        return tuple(events)

    def faults(self, data: Mapping[str, Any]) -> tuple[FaultSpec, ...]:
        faults = []
        for index, raw in enumerate(self.tables(data, "faults")):
            where = f"faults[{index}]"
            spec = dict(self.table(raw, where, {"action", "match", "first", "last", "retry_after"}))
            if "action" not in spec:
                raise self.fail(where, "missing key 'action'")
            self.choice(spec["action"], f"{where}.action", FAULT_ACTIONS)
            spec.setdefault("last", spec.get("first", 1))
            if not 1 <= spec.get("first", 1) <= spec["last"]:
                raise self.fail(where, "need 1 <= first <= last")
            faults.append(FaultSpec(**spec))
        return tuple(faults)

    def scenario(self, data: Mapping[str, Any], default_name: str) -> Scenario:
        self.table(data, "top level", _TOP_KEYS)
        children_raw = data.get("children", {})
        if not isinstance(children_raw, dict):
            raise self.fail("children", "expected a table of child pipelines")
        children = {k: self.pipeline(v, f"children.{k}.") for k, v in children_raw.items()}
        pipeline = self.pipeline(data, "")
        for job in pipeline.jobs + tuple(j for c in children.values() for j in c.jobs):
            if job.trigger is not None and job.trigger not in children:
                raise self.fail(f"job {job.name!r}", f"triggers unknown child {job.trigger!r}")
        for key in ("mr_pipeline_delay", "queue_delay", "auto_retry_delay"):
            if data.get(key, 0) < 0:
                raise self.fail(key, "must not be negative")
        decoys = data.get("decoys", [])
        if not isinstance(decoys, list):
            raise self.fail("decoys", "expected a list")
        for decoy in decoys:
            self.choice(decoy, "decoys", DECOYS)
        return Scenario(
            name=data.get("name", default_name),
            description=data.get("description", ""),
            pipeline=pipeline,
            children=children,
            mr_pipeline_delay=float(data.get("mr_pipeline_delay", 0)),
            queue_delay=float(data.get("queue_delay", 2)),
            branch_pipelines=data.get("branch_pipelines"),
            decoys=tuple(decoys),
            events=self.events(data),
            faults=self.faults(data),
            auto_retry_delay=float(data.get("auto_retry_delay", 1)),
            history=parse_history(data["history"], self.origin) if "history" in data else None,
        )


def _is_type(value: object, expected: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool) and expected in (int, (int, float)):
        return False
    return isinstance(value, expected)


def _type_name(expected: type | tuple[type, ...]) -> str:
    if isinstance(expected, tuple):
        return "a number"
    return {"str": "a string", "bool": "true or false", "int": "an integer"}[expected.__name__]


def parse_scenario(text: str, origin: str, default_name: str = "custom") -> Scenario:
    """Parse scenario TOML ``text``; ``origin`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"scenario {origin}: not valid TOML: {exc}") from None
    return _Reader(origin).scenario(data, default_name)


def available_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package."""
    folder = resources.files("send_mergereq.sandbox") / "scenarios"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name (``green``, ``red`` …) or a scenario file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.is_file():
        return parse_scenario(path.read_text(encoding="utf-8"), str(path), path.stem)
    name = str(name_or_path)
    resource = resources.files("send_mergereq.sandbox") / "scenarios" / f"{name}.toml"
    if not resource.is_file():
        raise ScenarioError(
            f"unknown sandbox scenario {name!r}",
            hint="shipped scenarios: " + ", ".join(available_scenarios()),
        )
    return parse_scenario(resource.read_text(encoding="utf-8"), f"{name}.toml", name)
