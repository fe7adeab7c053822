"""``json_text.dumps`` writes what ``json.dumps(doc, indent=2)`` writes, byte for byte."""

from __future__ import annotations

import json
import random
from enum import IntEnum, StrEnum
from typing import Any

import pytest

from send_mergereq import json_text

STRINGS = ["", "plain", 'quote " and \\ slash', "tab\tnew\nline", "caf\u00e9 \u2603 \U0001f600",
           "\x00\x1f\x7f", "lone \ud800 surrogate", "</script>"]  # fmt: skip


class Level(StrEnum):
    HIGH = "high"


class Count(IntEnum):
    TWO = 2


def _value(rng: random.Random, depth: int) -> Any:
    pick = rng.randrange(12 if depth < 4 else 8)
    if pick == 0:
        return rng.choice(STRINGS)
    if pick == 1:
        return rng.choice([None, True, False])
    if pick == 2:
        return rng.randrange(-(10**20), 10**20)
    if pick == 3:
        return rng.choice([0.0, -0.0, 1.5, 1e300, 1e-300, 0.1 + 0.2])
    if pick == 4:
        return rng.choice([Level.HIGH, Count.TWO])
    if pick < 8:
        return rng.choice(STRINGS) + str(rng.randrange(100))
    if pick < 10:
        items = [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
        return tuple(items) if rng.random() < 0.2 else items
    return {rng.choice(STRINGS) + str(n): _value(rng, depth + 1) for n in range(rng.randrange(4))}


def test_the_same_text_as_json_dumps_indent_2() -> None:
    rng = random.Random(26)
    for _ in range(3000):
        doc = _value(rng, 0)
        assert json_text.dumps(doc) == json.dumps(doc, indent=2)


@pytest.mark.parametrize(
    "doc", [float("nan"), [float("inf")], {1: "int key"}, {"k": {True: None}}, {"set": set()}]
)
def test_what_it_does_not_write_json_writes_or_refuses_alike(doc: Any) -> None:
    try:
        expected = json.dumps(doc, indent=2)
    except TypeError as refused:
        with pytest.raises(TypeError, match=str(refused)):
            json_text.dumps(doc)
    else:
        assert json_text.dumps(doc) == expected


def test_a_report_sized_document() -> None:
    finding = {"check": "signoff", "severity": "warning", "commit": "a" * 40, "subject": "x"}
    doc = {"verdict": "checks_failed", "findings": [dict(finding) for _ in range(2000)]}
    assert json_text.dumps(doc) == json.dumps(doc, indent=2)
