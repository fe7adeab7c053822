"""A failed job's log is streamed and only its end kept: memory stays bounded whatever the
log's size (measured here with tracemalloc as a bound, not a timing)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import responses

import gitlab_api as g
from send_mergereq.gitlab.credentials import Secret, Token
from send_mergereq.gitlab.forge import Forge
from send_mergereq.gitlab.forge_pipelines import TRACE_TAIL_BYTES, TailBuffer
from send_mergereq.logtext import log_tail

MB = 1024 * 1024


@pytest.fixture
def forge() -> Iterator[tuple[Forge, responses.RequestsMock]]:
    with responses.RequestsMock() as rsps:
        url = f"{g.API}/projects/{quote(g.PROJECT_PATH, safe='')}"
        g.get(rsps, url, g.project())
        yield Forge.connect(g.URL, Token(Secret(g.TOKEN), "GITLAB_TOKEN"), g.PROJECT_PATH), rsps


def test_a_96_mb_log_is_read_with_bounded_memory(
    forge: tuple[Forge, responses.RequestsMock],
) -> None:
    client, rsps = forge
    body = b"".join([b"x" * 63 + b"\n"] * (96 * MB // 64)) + b"error: the last line\n"
    rsps.get(f"{g.P}/jobs/7/trace", body=body)
    tracemalloc.start()
    try:
        text = client.job_trace(7)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert log_tail(text, 2).splitlines()[-1] == "error: the last line"
    assert len(text) <= TRACE_TAIL_BYTES
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB for a 96 MB log"


def test_the_tail_drops_a_cut_first_line_and_keeps_whole_ones() -> None:
    tail = TailBuffer(10)
    for chunk in (b"aaaa\nbbbb\n", b"cccc\n", b"dd\nee\n"):
        tail.add(chunk)
    assert tail.text() == "dd\nee\n"
    small = TailBuffer(100)
    small.add(b"one\ntwo\n")
    assert small.text() == "one\ntwo\n"
