"""A hostile GitLab against the installed CLI: one that drips its answers one byte a second."""

from __future__ import annotations

import time

import pytest
from e2e_helpers import PROJECT, MakeMaintainer, run_cli

from hostile_http import Answer, serve

pytestmark = pytest.mark.e2e


def test_status_timeout_bounds_a_slow_drip_server(maintainer: MakeMaintainer) -> None:
    who = maintainer()
    drip = Answer(200, b'{"id": 1}' + b" " * 600, drip=1.0)  # ten minutes of answer
    with serve(lambda method, path: drip) as gitlab:
        started = time.monotonic()
        rc, _, err = run_cli(
            "status", "staging", "--timeout", "5", "--gitlab-url", gitlab.url,
            "--project", PROJECT, env=who.env(), cwd=who.repo, timeout=120,
        )  # fmt: skip
        took = time.monotonic() - started
    assert rc == 4, err
    assert err.splitlines()[0] == f"send-mergereq: timed out while looking up project {PROJECT}"
    assert "Traceback" not in err
    assert took < 60  # it ended (without the deadline it runs for ten minutes)
