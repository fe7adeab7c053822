"""A hostile GitLab against the installed CLI: one that drips its answers one byte a second,
one whose listings never end."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from e2e_helpers import PROJECT, MakeMaintainer, run_cli

from hostile_http import PROJECT as HOSTILE_PROJECT
from hostile_http import Answer, json_answer, serve

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


def test_status_stops_an_endless_listing_with_one_line(maintainer: MakeMaintainer) -> None:
    """Every page of merge requests names one more (``X-Next-Page: page+1``): the run ends
    at the bound with one line, exit 6, instead of reading (and holding) pages forever."""
    who = maintainer()

    def endless(method: str, path: str) -> Answer:
        if "/merge_requests" not in path:
            return json_answer(HOSTILE_PROJECT)
        page = int(parse_qs(urlsplit(path).query).get("page", ["1"])[0])
        mrs = [{"iid": page * 100 + i, "source_branch": "other", "state": "opened"}
               for i in range(100)]  # fmt: skip
        headers = {"Content-Type": "application/json", "X-Next-Page": str(page + 1)}
        return Answer(200, json.dumps(mrs).encode(), headers)

    with serve(endless) as gitlab:
        rc, _, err = run_cli(
            "status", "staging", "--gitlab-url", gitlab.url, "--project", PROJECT,
            env=who.env(), cwd=who.repo, timeout=120,
        )  # fmt: skip
        asked = [r for r in gitlab.seen if "/merge_requests" in r["path"]]
    assert rc == 6, err
    first = err.splitlines()[0]
    assert first == (
        "send-mergereq: GitLab's list holds more than 20,000 items; send-mergereq reads at "
        "most 20,000 (while listing merge requests from staging)"
    )
    assert "Traceback" not in err
    assert len(asked) == 201
