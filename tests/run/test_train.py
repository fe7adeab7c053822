"""run/train.py: --land on a merge-train project joins the train, never merges directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from send_mergereq.errors import ExitCode
from send_mergereq.gate import Outcome, Verdict
from send_mergereq.gitlab.entities import TrainCar
from send_mergereq.gitlab.forge import MergeRefused
from send_mergereq.models import Job, MergeRequest, Pipeline, PipelineKind
from send_mergereq.run.clock import Clock
from send_mergereq.run.land_decision import LandHow
from send_mergereq.run.train import land_on_train
from send_mergereq.watch.types import WatchResult

HEAD, TRAIN_SHA, OLD = "a" * 40, "c" * 40, "b" * 40
TRAIN = {"id": 900, "status": "running", "ref": "refs/merge-requests/7/train", "sha": TRAIN_SHA,
         "web_url": "https://gl/p/900"}  # fmt: skip


def result(outcome: Outcome, *failed: Job) -> WatchResult:
    return WatchResult(Verdict(outcome, "r", failed_gating=failed), None, {}, 1.0, "resume")


@dataclass
class FakeForge:
    refuse: str | None = None
    states: list[str] = field(default_factory=lambda: ["merged"])
    cars: list[TrainCar | None] = field(default_factory=list)
    added: list[tuple[int, str]] = field(default_factory=list)

    def add_to_merge_train(self, iid: int, sha: str) -> TrainCar | None:
        self.added.append((iid, sha))
        if self.refuse:
            raise MergeRefused(self.refuse)
        return TrainCar(1, "fresh", TRAIN)

    def merge_train_car(self, iid: int) -> TrainCar | None:
        return self.cars.pop(0) if self.cars else None

    def train_pipeline(self, car: TrainCar) -> Pipeline | None:
        attrs: Any = car.pipeline
        return None if attrs is None else Pipeline(
            attrs["id"], attrs["status"], attrs["ref"], attrs["sha"], attrs["web_url"],
            PipelineKind.MERGED_RESULT,
        )  # fmt: skip

    def merge_request(self, iid: int) -> tuple[MergeRequest, None]:
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        merged = TRAIN_SHA if state == "merged" else None
        return MergeRequest(iid, "u", "staging", "master", HEAD, state=state,
                            merge_commit_sha=merged), None  # fmt: skip

    def branch_head(self, branch: str) -> str:
        return TRAIN_SHA


def clock() -> Clock:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    return Clock(now=lambda: now[0], sleep=sleep)


def test_an_open_gate_joins_the_train_and_lands_when_the_train_merges() -> None:
    forge = FakeForge(states=["opened", "merged"])
    watched: list[int] = []

    def rewatch(pipeline: Pipeline) -> WatchResult:
        watched.append(pipeline.id)
        return result(Outcome.OPEN)

    landed, _ = land_on_train(forge, 7, HEAD, "master", result(Outcome.OPEN),  # type: ignore[arg-type]
                              rewatch=rewatch, clock=clock())  # fmt: skip
    assert forge.added == [(7, HEAD)] and watched == [900]
    assert landed.landed and landed.how is LandHow.MERGE_TRAIN and landed.sha == TRAIN_SHA
    assert landed.line("master").endswith("(merged by the merge train); master is now at "
                                          + TRAIN_SHA[:12])  # fmt: skip


def test_a_red_train_pipeline_drops_the_car_exit_7_naming_the_jobs() -> None:
    forge = FakeForge(states=["opened"])
    failed = Job(5, "check-integration", "test", "failed")
    landed, _ = land_on_train(forge, 7, HEAD, "master", result(Outcome.OPEN),  # type: ignore[arg-type]
                              rewatch=lambda _p: result(Outcome.CLOSED, failed),
                              clock=clock())  # fmt: skip
    assert not landed.landed and landed.exit_code is ExitCode.NOT_LANDED
    assert landed.reason == ("!7 was dropped from the merge train: train pipeline #900 closed "
                             "(test/check-integration failed)")  # fmt: skip


def test_a_closed_gate_never_joins_the_train() -> None:
    forge = FakeForge()
    landed, _ = land_on_train(forge, 7, HEAD, "master", result(Outcome.CLOSED),  # type: ignore[arg-type]
                              rewatch=lambda _p: result(Outcome.OPEN), clock=clock())  # fmt: skip
    assert forge.added == [] and landed.exit_code is ExitCode.GATE_CLOSED


def test_a_refusal_to_join_is_exit_7_with_gitlabs_reason() -> None:
    forge = FakeForge(refuse="GitLab refused to merge !7 (409): the source branch moved")
    landed, _ = land_on_train(forge, 7, HEAD, "master", result(Outcome.OPEN),  # type: ignore[arg-type]
                              rewatch=lambda _p: result(Outcome.OPEN), clock=clock())  # fmt: skip
    assert landed.exit_code is ExitCode.NOT_LANDED
    assert landed.reason == "GitLab refused to merge !7 (409): the source branch moved"
