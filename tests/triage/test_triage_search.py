"""triage/search.py: the rounds of prefixes bisect runs, and its verdict."""

from __future__ import annotations

import pytest

from send_mergereq.triage.search import (
    CULPRIT,
    NOT_REPRODUCED,
    TARGET,
    Search,
    Verdict,
    bisect_branch,
    leftovers,
    rounds_needed,
    spread,
)


def run(
    search: Search, fails_from: int | None, rerun_passes: bool
) -> tuple[Verdict, list[list[int]]]:
    """Drive ``search`` against a history where prefix k fails iff k >= ``fails_from``
    (None: no prefix fails); the rounds it ran."""
    rounds: list[list[int]] = []
    while (verdict := search.verdict()) is None:
        probes = search.probes()
        if not probes:
            assert search.needs_rerun()
            search.rerun_passed = rerun_passes
            continue
        assert len(probes) <= search.parallel
        assert not set(probes) & set(search.known), "a known prefix is never run again"
        rounds.append(probes)
        for k in probes:
            search.record(k, fails_from is None or k < fails_from)
    return verdict, rounds


@pytest.mark.parametrize("parallel", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 20])
@pytest.mark.parametrize("target_known", [False, True])
def test_every_culprit_is_found_within_the_announced_rounds(
    n: int, parallel: int, target_known: bool
) -> None:
    for culprit in range(1 if target_known else 0, n + 1):
        known = {0: True} if target_known else {}
        search = Search(n, parallel, dict(known))
        announced = rounds_needed(len(search.undecided()), parallel)
        verdict, rounds = run(search, culprit, rerun_passes=False)
        expected = Verdict(TARGET) if culprit == 0 else Verdict(CULPRIT, culprit)
        assert verdict == expected, (n, parallel, culprit)
        assert len(rounds) <= announced, (n, parallel, culprit, rounds)


def test_halving_with_one_at_a_time_is_a_binary_search() -> None:
    assert rounds_needed(20, 1) == 5  # ceil(log2(21))
    assert rounds_needed(20, 4) == 2  # 20 -> 4 probes leave at most 4 -> one more round
    assert rounds_needed(4, 4) == 1 and rounds_needed(0, 4) == 0
    assert spread(list(range(10)), 4) == [2, 4, 6, 8]
    assert spread([3, 4], 4) == [3, 4]


def test_a_flaky_failure_is_not_reproduced() -> None:
    search = Search(3, 4, {0: True})
    verdict, rounds = run(search, None, rerun_passes=True)
    assert verdict == Verdict(NOT_REPRODUCED)
    assert rounds == [[1, 2]]


def test_the_last_pull_request_is_blamed_only_when_the_rerun_fails_again() -> None:
    verdict, _ = run(Search(3, 4, {0: True}), 3, rerun_passes=False)
    assert verdict == Verdict(CULPRIT, 3)


def test_contradictions_resolve_to_the_lowest_failure() -> None:
    search = Search(6, 6)
    for k, passed in {0: True, 1: True, 2: False, 3: True, 4: False, 5: True}.items():
        search.record(k, passed)
    assert search.verdict() == Verdict(CULPRIT, 2)


def test_reused_results_are_not_run_and_bad_input_is_refused() -> None:
    search = Search(8, 2, {0: True, 5: False})
    assert search.undecided() == [1, 2, 3, 4]
    assert search.probes() == [2, 3]
    with pytest.raises(ValueError):
        Search(0)
    with pytest.raises(ValueError):
        Search(3, 0)
    with pytest.raises(ValueError):
        search.record(9, True)


def test_temporary_branches_and_what_a_killed_run_left() -> None:
    assert bisect_branch("staging", 3) == "staging-bisect-3"
    assert bisect_branch("staging", 3, "tmp/bisect-") == "tmp/bisect-3"
    branches = ["staging", "staging-bisect-1", "staging-bisect-12", "staging-bisect-x",
                "staging-bisect-1-keep", "other-bisect-2", "staging-bisect-"]  # fmt: skip
    assert leftovers(branches, "staging") == ["staging-bisect-1", "staging-bisect-12"]
    assert leftovers(["tmp/bisect-4", "staging-bisect-1"], "staging", "tmp/bisect-") == [
        "tmp/bisect-4"
    ]
