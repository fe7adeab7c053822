"""Which pull requests a failing job points at, and why: pure, no I/O.

Three tiers, the first that finds something wins:

1. **the log**: the pull requests whose changed files the job's log tail names
   (``hw/arm/virt.c:42: error: …``, ``../hw/arm/virt.c``, a test path, a ninja
   ``FAILED: libqemu.fa.p/hw_arm_virt.c.o`` line, a test's ``042.out``). A path in the
   log matches a file when one ends with the other at a ``/`` boundary; a path that is
   only the end of a file's path (``virt.c``, ``arm/virt.c``) counts when it is the end
   of exactly one file of the staging: a bare ``virt.c`` never blames every ``virt.c``.
2. **the owners**: else the pull requests whose files match the ``paths`` globs of the
   job's owners (``[[jobs]]``, see ``owners.py``; ``*`` crosses ``/``).
3. **nothing**: bisection has to tell (``NO_EVIDENCE``).

The log lines come in as the log tail shows them (already cleaned of terminal codes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Protocol

NO_EVIDENCE = "no evidence: run `send-mergereq bisect`"
MAX_EVIDENCE = 5  # lines quoted for one suspect
MAX_LINE = 300  # characters of one log line looked at (a minified blob is not a path list)

# A path-like token: letters, digits and the punctuation paths use; split off ":42:5: …".
_TOKEN = re.compile(r"[A-Za-z0-9_.+@~/-]+")
_EXTENSION = re.compile(r"\.[A-Za-z0-9_+-]{1,10}$")
_NINJA_FAILED = re.compile(r"^FAILED: (\S+)")


class PullLike(Protocol):
    """What suspicion needs of a pull request (``triage.pulls.Pull`` has it)."""

    @property
    def tag(self) -> str: ...
    @property
    def merge(self) -> str: ...
    @property
    def files(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Suspect:
    """A pull request the evidence points at: its tag (empty for a plain commit), its
    merge, and the log lines or ``PATH matches GLOB`` notes that point at it."""

    tag: str
    merge: str
    evidence: tuple[str, ...]

    def document(self) -> dict[str, object]:
        """Its ``--json`` entry (``failed_jobs[].suspects[]``)."""
        return {"tag": self.tag or None, "merge": self.merge, "evidence": list(self.evidence)}


@dataclass(frozen=True)
class Suspicion:
    """A failing job's suspects and what they rest on: ``log``, ``owners`` or ``none``."""

    job: str
    basis: str
    suspects: tuple[Suspect, ...] = ()

    @property
    def summary(self) -> str:
        """One line for a person."""
        if self.basis == "none":
            return NO_EVIDENCE
        names = ", ".join(s.tag or s.merge[:12] for s in self.suspects)
        source = "its log names" if self.basis == "log" else "its owners look after"
        return f"{names} (changes files {source})"


def suspect(
    job: str,
    log_lines: Sequence[str],
    pulls: Sequence[PullLike],
    owner_globs: Sequence[str] = (),
) -> Suspicion:
    """The pull requests ``job``'s failure points at (see the module docstring)."""
    named = _named_in_log(log_lines, pulls)
    if named:
        return Suspicion(job, "log", named)
    owned = _owned(owner_globs, pulls)
    if owned:
        return Suspicion(job, "owners", owned)
    return Suspicion(job, "none")


def _named_in_log(lines: Sequence[str], pulls: Sequence[PullLike]) -> tuple[Suspect, ...]:
    index = _Index(f for pull in pulls for f in pull.files)
    hits: dict[int, list[str]] = {}
    for line in lines:
        shown = line.strip()
        files = _files_named(shown[:MAX_LINE], index)
        for number, pull in enumerate(pulls):
            if files.intersection(pull.files):
                quoted = hits.setdefault(number, [])
                if shown not in quoted and len(quoted) < MAX_EVIDENCE:
                    quoted.append(shown)
    return tuple(
        Suspect(pulls[i].tag, pulls[i].merge, tuple(found)) for i, found in sorted(hits.items())
    )


class _Index:
    """The staging's files, looked up by a path from a log in a few dictionary reads
    (a tree-wide pull request may change thousands of files)."""

    def __init__(self, files: Iterable[str]) -> None:
        self.files = set(files)
        self.flattened = {f.replace("/", "_"): f for f in self.files}  # meson's object names
        self.ends: dict[str, set[str]] = {}  # "arm/virt.c" -> files ending in "/arm/virt.c"
        for path in self.files:
            parts = path.split("/")
            for start in range(1, len(parts)):
                self.ends.setdefault("/".join(parts[start:]), set()).add(path)

    def matching(self, token: str) -> set[str]:
        """The files ``token`` names: a file that ends the token (``/builds/q/hw/arm/virt.c``,
        ``hw/arm/virt.c``), else the one file the token ends (``arm/virt.c``), if only one."""
        parts = token.split("/")
        whole = {
            end for end in ("/".join(parts[i:]) for i in range(len(parts))) if end in self.files
        }
        if whole:
            return whole
        ends = self.ends.get(token, set())
        return set(ends) if len(ends) == 1 else set()


def _files_named(line: str, index: _Index) -> set[str]:
    """The staging's files that ``line`` names."""
    found: set[str] = set()
    for token in _path_tokens(line):
        found |= index.matching(token)
    failed = _NINJA_FAILED.match(line)
    if failed:  # "FAILED: libqemu-arm.fa.p/hw_arm_virt.c.o": the object of one source
        stem = failed.group(1).rsplit("/", 1)[-1].removesuffix(".o").removesuffix(".obj")
        if stem in index.flattened:
            found.add(index.flattened[stem])
    return found


def _path_tokens(line: str) -> Iterable[str]:
    for raw in _TOKEN.findall(line):
        token = raw.rstrip(".")  # the end of a sentence
        while token.startswith(("../", "./", "/")):  # relative to the build directory
            token = token.split("/", 1)[1]
        token = token.removesuffix(".o")  # an object built from the file
        if "/" in token or _EXTENSION.search(token):
            yield token
            for output in (".out.bad", ".out"):  # an iotest's expected or actual output
                if token.endswith(output):
                    yield token.removesuffix(output)


def _owned(globs: Sequence[str], pulls: Sequence[PullLike]) -> tuple[Suspect, ...]:
    found = []
    for pull in pulls:
        notes: list[str] = []
        for path in pull.files:
            glob = next((g for g in globs if fnmatchcase(path, g)), None)
            if glob is not None and len(notes) < MAX_EVIDENCE:
                notes.append(f"{path} matches {glob}")
        if notes:
            found.append(Suspect(pull.tag, pull.merge, tuple(notes)))
    return tuple(found)
