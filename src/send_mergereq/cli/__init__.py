"""Command line: a shell over ``run/`` (see docs/ARCHITECTURE.md).

``group`` is the click group and its registry of commands, one module per command
(``submit``, ``status``, ``check``, ``apply``, ``demo``), each of which builds settings
and calls the run; ``options`` holds the option groups; ``funnel`` is the error funnel,
the signals and the exit point (the only place that exits).
"""

from send_mergereq.cli.funnel import main, run
from send_mergereq.cli.group import cli
from send_mergereq.cli.options import Duration

__all__ = ["Duration", "cli", "main", "run"]
