"""Run the enabled checks over a stream of raw commits in one pass.

Most commits are clean, so each check module may offer ``clean(raw, ctx, opts)``,
a cheap look at the raw object that answers True only when ``check`` would find
nothing; a commit every check calls clean is never parsed. Merges that carry
``mergetag`` headers are held back while the stream runs; their tags are then
verified in one batch (``signatures.verify_tags``, which runs several ``git
verify-tag`` at once) and the checks run on them with ``CheckContext.verify_tag``
answering from that batch. Findings come back in the order of the stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from send_mergereq.checks import Check
from send_mergereq.checks.finding import (
    CheckContext,
    Finding,
    Severity,
    TagStatus,
    TagVerification,
)
from send_mergereq.history import RawCommit, parent_count, parse_commit

TagVerifier = Callable[[Sequence[bytes]], Mapping[bytes, TagVerification]]
Clean = Callable[[bytes, bytes, CheckContext, Any], bool]


@dataclass(frozen=True)
class EnabledCheck:
    """A check module with its resolved options (``opts.severity`` is not off)."""

    module: Check
    opts: Any


@dataclass(frozen=True)
class RunResult:
    commits: int
    merges: int
    findings: tuple[Finding, ...]
    subjects: Mapping[str, str]  # commit id -> subject, for the commits with findings


def default_verifier(repo: Path) -> TagVerifier:
    """The real batch verifier for ``repo`` (imported only when there are tags)."""

    def verify(tags: Sequence[bytes]) -> Mapping[bytes, TagVerification]:
        from send_mergereq.signatures import verify_tags

        return verify_tags(repo, tags)

    return verify


def _uses_tags(checks: Sequence[EnabledCheck]) -> bool:
    """Whether a check consults ``ctx.verify_tag`` (``USES_TAGS = True`` in its module)."""
    return any(getattr(c.module, "USES_TAGS", c.module.ID == "signed-tags") for c in checks)


def _prefilter(checks: Sequence[EnabledCheck], ctx: CheckContext) -> Callable[[bytes, bytes], bool]:
    """``(head, message) -> True`` when every check's ``clean(head, message, ctx, opts)``
    vouches for the commit (never, if a check has no ``clean``)."""
    found: list[tuple[Clean | None, Any]] = [
        (getattr(c.module, "clean", None), c.opts) for c in checks
    ]
    cleans = [(fn, opts) for fn, opts in found if fn is not None]
    if len(cleans) < len(found):
        return lambda _head, _message: False
    return lambda head, message: all(fn(head, message, ctx, opts) for fn, opts in cleans)


def _run_one(commit: RawCommit, checks: Sequence[EnabledCheck], ctx: CheckContext) -> list[Finding]:
    return [f for c in checks for f in c.module.check(commit, ctx, c.opts)]


def _lookup(results: Mapping[bytes, TagVerification]) -> Callable[[bytes], TagVerification]:
    def verify_tag(tag: bytes) -> TagVerification:
        found = results.get(tag)
        return found or TagVerification(TagStatus.ERROR, detail="the tag was not verified")

    return verify_tag


def run_checks(
    objects: Iterable[tuple[str, bytes] | RawCommit],
    checks: Sequence[EnabledCheck],
    ctx: CheckContext,
    verifier: TagVerifier,
) -> RunResult:
    """One pass over ``(id, raw commit)`` pairs (``history.read_raw``; parsed commits are
    taken too); ``verifier`` is called at most once."""
    checks = [c for c in checks if c.opts.severity is not Severity.OFF]
    defer, is_clean = _uses_tags(checks), _prefilter(checks, ctx)
    found_at: dict[int, list[Finding]] = {}  # stream position -> findings, only when some
    deferred: list[tuple[int, RawCommit]] = []
    subjects: dict[str, str] = {}
    count = merges = 0
    for position, item in enumerate(objects):
        sha, raw = (item.sha, item.raw) if isinstance(item, RawCommit) else item
        count += 1
        end = raw.find(b"\n\n")
        head, message = (raw[:end], raw[end + 2 :]) if end >= 0 else (raw, b"")
        merges += parent_count(head) > 1
        if defer and b"\nmergetag " in head:
            deferred.append((position, parse_commit(sha, raw)))
        elif end < 0 or not is_clean(head, message):
            commit = parse_commit(sha, raw)
            if found := _run_one(commit, checks, ctx):
                found_at[position], subjects[sha] = found, commit.subject
    if deferred:
        tags = [tag for _, commit in deferred for tag in commit.mergetags]
        tag_ctx = replace(ctx, verify_tag=_lookup(verifier(tags)))
        for position, commit in deferred:
            if found := _run_one(commit, checks, tag_ctx):
                found_at[position], subjects[commit.sha] = found, commit.subject
    findings = tuple(f for position in sorted(found_at) for f in found_at[position])
    return RunResult(count, merges, findings, subjects)
