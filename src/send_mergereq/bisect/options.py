"""What ``send-mergereq bisect`` was asked: the jobs, how many prefixes at once, the
retries, ``--eject``, ``--reply``/``--emails``, the time limits, the repository."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class BisectOptions:
    jobs: tuple[str, ...] = ()
    parallel: int = 4
    retries: int = 1
    eject: bool = False
    reply: Path | None = None
    emails: tuple[Path, ...] = ()
    timeout: float | None = None
    interval: float = 10.0
    directory: Path = field(default=Path("."))
