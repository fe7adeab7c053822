"""A scenario's ``[history]``: past finished pipelines of a branch, one story a job.

```toml
[history]
ref = "master"          # the branch (default: the project's default branch)
pipelines = 160         # how many, the newest ending now
every_hours = 10        # how far apart
source = "push"

[[history.jobs]]
name = "check-unit"
stage = "test"
allow_failure = false
duration = 300
story = "144*s 16*r"    # one code a pipeline, oldest first; N*CODES repeats CODES
```

Codes: ``s`` passed, ``f`` failed, ``r`` failed then passed on a retry, ``R`` failed
twice then passed, ``F`` failed and failed again on a retry, ``c`` canceled, ``k``
skipped, ``m`` manual (never played), ``-`` absent from that pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from send_mergereq.sandbox.errors import ScenarioError

CODES = "sfrRFckm-"
MAX_PIPELINES = 5000


@dataclass(frozen=True)
class PastJob:
    name: str
    story: str  # expanded: one code a pipeline, oldest first
    stage: str = "test"
    allow_failure: bool = False
    duration: float = 60.0


@dataclass(frozen=True)
class HistorySpec:
    pipelines: int
    jobs: tuple[PastJob, ...]
    ref: str | None = None
    every_hours: float = 12.0
    source: str = "push"


def expand(story: str, where: str) -> str:
    """``"3*s f"`` -> ``"sssf"``."""
    out = []
    for token in story.split():
        count, star, codes = token.partition("*")
        if not star:
            count, codes = "1", token
        if not count.isdigit() or not codes or any(c not in CODES for c in codes):
            raise ScenarioError(f"{where}: {token!r} is not N*CODES (codes: {CODES})")
        out.append(codes * int(count))
    return "".join(out)


def parse_history(data: Any, origin: str) -> HistorySpec:
    where = f"scenario {origin}: history"
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{where}: expected a table ([history])")
    known = {"ref", "pipelines", "every_hours", "source", "jobs"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ScenarioError(f"{where}: unknown key {unknown[0]!r}", hint=", ".join(sorted(known)))
    count = data.get("pipelines")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_PIPELINES:
        raise ScenarioError(f"{where}.pipelines: expected 1 to {MAX_PIPELINES}")
    every = data.get("every_hours", 12.0)
    if isinstance(every, bool) or not isinstance(every, int | float) or every <= 0:
        raise ScenarioError(f"{where}.every_hours: expected a positive number")
    raw_jobs = data.get("jobs", [])
    if not isinstance(raw_jobs, list) or not raw_jobs:
        raise ScenarioError(f"{where}.jobs: expected [[history.jobs]] tables")
    jobs = tuple(_job(raw, f"{where}.jobs[{i}]", count) for i, raw in enumerate(raw_jobs))
    ref, source = data.get("ref"), data.get("source", "push")
    if ref is not None and not isinstance(ref, str):
        raise ScenarioError(f"{where}.ref: expected a branch name")
    if not isinstance(source, str):
        raise ScenarioError(f"{where}.source: expected a pipeline source")
    return HistorySpec(count, jobs, ref, float(every), source)


def _job(raw: Any, where: str, count: int) -> PastJob:
    if not isinstance(raw, Mapping):
        raise ScenarioError(f"{where}: expected a table")
    unknown = sorted(set(raw) - {"name", "stage", "allow_failure", "duration", "story"})
    if unknown:
        raise ScenarioError(f"{where}: unknown key {unknown[0]!r}")
    name, story = raw.get("name"), raw.get("story")
    if not isinstance(name, str) or not name or not isinstance(story, str):
        raise ScenarioError(f"{where}: needs a name and a story")
    expanded = expand(story, f"{where}.story")
    if len(expanded) != count:
        raise ScenarioError(
            f"{where}.story: {len(expanded)} codes for {count} pipelines",
            hint="one code a pipeline, oldest first (N*CODES repeats)",
        )
    duration = raw.get("duration", 60.0)
    if isinstance(duration, bool) or not isinstance(duration, int | float) or duration < 0:
        raise ScenarioError(f"{where}.duration: expected seconds")
    return PastJob(
        name=name,
        story=expanded,
        stage=str(raw.get("stage", "test")),
        # GitLab: a ``when: manual`` job may fail unless it says otherwise
        allow_failure=bool(raw.get("allow_failure", "m" in expanded)),
        duration=float(duration),
    )
