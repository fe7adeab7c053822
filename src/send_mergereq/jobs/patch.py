"""``--patch``: the change to ``.gitlab-ci.yml`` that carries out the promote and demote
advice, as a unified diff ``git apply`` takes. Pure: text in, text out.

ruamel.yaml reads the file (round-trip, so it knows where each key is), and the edit is
made on the lines themselves: comments, order, anchors, quoting and indentation stay
exactly as they were, and only the advised jobs' lines change. A demoted job gets
``allow_failure: true`` on the job itself (its own key set, or a line added under its
name); a promoted job loses its own ``allow_failure: true``, or gets
``allow_failure: false`` on itself when it would still inherit it (``extends:`` or a
``<<: *anchor`` merge).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from send_mergereq.errors import ConfigError

MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Patched:
    diff: str  # empty when nothing changes
    text: str  # the file after the change
    skipped: tuple[str, ...] = ()  # "job: why" for jobs it could not edit


def patch_ci(text: str, path: str, promote: Iterable[str], demote: Iterable[str]) -> Patched:
    """The diff of ``path`` (holding ``text``) that promotes and demotes those jobs."""
    if len(text.encode()) > MAX_BYTES:
        raise ConfigError(f"{path}: more than {MAX_BYTES} bytes; not edited")
    doc = _load(text, path)
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, list[str]]] = []  # (first line, lines replaced, new lines)
    skipped: list[str] = []
    for name, allow in [(n, False) for n in promote] + [(n, True) for n in demote]:
        job = doc.get(name) if isinstance(doc, Mapping) else None
        if job is None or not hasattr(job, "lc"):
            skipped.append(f"{name}: not a job of {path} (defined elsewhere, or in flow style)")
            continue
        edit = _edit(doc, name, job, allow, lines)
        if isinstance(edit, str):
            skipped.append(f"{name}: {edit}")
        elif edit is not None:
            edits.append(edit)
    for first, count, new in sorted(edits, reverse=True):
        lines[first : first + count] = new
    after = "".join(lines)
    diff = "".join(
        difflib.unified_diff(text.splitlines(keepends=True), lines, f"a/{path}", f"b/{path}")
    )
    return Patched(diff, after, tuple(skipped))


def _load(text: str, path: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid YAML"
        raise ConfigError(f"{path}: not valid YAML: {first}") from None


def _own(job: Any) -> set[Any]:
    """The job's own keys (not those a ``<<:`` merge brings)."""
    own = getattr(job, "_ok", None)
    return set(own) if own is not None else set(job)


def _inherits(doc: Any, job: Any, seen: frozenset[int] = frozenset()) -> bool:
    """Whether ``job`` gets ``allow_failure: true`` from a merge or ``extends:``."""
    if id(job) in seen or not isinstance(job, Mapping):
        return False
    seen = seen | {id(job)}
    for item in getattr(job, "merge", None) or []:
        merged = item[1] if isinstance(item, tuple) else item  # ruamel.yaml < 0.19: pairs
        if merged.get("allow_failure") is True or _inherits(doc, merged, seen):
            return True
    extends = job.get("extends")
    parents = [extends] if isinstance(extends, str) else list(extends or [])
    for parent in parents:
        base = doc.get(parent) if isinstance(parent, str) else None
        if isinstance(base, Mapping) and (
            ("allow_failure" in _own(base) and base.get("allow_failure") is True)
            or ("allow_failure" not in _own(base) and _inherits(doc, base, seen))
        ):
            return True
    return False


def _edit(  # noqa: PLR0911
    doc: Any, name: str, job: Any, allow: bool, lines: list[str]
) -> tuple[int, int, list[str]] | str | None:
    own = _own(job)
    if not own:
        return "an empty job"
    line, col = min(job.lc.key(k) for k in own)
    indent = " " * col
    if "allow_failure" in own:
        at, _ = job.lc.key("allow_failure")
        current = job.get("allow_failure")
        if not isinstance(current, bool) or not re.match(r"^\s*allow_failure\s*:\s*\S", lines[at]):
            return "its allow_failure is not a plain true or false"
        if current is allow:
            return None
        if not allow and not _inherits(doc, job):
            return (at, 1, [])
        return (at, 1, [_with_value(lines[at], allow)])
    if not allow and not _inherits(doc, job):
        return None  # gating already
    if doc.lc.key(name)[0] == line:  # ``name: {…}``: keys on the name's line, not edited
        return "its keys are not on lines of their own"
    return (line, 0, [f"{indent}allow_failure: {'true' if allow else 'false'}\n"])


def _with_value(line: str, allow: bool) -> str:
    """``allow_failure: true  # why`` with the other value, its comment kept."""
    return re.sub(
        r"^(\s*allow_failure\s*:\s*)(\S+)",
        lambda m: m.group(1) + ("true" if allow else "false"),
        line,
        count=1,
    )
