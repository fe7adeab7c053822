"""The check registry: every module of this package that declares an ``ID`` is a check.

A check module has ``ID`` (stable kebab-case id), ``SUMMARY`` (one line), a frozen
``Options`` dataclass whose fields are the check's settings (``severity`` first),
``FAST_PATH`` (how it takes part in the fused fast path, ``finding.FastPath``, or None),
``DIGEST`` (its actions in the report's digest, ``finding.DigestAction``, maybe none),
``check(commit, ctx, opts) -> Iterator[Finding]``, a pure function, and optionally
``ORDER`` (where it comes among the checks: its findings on a commit, its digest lines;
lower first, a check without one after those that have one, by ``ID``). To add a check,
write the module and give it its profile lines (see checks/README.md): ``discover``
finds it; the other modules here (the runner, the fast path, parsers) declare no ``ID``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator, Sequence
from types import ModuleType
from typing import Any, Protocol, cast

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


def discover(path: Iterable[str] = __path__, package: str = __name__) -> dict[str, Check]:
    """The check modules of ``package`` (those with an ``ID``), by ``ORDER`` then ``ID``.

    :raises ValueError: two modules declare the same ``ID``.
    """
    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(list(path)):
        module = importlib.import_module(f"{package}.{info.name}")
        check_id = getattr(module, "ID", None)
        if check_id is None:
            continue
        if check_id in found:
            raise ValueError(f"check {check_id!r} declared by {found[check_id].__name__} too")
        found[check_id] = module
    unordered = float("inf")
    ranked = sorted(found.values(), key=lambda m: (getattr(m, "ORDER", unordered), m.ID))
    return {module.ID: cast(Check, module) for module in ranked}


CHECKS: dict[str, Check] = discover()
