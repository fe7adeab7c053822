"""The digest that ends a long check report: counts per check and severity, then one
action per kind of problem, each said once however many findings share it.

Pure: findings in, a ``Digest`` out. A check declares its actions (its module's
``DIGEST``: which of its kinds of finding each answers); this module words them. One
``gpg --recv-keys`` line fetches every missing OpenPGP key; the merges to redo from a
signed tag are listed per source; the authors to ask for a sign-off come with their
commits; any other hint is said once with how many findings it answers. The report
(``report/__init__.py``) renders it (wrapping, colour); ``to_json`` is the ``summary`` of
the ``--json`` document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from send_mergereq.checks import CHECKS
from send_mergereq.checks.finding import Finding, Severity

SHORT = 12  # commit ids as the report's headers show them

# How each action a check declares (its module's DIGEST, finding.DigestAction) is worded.
_KEY_COMMANDS = {  # action: (command, what the keys are, what to do then)
    "fetch-keys": (
        "gpg --recv-keys",
        "signed with {keys} not in your keyring",
        "fetch them (or 'gpg --import' them), check each fingerprint with its owner, rerun",
    ),
    "refresh-keys": (
        "gpg --refresh-keys",
        "signed with {keys} that have expired",
        "refresh them (their owners have probably extended them), rerun",
    ),
    "certify-keys": (
        "gpg --lsign-key",
        "signed with {keys} below gpg.minTrustLevel",
        "check each fingerprint with its owner, then certify it (or lower gpg.minTrustLevel)",
    ),
}
_SOURCE = re.compile(r"^Merge (?:(?:remote-tracking )?branch|tag)s? '[^']*'(?: of (\S+))?")


@dataclass(frozen=True)
class Count:
    """How many findings (and distinct commits) one check gave at one severity."""

    check: str
    severity: Severity
    findings: int
    commits: int


@dataclass(frozen=True)
class Action:
    """One thing to do that answers ``findings`` findings: a sentence, maybe one command
    to run as is, maybe a list (keys, sources with their merges, authors with commits)."""

    kind: str  # "fetch-keys", "refresh-keys", "certify-keys", "allowed-signers", ...
    text: str
    findings: int
    command: str = ""
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Digest:
    findings: int
    commits: int
    counts: tuple[Count, ...]
    actions: tuple[Action, ...]


def build(
    findings: Sequence[Finding],
    subjects: Mapping[str, str] | None = None,
    order: Sequence[str] = (),
) -> Digest:
    """The digest of ``findings``; ``subjects`` name merges, ``order`` ranks check ids."""
    subjects = subjects or {}
    return Digest(
        findings=len(findings),
        commits=len({f.commit for f in findings}),
        counts=_counts(findings, order),
        actions=tuple(_actions(findings, subjects)),
    )


def _counts(findings: Sequence[Finding], order: Sequence[str]) -> tuple[Count, ...]:
    groups: dict[tuple[str, Severity], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.check, f.severity), []).append(f)
    rank = {check: n for n, check in enumerate(order)}
    severities = list(Severity)
    keys = sorted(groups, key=lambda k: (rank.get(k[0], len(rank)), k[0], severities.index(k[1])))
    return tuple(
        Count(
            check,
            severity,
            len(groups[check, severity]),
            len({f.commit for f in groups[check, severity]}),
        )
        for check, severity in keys
    )


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _short(shas: Iterable[str]) -> str:
    return " ".join(sha[:SHORT] for sha in dict.fromkeys(shas))


def _actions(findings: Sequence[Finding], subjects: Mapping[str, str]) -> Iterable[Action]:
    taken: set[int] = set()

    def pick(check: str, kinds: Iterable[str]) -> list[Finding]:
        wanted = set(kinds)
        found = [
            f
            for n, f in enumerate(findings)
            if f.check == check and f.kind in wanted and n not in taken
        ]
        taken.update(n for n, f in enumerate(findings) if f.check == check and f.kind in wanted)
        return found

    for module in CHECKS.values():
        for declared in module.DIGEST:
            found = pick(module.ID, declared.kinds)
            if found:
                yield _ACTIONS[declared.action](declared.action, found, subjects)
    yield from _hints([f for n, f in enumerate(findings) if n not in taken and f.hint])


def _keys(action: str, found: list[Finding], subjects: Mapping[str, str]) -> Action:
    """One command for every key the tags were signed with (fetch, refresh, certify)."""
    del subjects
    command, what, then = _KEY_COMMANDS[action]
    keys = list(dict.fromkeys(f.about for f in found if f.about))
    tags = _plural(len(found), "tag")
    text = f"{tags} {what.format(keys=_plural(len(keys), 'key'))}: {then}"
    run = f"{command} {' '.join(keys)}" if keys else ""
    return Action(f"{command.split()[-1].lstrip('-')}", text, len(found), run)


def _ssh_keys(action: str, found: list[Finding], subjects: Mapping[str, str]) -> Action:
    del action, subjects
    ssh_keys = tuple(dict.fromkeys(f.about for f in found if f.about))
    return Action(
        "allowed-signers",
        f"{_plural(len(found), 'tag')} signed with {_plural(len(ssh_keys), 'SSH key')} that "
        "your allowed signers file does not list: check each key with its owner, then add "
        "its '<principal> <key type> <public key>' line (below, the principal being the "
        "tagger) to the file gpg.ssh.allowedSignersFile names, rerun",
        len(found),
        items=ssh_keys,
    )


def _ssh_setup(action: str, found: list[Finding], subjects: Mapping[str, str]) -> Action:
    del action, subjects
    return Action(
        "allowed-signers",
        f"{_plural(len(found), 'tag')} signed with SSH keys cannot be verified: point git "
        "at your allowed signers (one '<principal> <key type> <public key>' per line), rerun",
        len(found),
        "git config gpg.ssh.allowedSignersFile ~/.ssh/allowed_signers",
    )


def _resign(action: str, found: list[Finding], subjects: Mapping[str, str]) -> Action:
    """The merges to redo from a signed tag, grouped by where they were pulled from."""
    del action
    sources: dict[str, list[str]] = {}
    for f in found:
        match = _SOURCE.match(subjects.get(f.commit, ""))
        source = (match.group(1) if match else None) or "merged locally (no source named)"
        sources.setdefault(source, []).append(f.commit)
    merges = len({f.commit for f in found})
    items = tuple(
        f"{source} ({_plural(len(set(shas)), 'merge')}): {_short(shas)}"
        for source, shas in sorted(sources.items(), key=lambda kv: (-len(set(kv[1])), kv[0]))
    )
    return Action(
        "signed-tags",
        f"{_plural(merges, 'merge')} without a tag that verifies: ask for the pull request "
        "again as a signed tag ('git tag -s', 'git request-pull'), then redo the merge "
        "from it ('git pull <url> <tag>')",
        len(found),
        items=items,
    )


def _signoffs(action: str, found: list[Finding], subjects: Mapping[str, str]) -> Action:
    """The authors to ask for a sign-off, with their commits."""
    del action, subjects
    authors: dict[str, list[str]] = {}
    for f in found:
        authors.setdefault(f.about or "(unknown author)", []).append(f.commit)
    items = tuple(
        f"{author} ({_plural(len(shas), 'commit')}): {_short(shas)}"
        for author, shas in sorted(authors.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    )
    return Action(
        "signoff",
        f"{_plural(len(authors), 'author')} to ask for a Signed-off-by "
        f"({_plural(len(found), 'commit')}): "
        "they certify the DCO and resend with 'git commit --amend -s'; do not add it for them",
        len(found),
        items=items,
    )


_ACTIONS: dict[str, Callable[[str, list[Finding], Mapping[str, str]], Action]] = {
    "fetch-keys": _keys,
    "refresh-keys": _keys,
    "certify-keys": _keys,
    "ssh-keys": _ssh_keys,
    "ssh-setup": _ssh_setup,
    "resign": _resign,
    "ask-signoff": _signoffs,
}


def _hints(findings: list[Finding]) -> Iterable[Action]:
    """Every other hint once, with how many findings it answers (per check and kind)."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.check, f.kind or f.hint), []).append(f)
    for (check, _), group in groups.items():
        commits = len({f.commit for f in group})
        yield Action(
            f"hint:{check}",
            f"[{check}] {group[0].hint} ({_plural(commits, 'commit')})",
            len(group),
        )


def to_json(digest: Digest) -> dict[str, Any]:
    """The ``summary`` of the ``--json`` document."""
    return {
        "findings": digest.findings,
        "commits": digest.commits,
        "counts": [
            {
                "check": c.check,
                "severity": str(c.severity),
                "findings": c.findings,
                "commits": c.commits,
            }
            for c in digest.counts
        ],
        "actions": [
            {
                "kind": a.kind,
                "text": a.text,
                "findings": a.findings,
                "command": a.command,
                "items": list(a.items),
            }
            for a in digest.actions
        ],
    }


@dataclass(frozen=True)
class Line:
    """A line of the rendered digest: ``indent`` spaces, then ``text``; continuation
    lines hang ``hang`` columns further in. A command is never wrapped (copy it whole)."""

    indent: int
    text: str
    hang: int = 4
    command: bool = False
    style: str = ""  # "title", "count-error", "count-warning", "command" or ""


def lines(digest: Digest) -> list[Line]:
    """The digest as text lines, before wrapping."""
    width = max((len(c.check) for c in digest.counts), default=0)
    out = [
        Line(
            0,
            f"digest: {_plural(digest.findings, 'finding')} in {_plural(digest.commits, 'commit')}",
            style="title",
        )
    ]
    for c in digest.counts:
        out.append(
            Line(
                2,
                f"{c.check:<{width}}  {c.severity!s:<7}  {c.findings:>5}  "
                f"({_plural(c.commits, 'commit')})",
                style=f"count-{c.severity}",
            )
        )
    if digest.actions:
        out.append(Line(0, "to do:", style="title"))
    for action in digest.actions:
        out.append(Line(2, f"- {action.text}", hang=2))
        if action.command:
            out.append(Line(4, action.command, command=True, style="command"))
        out.extend(Line(4, item) for item in action.items)
    return out
