"""The search ``send-mergereq bisect`` runs over the prefixes of staging: pure, no I/O.

Prefix ``k`` is the k-th first-parent commit of ``BRANCH`` over the target (prefix 0 is
the target itself, prefix ``n`` the whole branch, whose failed pipeline is the failure
to explain). Each round probes up to ``parallel`` prefixes of the undecided ones, spread
evenly, so that the undecided interval shrinks about ``parallel + 1`` times per round;
with ``parallel`` or fewer undecided prefixes one round decides them all.

The answer: **culprit k** (prefix k-1 passes the failing jobs, prefix k fails them),
**target** (prefix 0 fails them on its own), or **not reproduced** (every prefix before
``n`` passes, and a re-run of the whole branch's failing jobs passes too: the failure
was flaky). Results that contradict each other (a pass above a failure) are resolved
toward the lowest failure, the one a maintainer acts on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CULPRIT = "culprit"
TARGET = "target"
NOT_REPRODUCED = "not_reproduced"


@dataclass(frozen=True)
class Verdict:
    """``kind`` is ``culprit`` (with ``k``), ``target`` or ``not_reproduced``."""

    kind: str
    k: int | None = None


@dataclass
class Search:
    """The state of one bisection over prefixes ``0..n``; ``known`` holds results that
    exist already (reused pipelines): ``k -> passed``. Prefix ``n`` failed."""

    n: int
    parallel: int = 4
    known: dict[int, bool] = field(default_factory=dict)
    rerun_passed: bool | None = None  # the whole branch's failing jobs, run again

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError("nothing to bisect: the branch adds no pull request")
        if self.parallel < 1:
            raise ValueError("parallel must be at least 1")
        self.known.setdefault(self.n, False)

    def record(self, k: int, passed: bool) -> None:
        """The failing jobs' result on prefix ``k``."""
        if not 0 <= k <= self.n:
            raise ValueError(f"prefix {k} is not between 0 and {self.n}")
        self.known[k] = passed

    def _bounds(self) -> tuple[int, int]:
        """``(lo, hi)``: the lowest failing prefix, and the highest passing one below it
        (-1 when none below it is known to pass)."""
        hi = min(k for k, passed in self.known.items() if not passed)
        lo = max((k for k, passed in self.known.items() if passed and k < hi), default=-1)
        return lo, hi

    def undecided(self) -> list[int]:
        lo, hi = self._bounds()
        return list(range(lo + 1, hi))

    def probes(self) -> list[int]:
        """The prefixes to run this round (empty once the verdict is known, or when only
        the re-run of the whole branch is missing)."""
        return spread(self.undecided(), self.parallel)

    def needs_rerun(self) -> bool:
        """Whether only the re-run of the whole branch's failing jobs is missing: every
        prefix before ``n`` passes, so the failure may have been flaky."""
        lo, hi = self._bounds()
        return hi == self.n and lo == self.n - 1 and self.rerun_passed is None

    def verdict(self) -> Verdict | None:
        """The answer, or None while prefixes (or the re-run) remain to be run."""
        lo, hi = self._bounds()
        if hi == 0:
            return Verdict(TARGET)
        if lo != hi - 1:
            return None
        if hi == self.n:
            if self.rerun_passed is None:
                return None
            if self.rerun_passed:
                return Verdict(NOT_REPRODUCED)
        return Verdict(CULPRIT, hi)


def spread(candidates: list[int], parallel: int) -> list[int]:
    """Up to ``parallel`` of ``candidates`` (sorted) that cut them into ``parallel + 1``
    parts as even as can be; all of them when they are ``parallel`` or fewer."""
    count = len(candidates)
    if count <= parallel:
        return list(candidates)
    return [candidates[(count * i) // (parallel + 1)] for i in range(1, parallel + 1)]


def rounds_needed(undecided: int, parallel: int) -> int:
    """How many rounds decide ``undecided`` prefixes at worst, ``parallel`` per round
    (what ``bisect`` says before it starts; a re-run of the whole branch is one more)."""
    rounds = 0
    while undecided > 0:
        rounds += 1
        if undecided <= parallel:
            break
        undecided = -(-(undecided - parallel) // (parallel + 1))  # the largest part left
    return rounds


def bisect_branch(branch: str, k: int, prefix: str | None = None) -> str:
    """The temporary branch prefix ``k`` is pushed to: ``<BRANCH>-bisect-<k>``, or
    ``<PREFIX><k>`` when the prefix is configured."""
    return f"{prefix}{k}" if prefix is not None else f"{branch}-bisect-{k}"


def leftovers(branches: list[str], branch: str, prefix: str | None = None) -> list[str]:
    """The temporary branches an earlier, killed run left behind (exact pattern only: a
    branch that merely starts with the same words is not touched)."""
    start = prefix if prefix is not None else f"{branch}-bisect-"
    pattern = re.compile(re.escape(start) + r"[0-9]{1,6}")
    return sorted(b for b in branches if pattern.fullmatch(b))
