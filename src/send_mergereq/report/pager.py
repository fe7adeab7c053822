"""A report longer than the screen goes through a pager, as git's do.

The pager is ``SEND_MERGEREQ_PAGER``, else ``PAGER``, else ``less -R``; an empty value or
``cat`` means none. ``less`` gets ``LESS=FRX`` (quit when it fits, keep colours, leave the
text on screen) and ``LV=-c`` unless they are set. Never in CI (``CI=true``): the caller
asks only for a terminal, without ``--json`` and ``--no-pager``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from typing import IO

from send_mergereq import git

DEFAULT = "less -R"


def terminal_size(stream: IO[str]) -> tuple[int, int] | None:
    """``(columns, lines)`` of the terminal ``stream`` writes to, or None."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError, AttributeError):  # not a terminal, or no file descriptor
        return None
    return (size.columns or 80, size.lines or 24)


def command(env: Mapping[str, str]) -> str | None:
    """The pager command line, or None when paging is off (``CI``, empty, ``cat``)."""
    if env.get("CI", "").strip().lower() in ("true", "1", "yes"):
        return None
    for name in ("SEND_MERGEREQ_PAGER", "PAGER"):
        if name in env:
            value = env[name].strip()
            return value if value and value != "cat" else None
    return DEFAULT


def page(text: str, pager: str, env: Mapping[str, str]) -> bool:
    """Feed ``text`` to ``pager`` (a command line, split as a shell would, run without
    one, through ``git/`` as git runs ``core.pager``) and wait for it; False when it
    cannot be started (the caller then prints the text)."""
    child_env = dict(env)
    child_env.setdefault("LESS", "FRX")
    child_env.setdefault("LV", "-c")
    try:
        argv = shlex.split(pager)
    except ValueError:  # unbalanced quotes
        return False
    if not argv:
        return False
    return git.run_pager(argv, text.encode("utf-8", errors="replace"), child_env)
