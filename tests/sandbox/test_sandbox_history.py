"""The sandbox's ``[history]``: stories parsed strictly, every shipped scenario's history
valid, and the seeded attempts as GitLab keeps them."""

from __future__ import annotations

import pytest

from send_mergereq.sandbox import Sandbox
from send_mergereq.sandbox.errors import ScenarioError
from send_mergereq.sandbox.history import ATTEMPTS
from send_mergereq.sandbox.past import CODES, expand, parse_history
from send_mergereq.sandbox.scenarios import load_scenario


def test_stories_expand_and_refuse_what_they_cannot_read() -> None:
    assert expand("3*s f 2*rk", "w") == "sssfrkrk"
    for bad in ("3*", "x", "2*sx", "*s", "-1*s"):
        with pytest.raises(ScenarioError, match="N\\*CODES"):
            expand(bad, "w")
    assert set(ATTEMPTS) | {"-"} == set(CODES)


@pytest.mark.parametrize(
    ("history", "said"),
    [
        ({"pipelines": 3, "jobs": [{"name": "a", "story": "ss"}]}, "2 codes for 3 pipelines"),
        ({"pipelines": 0, "jobs": []}, "pipelines"),
        ({"pipelines": 2, "jobs": []}, "jobs"),
        ({"pipelines": 2, "every_hours": 0, "jobs": [{"name": "a", "story": "ss"}]}, "every"),
        ({"pipelines": 1, "jobs": [{"name": "a", "story": "s", "when": "x"}]}, "unknown key"),
        ({"pipelines": 1, "what": 1, "jobs": []}, "unknown key"),
    ],
)
def test_a_bad_history_names_the_key(history: dict[str, object], said: str) -> None:
    with pytest.raises(ScenarioError, match=said):
        parse_history(history, "t.toml")


def test_the_tiers_scenario_seeds_160_finished_pipelines_of_master() -> None:
    scenario = load_scenario("tiers")
    assert scenario.history is not None and scenario.history.pipelines == 160
    with Sandbox(time_scale=0) as sandbox:
        sandbox.create_project("group/proj", scenario="tiers", initialize_with_readme=True)
        ids = sandbox.seed_history("group/proj")
        assert len(ids) == 160 and ids == sorted(ids)
        pipelines = [sandbox.world.pipelines[i] for i in ids]
        finished = ("success", "failed", "canceled")  # a canceled job cancels its pipeline
        assert all(p.status in finished and p.ref == "master" for p in pipelines)
        assert all(p.finished_at is not None and p.finished_at <= sandbox.now() for p in pipelines)
        gap = pipelines[1].created_at - pipelines[0].created_at
        assert gap == 12 * 3600
        unit = [j for j in pipelines[9].jobs if j.name == "check-unit"]
        assert [(j.status, j.retried) for j in unit] == [("failed", True), ("success", False)]
        assert unit[0].id < unit[1].id
        assert pipelines[-1].status == "failed"  # check-iotests
        assert sandbox.errors == []


def test_seeding_needs_a_history_and_a_branch() -> None:
    with Sandbox(time_scale=0) as sandbox:
        sandbox.create_project("group/green")
        with pytest.raises(ScenarioError, match="no \\[history\\]"):
            sandbox.seed_history("group/green")
        sandbox.create_project("group/tiers", scenario="tiers")
        with pytest.raises(ScenarioError, match="no branch 'master'"):
            sandbox.seed_history("group/tiers")
