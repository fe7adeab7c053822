"""Per-check exemptions by policy: commits a project accepts by design.

A b4-managed project merges every ``Merge patch series "…"`` branch without a
signed tag, and a git-subtree squash carries no sign-off: both are correct
findings that the project has decided to accept. An exemption names a check and
one or more conditions, all of which must hold:

- ``subject``: a shell glob on the commit's subject (``Merge patch series *``);
- ``trailer``: a trailer the message carries (``git-subtree-dir``), any case;
- ``merge = "untagged"``: a merge whose second parent is not a tag (no ``mergetag``).

Exemptions come only from the target's ``.send-mergereq.toml`` (``[[exempt]]``
tables) and the maintainer's own git config (``sendmergereq.exempt``), never
from the commits under check. An exempt finding is dropped, and counted.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from send_mergereq.checks.finding import Finding
from send_mergereq.checks.trailers import trailers
from send_mergereq.errors import ConfigError
from send_mergereq.history import RawCommit

_KEYS = ("check", "subject", "trailer", "merge", "reason")
_MERGE_SHAPES = ("untagged",)


@dataclass(frozen=True)
class Exemption:
    """One rule: the check it exempts from, its conditions, and where it was set."""

    check: str
    subject: str | None = None
    trailer: str | None = None
    merge: str | None = None  # "untagged": a merge whose second parent is not a tag
    source: str = ""

    def describe(self) -> str:
        """``subject "Merge patch series *"``, ``trailer git-subtree-dir``, ..."""
        parts = []
        if self.subject is not None:
            parts.append(f'subject "{self.subject}"')
        if self.trailer is not None:
            parts.append(f"trailer {self.trailer}")
        if self.merge is not None:
            parts.append("merge of no tag")
        return ", ".join(parts)

    def matches(self, commit: RawCommit) -> bool:
        if self.merge is not None and not (commit.is_merge and not commit.mergetags):
            return False
        if self.subject is not None and not _glob(self.subject).fullmatch(commit.subject):
            return False
        if self.trailer is not None:
            wanted = self.trailer.lower().encode()
            if not any(token.lower() == wanted for token, _ in trailers(commit.message)):
                return False
        return True


_GLOBS: dict[str, re.Pattern[str]] = {}


def _glob(pattern: str) -> re.Pattern[str]:
    compiled = _GLOBS.get(pattern)
    if compiled is None:
        compiled = _GLOBS[pattern] = re.compile(fnmatch.translate(pattern), re.DOTALL)
    return compiled


@dataclass(frozen=True)
class ExemptCount:
    """How many commits a rule exempted from its check (``merges`` of them merges)."""

    rule: Exemption
    commits: int
    merges: int

    def describe(self) -> str:
        noun = "merges" if self.merges == self.commits else "commits"
        if self.commits == 1:
            noun = noun[:-1]
        return (
            f"{self.commits} {noun} exempt from {self.rule.check} by policy: "
            f"{self.rule.describe()} ({self.rule.source})"
        )


def apply(
    findings: list[Finding], commit: RawCommit, rules: Sequence[Exemption]
) -> tuple[list[Finding], list[int]]:
    """The findings no rule exempts, and the index of each rule that exempted some."""
    kept, used = [], []
    for finding in findings:
        hit = next(
            (i for i, r in enumerate(rules) if r.check == finding.check and r.matches(commit)),
            None,
        )
        if hit is None:
            kept.append(finding)
        elif hit not in used:
            used.append(hit)
    return kept, used


def from_policy(value: Any, source: str, known_checks: Iterable[str]) -> tuple[Exemption, ...]:
    """``[[exempt]]`` tables of a policy file, validated; errors name the file and key."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{source}: exempt: expected [[exempt]] tables")
    rules = []
    for n, table in enumerate(value, 1):
        where = f"{source}: exempt #{n}"
        unknown = set(table) - set(_KEYS)
        if unknown:
            raise ConfigError(
                f"{where}: unknown key {sorted(unknown)[0]!r}", hint=f"keys: {', '.join(_KEYS)}"
            )
        if not all(isinstance(v, str) for v in table.values()):
            raise ConfigError(f"{where}: every value is a string")
        rules.extend(_rules(table, where, source, known_checks))
    return tuple(rules)


def from_git_config(values: Sequence[str], known_checks: Iterable[str]) -> tuple[Exemption, ...]:
    """``sendmergereq.exempt`` values: ``CHECK: subject=GLOB, trailer=NAME, merge=untagged``."""
    source = "git config sendmergereq.exempt"
    rules: list[Exemption] = []
    for value in values:
        check, sep, rest = value.partition(":")
        table = {"check": check.strip()}
        for part in filter(None, (p.strip() for p in rest.split(","))):
            key, eq, cond = part.partition("=")
            if not eq or key.strip() not in _KEYS[1:4]:
                raise ConfigError(
                    f"{source}: {value!r}: expected CHECK: subject=GLOB, trailer=NAME "
                    "or merge=untagged"
                )
            table[key.strip()] = cond.strip()
        if not sep:
            raise ConfigError(f"{source}: {value!r}: expected CHECK: CONDITION")
        rules.extend(_rules(table, f"{source}: {value!r}", source, known_checks))
    return tuple(rules)


def _rules(
    table: dict[str, str], where: str, source: str, known_checks: Iterable[str]
) -> list[Exemption]:
    known = list(known_checks)
    checks = [c.strip() for c in table.get("check", "").split(",") if c.strip()]
    if not checks:
        raise ConfigError(f"{where}: check: name the check it exempts from")
    for check in checks:
        if check not in known:
            raise ConfigError(
                f"{where}: unknown check {check!r}", hint=f"known: {', '.join(known)}"
            )
    merge = table.get("merge")
    if merge is not None and merge not in _MERGE_SHAPES:
        raise ConfigError(f'{where}: merge: expected "untagged", got {merge!r}')
    subject, trailer = table.get("subject"), table.get("trailer")
    if subject is None and trailer is None and merge is None:
        raise ConfigError(
            f"{where}: no condition: give subject, trailer or merge",
            hint='an exemption of every commit is severity = "off"',
        )
    if trailer is not None and not re.fullmatch(r"[A-Za-z0-9-]+", trailer):
        raise ConfigError(f"{where}: trailer: expected a trailer name, got {trailer!r}")
    return [Exemption(c, subject, trailer, merge, source) for c in checks]
