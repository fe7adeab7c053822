"""The check registry: one module per check, listed here explicitly (no import magic).

A check module has ``ID`` (stable kebab-case id), ``SUMMARY`` (one line), a frozen
``Options`` dataclass whose fields are the check's settings (``severity`` first),
``FAST_PATH`` (how it takes part in the fused fast path, ``finding.FastPath``, or None),
``DIGEST`` (its actions in the report's digest, ``finding.DigestAction``, maybe none),
and ``check(commit, ctx, opts) -> Iterator[Finding]``, a pure function. To add a check,
write the module and add it to ``CHECKS`` below (see checks/README.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from send_mergereq.checks import list_address, signed_tags, signoff, utf8
from send_mergereq.checks.finding import CheckContext, DigestAction, FastPath, Finding
from send_mergereq.history import RawCommit


class Check(Protocol):
    ID: str
    SUMMARY: str
    Options: type[Any]

    @property
    def FAST_PATH(self) -> FastPath | None: ...  # a module constant, read only

    @property
    def DIGEST(self) -> Sequence[DigestAction]: ...

    def check(self, commit: RawCommit, ctx: CheckContext, opts: Any) -> Iterator[Finding]: ...


CHECKS: dict[str, Check] = {
    utf8.ID: utf8,
    list_address.ID: list_address,
    signed_tags.ID: signed_tags,
    signoff.ID: signoff,
}
