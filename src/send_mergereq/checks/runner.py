"""Run the enabled checks over a stream of raw commits in one pass.

Most commits are clean. When every enabled check takes part in the fused fast path (its
module's ``FAST_PATH``, ``checks/fused.py``), one look at the raw object vouches for all
of them. A commit it does not vouch for goes to each check's optional
``clean(head, message, ctx, opts)``, a cheap look at the raw header block and message
that answers True only when ``check`` would find nothing; a commit every check calls
clean is never parsed. Merges that carry ``mergetag`` headers are held back while the
stream runs (``settle`` checks them: a range read in parts settles each process's
while the next walks run, ``scan/workers.py``); their tags are then verified in one
batch by the ``TagVerifier`` given
(``scan/range_check.default_verifier``: ``scan/signatures.verify_tags``, which runs
several ``git verify-tag`` at once) and the checks run on them with
``CheckContext.verify_tag`` answering from that batch. No I/O here: findings come back
in the order of the stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from send_mergereq.checks import Check, exemptions
from send_mergereq.checks.exemptions import ExemptCount, Exemption
from send_mergereq.checks.finding import (
    CheckContext,
    Finding,
    Severity,
    TagStatus,
    TagVerification,
)
from send_mergereq.checks.fused import chunk_vouch, vouchers
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
    exempt: tuple[ExemptCount, ...] = ()  # what each exemption rule let through
    exempted: tuple[tuple[str, Exemption], ...] = ()  # (commit id, rule), in range order


class Chunk(Protocol):  # git.Chunk, as a pass needs it
    @property
    def text(self) -> bytes: ...
    @property
    def records(self) -> list[bytes]: ...
    @property
    def count(self) -> int: ...
    def exact(self) -> list[bool]: ...
    def objects(self, indexes: Iterable[int]) -> list[tuple[bytes, str, bytes]]: ...


def _uses_tags(checks: Sequence[EnabledCheck]) -> bool:
    """Whether a check consults ``ctx.verify_tag`` (``USES_TAGS = True`` in its module)."""
    return any(getattr(c.module, "USES_TAGS", False) for c in checks)


def _cleans(checks: Sequence[EnabledCheck]) -> tuple[tuple[Clean, EnabledCheck], ...] | None:
    """Every check's ``(clean, check)``, or None when a check has no ``clean``."""
    found = [(getattr(c.module, "clean", None), c) for c in checks]
    cleans = tuple((fn, c) for fn, c in found if fn is not None)
    return cleans if len(cleans) == len(found) else None


def _run_one(commit: RawCommit, checks: Sequence[EnabledCheck], ctx: CheckContext) -> list[Finding]:
    return [f for c in checks for f in c.module.check(commit, ctx, c.opts)]


def _lookup(results: Mapping[bytes, TagVerification]) -> Callable[[bytes], TagVerification]:
    def verify_tag(tag: bytes) -> TagVerification:
        found = results.get(tag)
        return found or TagVerification(TagStatus.ERROR, detail="the tag was not verified")

    return verify_tag


class Scan:
    """What one pass has found so far: picklable, so a worker process can send it back."""

    def __init__(
        self, checks: Sequence[EnabledCheck], ctx: CheckContext, rules: Sequence[Exemption] = ()
    ) -> None:
        self.checks, self.ctx = [c for c in checks if c.opts.severity is not Severity.OFF], ctx
        self.rules = tuple(rules)
        self.exempt: dict[int, tuple[int, int]] = {}  # rule index -> (commits, merges)
        self.exempted: dict[int, list[tuple[str, int]]] = {}  # position -> (id, rule index)
        self.defer, self.cleans = _uses_tags(self.checks), _cleans(self.checks)
        self.vouch, self.merge_vouch = vouchers(self.checks)  # the fused fast path, if on
        self.chunk_vouch = chunk_vouch(self.checks)  # the same, a chunk at once
        self.found_at: dict[int, list[Finding]] = {}  # stream position -> findings, if any
        self.subjects: dict[str, str] = {}
        self.deferred: list[tuple[int, str, bytes]] = []  # merges with tags, verified later
        self.count = self.merges = 0

    def add(self, position: int, sha: str, raw: bytes) -> None:
        """Check one commit (or hold it back when it carries tags). The hot loop: a
        commit that every check's ``clean`` vouches for is never parsed."""
        self.count += 1
        if not (self.vouch and self.vouch(raw, self.ctx)):
            self._add_unclean(position, sha, raw)

    def add_batch(self, first: int, batch: Sequence[tuple[bytes, str, bytes]]) -> None:
        """``add`` each ``(ids, id, raw)`` of ``batch``, the first at ``first``: the usual
        commit, vouched for by the fast path, costs one call."""
        self.count += len(batch)
        ctx, unclean, vouch = self.ctx, self._add_unclean, self.vouch
        if vouch is None:
            for offset, (_, sha, raw) in enumerate(batch):
                unclean(first + offset, sha, raw)
            return
        for offset, (_, sha, raw) in enumerate(batch):
            if not vouch(raw, ctx):
                unclean(first + offset, sha, raw)

    def add_chunk(self, first: int, chunk: Chunk) -> None:
        """``add`` each record of ``chunk`` (``git.walk_chunks``), the first at ``first``:
        the fused fast path looks at the whole chunk at once (``fused.vouch_chunk``), and
        only the records it does not vouch for, or whose object is not exact, are taken
        one by one. (The loop of a long range.)"""
        looked = self.chunk_vouch(chunk.text, chunk.records, self.ctx) if self.chunk_vouch else []
        if len(looked) != chunk.count:
            self.add_batch(first, chunk.objects(range(chunk.count)))
            return
        exact = chunk.exact()
        rest = [
            n for n, (said, ok) in enumerate(zip(looked, exact, strict=True)) if said[-1] or not ok
        ]
        self.merges += sum(1 for said, ok in zip(looked, exact, strict=True) if ok and said[-2])
        self.count += chunk.count - len(rest)
        ctx, unclean, vouch = self.ctx, self._add_unclean, self.vouch
        for n, (_, sha, raw) in zip(rest, chunk.objects(rest), strict=True):
            self.count += 1
            # the look said no to an exact record: so would vouch (the same look, proven)
            if not (vouch and not exact[n] and vouch(raw, ctx)):
                unclean(first + n, sha, raw)

    def _add_unclean(self, position: int, sha: str, raw: bytes) -> None:
        """``add`` for a commit the fast path did not vouch for."""
        if self.merge_vouch and self.merge_vouch(raw, self.ctx):
            self.merges += 1
            return
        end = raw.find(b"\n\n")
        head = raw[:end] if end >= 0 else raw
        if parent_count(head) > 1:
            self.merges += 1
            if self.defer and b"\nmergetag " in head:
                self.deferred.append((position, sha, raw))
                return
        checks: Sequence[EnabledCheck] = self.checks
        if end >= 0 and self.cleans is not None:
            message, ctx = raw[end + 2 :], self.ctx
            checks = [c for clean, c in self.cleans if not clean(head, message, ctx, c.opts)]
            if not checks:
                return
        self.check(position, parse_commit(sha, raw), self.ctx, checks)

    def check(
        self, position: int, commit: RawCommit, ctx: CheckContext, checks: Sequence[EnabledCheck]
    ) -> None:
        """Run ``checks`` on ``commit`` (the others' ``clean`` vouched for it)."""
        found = _run_one(commit, checks, ctx)
        if found and self.rules:
            found, used = exemptions.apply(found, commit, self.rules)
            for index in used:
                self.exempted.setdefault(position, []).append((commit.sha, index))
                commits, merges = self.exempt.get(index, (0, 0))
                self.exempt[index] = (commits + 1, merges + commit.is_merge)
        if found:
            self.found_at[position], self.subjects[commit.sha] = found, commit.subject

    def merge(self, other: Scan) -> None:
        """Take in what a worker found on its batch."""
        self.found_at |= other.found_at
        self.subjects |= other.subjects
        self.deferred += other.deferred
        self.exempted |= other.exempted
        for index, (commits, merges) in other.exempt.items():
            mine = self.exempt.get(index, (0, 0))
            self.exempt[index] = (mine[0] + commits, mine[1] + merges)
        self.count, self.merges = self.count + other.count, self.merges + other.merges

    def __getstate__(self) -> dict[str, Any]:
        keep = ("found_at", "subjects", "deferred", "count", "merges", "exempt", "exempted")
        return {name: getattr(self, name) for name in keep}

    def deferred_tags(self, since: int = 0) -> list[bytes]:
        """The tags of the held-back merges from the ``since``-th on (to verify them while
        the walks run, ``scan/workers.py``)."""
        return [tag for _, sha, raw in self.deferred[since:] for tag in _mergetags(sha, raw)]

    def settle(self, verifier: TagVerifier) -> None:
        """Verify the held-back merges' tags in one batch and check them."""
        if self.deferred:
            commits = [(pos, parse_commit(sha, raw)) for pos, sha, raw in self.deferred]
            tags = [tag for _, commit in commits for tag in commit.mergetags]
            tag_ctx = replace(self.ctx, verify_tag=_lookup(verifier(tags)))
            for position, commit in commits:
                self.check(position, commit, tag_ctx, self.checks)
            self.deferred = []

    def finish(self, verifier: TagVerifier) -> RunResult:
        """Settle the held-back merges (``settle``) and sort it all."""
        self.settle(verifier)
        found = self.found_at
        findings = tuple(f for position in sorted(found) for f in found[position])
        exempt = tuple(ExemptCount(self.rules[i], *self.exempt[i]) for i in sorted(self.exempt))
        exempted = tuple(
            (sha, self.rules[i])
            for position in sorted(self.exempted)
            for sha, i in self.exempted[position]
        )
        return RunResult(self.count, self.merges, findings, self.subjects, exempt, exempted)


def _mergetags(sha: str, raw: bytes) -> tuple[bytes, ...]:
    return parse_commit(sha, raw).mergetags


def run_checks(
    objects: Iterable[tuple[str, bytes] | RawCommit],
    checks: Sequence[EnabledCheck],
    ctx: CheckContext,
    verifier: TagVerifier,
    *,
    rules: Sequence[Exemption] = (),
) -> RunResult:
    """One pass over ``(id, raw commit)`` pairs (parsed commits are taken too);
    ``verifier`` is called at most once. A finding an exemption ``rules`` matches is
    dropped and counted (``RunResult.exempt``)."""
    scan = Scan(checks, ctx, rules)
    for position, item in enumerate(objects):
        sha, raw = (item.sha, item.raw) if isinstance(item, RawCommit) else item
        scan.add(position, sha, raw)
    return scan.finish(verifier)
