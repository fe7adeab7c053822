"""Scenario files: the shipped ones load, broken ones fail with one clear ScenarioError."""

from __future__ import annotations

from pathlib import Path

import pytest

from send_mergereq.sandbox import available_scenarios, load_scenario
from send_mergereq.sandbox.errors import ScenarioError
from send_mergereq.sandbox.scenarios import parse_scenario
from send_mergereq.sandbox.status import composite, has_warnings

SHIPPED = {
    "green",
    "red",
    "allow-failure",
    "manual",
    "flaky",
    "child",
    "many",
    "many-gating",
    "faults",
    "late",
    "culprit",
}


def test_every_promised_scenario_ships_and_loads() -> None:
    assert set(available_scenarios()) >= SHIPPED
    for name in available_scenarios():
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.pipeline.jobs


def test_green_is_about_forty_virtual_minutes_of_nine_jobs() -> None:
    green = load_scenario("green")
    assert len(green.pipeline.jobs) == 9
    critical = sum(
        max(j.duration for j in green.pipeline.jobs if j.stage == stage)
        for stage in green.pipeline.stages
    )
    assert 35 * 60 <= critical <= 45 * 60


@pytest.mark.parametrize(("name", "may_fail"), [("many", True), ("many-gating", False)])
def test_many_has_a_failing_job_past_the_first_page_of_100(name: str, may_fail: bool) -> None:
    """Issue 15: pagination of failures is tested; job 126 of 251 fails, on the second page
    of 100 whether the jobs are listed oldest or newest first."""
    jobs = load_scenario(name).pipeline.jobs
    names = [job.name for job in jobs]
    assert len(names) == len(set(names)) == 251
    failing = [i for i, job in enumerate(jobs, start=1) if job.outcome == "failed"]
    assert failing == [126] and len(jobs) - 126 + 1 > 100
    assert jobs[125].allow_failure is may_fail


def test_scenario_file_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('stages = ["a"]\n[[jobs]]\nname = "j"\nstage = "a"\n')
    assert load_scenario(path).name == "mine"


BROKEN = [
    ('stages = ["a"]\n[[jobs]]\nname = "j"\nstage = "a"\ndurration = 3\n', "key 'durration'"),
    ('stages = ["a"]\n[[jobs]]\nname = "j"\nstage = "b"\n', "jobs[0].stage: 'b' is not one of a"),
    ('stages = ["a"]\n[[jobs]]\nname = "j"\nstage = "a"\noutcome = "red"\n', "outcome"),
    ('stages = ["a"]\n[[jobs]]\nname = "j"\nstage = "a"\nduration = "long"\n', "expected a number"),
    ('stages = ["a"]\n[[jobs]]\nname = "j"\nstage = "a"\ntrigger = "nope"\n', "unknown child"),
    ('stages = ["a"]\n[[jobs]]\nname = "j"\nstage = "a"\nrepeat = 3\n', "{n} placeholder"),
    ('stages = ["a"]\n[[jobs]]\nname = "j"\nstage = "a"\n[[jobs]]\nname = "j"\nstage = "a"\n',
     "duplicate job name 'j'"),
    ('stages = ["a"]\n[[jobs]]\nname = "j"\nstage = "a"\n[[faults]]\naction = "418"\n', "418"),
    ('stages = [\n', "not valid TOML"),
    ('stages = []\n', "non-empty list"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_broken_scenarios_name_file_and_key(text: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "broken.toml")
    assert "scenario broken.toml" in caught.value.message
    assert expected in caught.value.message
    assert "\n" not in caught.value.message


def test_unknown_scenario_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario("purple")
    assert "purple" in caught.value.message
    assert caught.value.hint is not None and "green" in caught.value.hint


@pytest.mark.parametrize(
    ("jobs", "expected"),
    [
        ([("success", False), ("failed", True)], "success"),
        ([("success", False), ("failed", False)], "failed"),
        ([("success", False), ("running", False), ("failed", False)], "running"),
        ([("success", False), ("manual", False), ("created", False)], "manual"),
        ([("success", False), ("manual", True)], "success"),
        ([("manual", True)], "skipped"),
        ([("success", False), ("canceled", False)], "canceled"),
        ([("pending", False), ("created", False)], "pending"),
        ([("created", False)], "created"),
        ([("success", False), ("failed", False), ("skipped", False)], "failed"),
    ],
)
def test_composite_status_follows_gitlab(jobs: list[tuple[str, bool]], expected: str) -> None:
    assert composite(jobs) == expected


def test_warnings_only_from_jobs_that_may_fail() -> None:
    assert has_warnings([("success", False), ("failed", True)])
    assert not has_warnings([("success", False), ("manual", True)])


def test_a_negative_mr_pipeline_delay_is_refused() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(
            'mr_pipeline_delay = -5\nstages = ["a"]\n[[jobs]]\nname = "j"\nstage = "a"\n', "x.toml"
        )
    assert caught.value.message == "scenario x.toml: mr_pipeline_delay: must not be negative"
