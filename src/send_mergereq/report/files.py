"""Reports for the pipeline: ``--report junit=PATH`` and ``--report codequality=PATH``.

GitLab reads them as ``artifacts: reports: junit:`` (the merge request's test report)
and ``artifacts: reports: codequality:`` (the Code Quality widget). Each writer is a
module with one job; this one parses the ``KIND=PATH`` specs and writes the files
(atomically: a CI job never uploads half a report; streamed, and bounded: what a
writer leaves out of a huge range is said in the report and returned for stderr).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from send_mergereq.errors import ConfigError
from send_mergereq.report import CheckReport

KINDS = ("junit", "codequality")


def parse_spec(text: str) -> tuple[str, Path]:
    """``"junit=report.xml"`` -> ``("junit", Path("report.xml"))``; ConfigError otherwise."""
    kind, sep, path = text.partition("=")
    if not sep or kind.strip() not in KINDS or not path.strip():
        raise ConfigError(
            f"--report {text!r}: expected KIND=PATH with KIND one of {', '.join(KINDS)}"
        )
    return kind.strip(), Path(path.strip())


def write_reports(report: CheckReport, specs: Sequence[str], repo: Path) -> list[str]:
    """Write every ``KIND=PATH`` report of ``specs`` for ``report`` (a range of ``repo``);
    return what each left out (``"PATH: what"``, one line each), to be said on stderr."""
    from send_mergereq.report import codequality, junit

    writers: dict[str, Callable[[CheckReport, Path, TextIO], list[str]]] = {
        "junit": junit.write,
        "codequality": codequality.write,
    }
    notes = []
    for kind, path in (parse_spec(spec) for spec in specs):
        if path.is_dir():
            raise ConfigError(
                f"--report {kind}={path}: is a directory",
                hint=f"name a file, e.g. --report {kind}={path / _EXAMPLE[kind]}",
            )
        said = _write_atomically(path, functools.partial(writers[kind], report, repo))
        notes += [f"{kind} report {path}: {note}" for note in said]
    return notes


_EXAMPLE = {"junit": "junit.xml", "codequality": "codequality.json"}


def _write_atomically(path: Path, write: Callable[[TextIO], list[str]]) -> list[str]:
    """Write through a temporary file beside ``path``, then rename it over ``path``; the
    temporary file never outlives a failure."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        import tempfile  # only when a report file is written

        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            notes = write(out)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise ConfigError(f"cannot write the report {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return notes
