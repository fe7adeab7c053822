"""Reports for the pipeline: ``--report junit=PATH`` and ``--report codequality=PATH``.

GitLab reads them as ``artifacts: reports: junit:`` (the merge request's test report)
and ``artifacts: reports: codequality:`` (the Code Quality widget). Each writer is a
module with one job; this one parses the ``KIND=PATH`` specs and writes the files
(atomically: a CI job never uploads half a report).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

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


def write_reports(report: CheckReport, specs: Sequence[str], repo: Path) -> None:
    """Write every ``KIND=PATH`` report of ``specs`` for ``report`` (a range of ``repo``)."""
    from send_mergereq.reports import codequality, junit

    writers: dict[str, Callable[[CheckReport, Path], str]] = {
        "junit": junit.render,
        "codequality": codequality.render,
    }
    for kind, path in (parse_spec(spec) for spec in specs):
        _write_atomically(path, writers[kind](report, repo))


def _write_atomically(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"cannot write the report {path}: {exc.strerror or exc}") from None
