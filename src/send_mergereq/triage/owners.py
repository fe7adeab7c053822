"""Who looks after a failing job or a changed file: pure parsing and matching, no I/O.

Two sources, both read from the *target* (never from the commits under test):

- ``[[jobs]]`` tables of ``.send-mergereq.toml`` (``policy.py`` reads them, like
  ``[[exempt]]``): ``name``, a shell glob on the job name; ``owners``, the people to tell
  (``"Kevin Wolf <kwolf@example.org>"``); ``paths``, globs on the files they look after
  (``*`` crosses ``/``, as in the sandbox's ``fails_if_path``).
- a ``MAINTAINERS`` file in the Linux/QEMU format: sections of ``M:`` (maintainer),
  ``R:`` (reviewer), ``L:`` (list), ``F:`` (files: a trailing ``/`` is a directory and
  everything below it, ``*`` and ``?`` stay within one directory, a plain path is that
  file or that directory) and ``X:`` (files excluded from the section).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from send_mergereq.errors import ConfigError

JOB_KEYS = ("name", "owners", "paths")
MAX_RULES = 1000  # [[jobs]] tables in one policy file
MAX_ENTRIES = 100  # owners or paths of one table
MAX_MAINTAINERS_BYTES = 4 * 1024 * 1024  # the kernel's file is under 1 MiB
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class JobOwners:
    """One ``[[jobs]]`` table: the jobs it covers, who owns them, what paths they watch."""

    name: str
    owners: tuple[str, ...]
    paths: tuple[str, ...] = ()
    source: str = ""

    def covers(self, job: str) -> bool:
        return fnmatchcase(job, self.name)


def jobs_from_policy(value: Any, source: str) -> tuple[JobOwners, ...]:
    """``[[jobs]]`` tables of a policy file, validated; errors name the file and the key."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{source}: jobs: expected [[jobs]] tables")
    if len(value) > MAX_RULES:
        raise ConfigError(f"{source}: jobs: {len(value)} tables, more than {MAX_RULES}")
    rules = []
    for n, table in enumerate(value, 1):
        where = f"{source}: jobs #{n}"
        unknown = sorted(set(table) - set(JOB_KEYS))
        if unknown:
            raise ConfigError(
                f"{where}: unknown key {unknown[0]!r}", hint=f"keys: {', '.join(JOB_KEYS)}"
            )
        name = table.get("name")
        if not isinstance(name, str) or not name.strip() or _CONTROL.search(name):
            raise ConfigError(f'{where}: name: expected a glob on job names, e.g. "check-*"')
        owners = _strings(table.get("owners"), f"{where}: owners")
        if not owners:
            raise ConfigError(f"{where}: owners: expected at least one person")
        from email.utils import parseaddr  # only with [[jobs]]: 20 ms off every dry run

        for owner in owners:
            if "@" not in parseaddr(owner)[1]:
                raise ConfigError(
                    f"{where}: owners: {owner!r} is not an address",
                    hint='write "Name <name@example.org>" or "name@example.org"',
                )
        paths = _strings(table.get("paths", []), f"{where}: paths")
        for path in paths:
            if not path or path.startswith("/"):
                raise ConfigError(f"{where}: paths: {path!r} is not a path relative to the top")
        rules.append(JobOwners(name, owners, paths, source))
    return tuple(rules)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings")
    if len(value) > MAX_ENTRIES:
        raise ConfigError(f"{where}: {len(value)} entries, more than {MAX_ENTRIES}")
    if any(_CONTROL.search(v) for v in value):
        raise ConfigError(f"{where}: a value holds a control character")
    return tuple(value)


def job_owners(rules: Sequence[JobOwners], job: str) -> tuple[str, ...]:
    """Everyone who owns ``job``, in the order the tables name them, each once."""
    return tuple(dict.fromkeys(o for r in rules if r.covers(job) for o in r.owners))


def job_paths(rules: Sequence[JobOwners], job: str) -> tuple[str, ...]:
    """The path globs the owners of ``job`` look after."""
    return tuple(dict.fromkeys(p for r in rules if r.covers(job) for p in r.paths))


# -- MAINTAINERS --------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One section of a MAINTAINERS file."""

    title: str
    maintainers: tuple[str, ...] = ()  # M:
    reviewers: tuple[str, ...] = ()  # R:
    lists: tuple[str, ...] = ()  # L:
    files: tuple[str, ...] = ()  # F:
    excluded: tuple[str, ...] = ()  # X:

    def covers(self, path: str) -> bool:
        return any(_f_match(p, path) for p in self.files) and not any(
            _f_match(p, path) for p in self.excluded
        )


_ENTRY = re.compile(r"^([A-Z]):\s*(.*?)\s*$")
_FIELDS = {"M": "maintainers", "R": "reviewers", "L": "lists", "F": "files", "X": "excluded"}


def parse_maintainers(text: str) -> tuple[Section, ...]:
    """The sections of a MAINTAINERS file that name files (the preamble names none).

    A section is a run of non-blank lines: a title (the last line before the entries: a
    group heading and its underline may come first), then ``T: value`` entries; entries
    this tool does not use (``S:``, ``W:``, ``T:``, ``N:``, ``K:`` …) are skipped, and so
    is any value holding a control character.
    """
    if len(text) > MAX_MAINTAINERS_BYTES:
        raise ConfigError(
            f"MAINTAINERS: more than {MAX_MAINTAINERS_BYTES // (1024 * 1024)} MiB, not read"
        )
    sections = []
    for block in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n")):
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        first = next((i for i, line in enumerate(lines) if _ENTRY.match(line)), len(lines))
        heads = [h.strip() for h in lines[:first] if h.strip().strip("-=")]
        title = heads[-1] if heads else ""  # "ARM Machines\n----\nARM Virt": "ARM Virt"
        fields: dict[str, list[str]] = {name: [] for name in _FIELDS.values()}
        for line in lines:
            entry = _ENTRY.match(line)
            kind, value = (entry.group(1), entry.group(2)) if entry else ("", "")
            if kind in _FIELDS and value and not _CONTROL.search(value):
                fields[_FIELDS[kind]].append(value)
        if fields["files"]:
            sections.append(Section(title, **{k: tuple(v) for k, v in fields.items()}))
    return tuple(sections)


def _f_match(pattern: str, path: str) -> bool:
    """``F:``/``X:`` semantics: ``dir/`` is everything below ``dir``; ``*`` and ``?`` do
    not cross ``/``; a plain path is that file or that directory."""
    if pattern.endswith("/"):
        return path.startswith(pattern)
    if not any(c in pattern for c in "*?"):
        return path == pattern or path.startswith(pattern + "/")
    return _f_regex(pattern).fullmatch(path) is not None


_F_REGEXES: dict[str, re.Pattern[str]] = {}


def _f_regex(pattern: str) -> re.Pattern[str]:
    compiled = _F_REGEXES.get(pattern)
    if compiled is None:
        parts = []
        for piece in re.split(r"(\*|\?)", pattern):
            parts.append({"*": "[^/]*", "?": "[^/]"}.get(piece) or re.escape(piece))
        compiled = _F_REGEXES[pattern] = re.compile("".join(parts))
    return compiled


@dataclass(frozen=True)
class Routing:
    """Who hears of a set of files: people (maintainers, then reviewers) and lists, each
    once, and the titles of the sections that matched."""

    people: tuple[str, ...] = ()
    lists: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()


def route(sections: Sequence[Section], files: Sequence[str]) -> Routing:
    """The people and lists of every section that covers one of ``files``."""
    hit = [s for s in sections if any(s.covers(f) for f in files)]
    people = [p for s in hit for p in s.maintainers] + [p for s in hit for p in s.reviewers]
    return Routing(
        people=tuple(dict.fromkeys(people)),
        lists=tuple(dict.fromkeys(x for s in hit for x in s.lists)),
        sections=tuple(dict.fromkeys(s.title for s in hit)),
    )
