"""run/discovery.py for ``status``: which pipeline it re-attaches to, without GitLab."""

from __future__ import annotations

from typing import Any

import pytest

from send_mergereq.errors import ConfigError
from send_mergereq.models import MergeRequest, Pipeline, PipelineKind
from send_mergereq.run import discovery

MR = MergeRequest(3, "https://gitlab.example/g/p/-/merge_requests/3", "staging", "master", "a" * 40)


def pipeline(pid: int, source: str, ref: str = "refs/merge-requests/3/merge") -> Pipeline:
    kind = PipelineKind.MERGED_RESULT if ref.endswith("/merge") else PipelineKind.BRANCH
    return Pipeline(pid, "running", ref, "b" * 40, f"https://gitlab.example/p/{pid}", kind, source)


class FakeForge:
    def __init__(self, mr: list[Pipeline], branch: list[Pipeline]) -> None:
        self._mr, self._branch = mr, branch
        self.info: Any = type("Info", (), {"path": "g/p"})()

    def mr_pipelines(self, iid: int) -> list[Pipeline]:
        return self._mr

    def branch_pipelines(self, ref: str) -> list[Pipeline]:
        return self._branch


def test_status_never_reattaches_to_a_child_pipeline() -> None:
    forge = FakeForge(
        [pipeline(10, "merge_request_event"), pipeline(11, "parent_pipeline")],
        [pipeline(20, "push", "staging"), pipeline(21, "parent_pipeline", "staging")],
    )
    assert discovery._latest(forge, MR).id == 10  # type: ignore[arg-type]
    assert discovery._latest_branch_pipeline(forge, "staging", "staging").id == 20  # type: ignore[arg-type]


def test_status_with_only_child_pipelines_says_there_is_none() -> None:
    forge = FakeForge([pipeline(11, "parent_pipeline")], [])
    with pytest.raises(ConfigError, match="has no pipeline yet"):
        discovery._latest(forge, MR)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="no open merge request and no pipeline"):
        discovery._latest_branch_pipeline(forge, "staging", "staging")  # type: ignore[arg-type]
