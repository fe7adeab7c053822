from __future__ import annotations

import pytest

from send_mergereq.models import Pipeline, PipelineKind, pipeline_kind
from send_mergereq.run.discovery import (
    OTHER_SOURCE_GRACE,
    Target,
    best,
    floor_of,
    matches_push,
    push_choice,
)

HEAD, OLD, MERGE = "a" * 40, "b" * 40, "c" * 40
TARGET = Target(iid=7, branch="staging", head=HEAD, floor=500)


def p(pid: int, ref: str, sha: str) -> Pipeline:
    return Pipeline(pid, "running", ref, sha, f"u/{pid}", pipeline_kind(ref))


@pytest.mark.parametrize(
    ("ref", "kind"),
    [
        ("refs/merge-requests/7/merge", PipelineKind.MERGED_RESULT),
        ("refs/merge-requests/7/train", PipelineKind.MERGED_RESULT),
        ("refs/merge-requests/7/head", PipelineKind.DETACHED),
        ("staging", PipelineKind.BRANCH),
        ("refs/merge-requests/7/headless", PipelineKind.BRANCH),
    ],
)
def test_kind_from_ref(ref: str, kind: PipelineKind) -> None:
    assert pipeline_kind(ref) == kind


@pytest.mark.parametrize(
    ("pipeline", "matches"),
    [
        (p(501, "refs/merge-requests/7/merge", MERGE), True),  # new merged results
        (p(499, "refs/merge-requests/7/merge", MERGE), False),  # older MR pipeline
        (p(501, "refs/merge-requests/8/merge", MERGE), False),  # another MR
        (p(501, "refs/merge-requests/7/train", MERGE), False),  # a merge train
        (p(501, "refs/merge-requests/7/head", HEAD), True),
        (p(501, "refs/merge-requests/7/head", OLD), False),  # another head
        (p(499, "refs/merge-requests/7/head", HEAD), False),  # same head, before the push
        (p(501, "staging", HEAD), True),
        (p(501, "master", HEAD), False),
    ],
)
def test_tests_push(pipeline: Pipeline, matches: bool) -> None:
    assert matches_push(pipeline, TARGET) is matches


def test_reuse_accepts_older_runs_for_the_same_head_only() -> None:
    reuse = Target(7, "staging", HEAD, floor=500, reuse=True, head_pipeline_id=450)
    assert matches_push(p(450, "refs/merge-requests/7/merge", MERGE), reuse)
    assert not matches_push(p(449, "refs/merge-requests/7/merge", MERGE), reuse)
    assert matches_push(p(440, "refs/merge-requests/7/head", HEAD), reuse)
    assert not matches_push(p(440, "refs/merge-requests/7/head", OLD), reuse)


def test_best_prefers_merged_then_detached_then_branch_then_newest() -> None:
    pipelines = [
        p(510, "staging", HEAD),
        p(505, "refs/merge-requests/7/head", HEAD),
        p(503, "refs/merge-requests/7/merge", MERGE),
        p(504, "refs/merge-requests/7/merge", MERGE),
        p(499, "refs/merge-requests/7/merge", MERGE),
    ]
    chosen = best(pipelines, TARGET)
    assert chosen is not None and chosen.id == 504
    assert best(pipelines[:2], TARGET) == pipelines[1]
    assert best(pipelines[:1], TARGET) == pipelines[0]
    assert best([pipelines[-1]], TARGET) is None


def test_floor() -> None:
    assert floor_of([]) == 0
    assert floor_of([p(3, "x", HEAD), p(9, "y", HEAD)]) == 9


# -- push-only: the push's own pipeline first (issue 24) ------------------------------------


def sourced(pid: int, source: str, ref: str = "staging", sha: str = "a" * 40) -> Pipeline:
    return Pipeline(pid, "running", ref, sha, f"https://x/-/pipelines/{pid}",
                    PipelineKind.BRANCH, source=source)  # fmt: skip


def test_push_only_prefers_the_push_over_a_newer_schedule_api_or_web_pipeline() -> None:
    """``schedule``, ``api``, ``web`` and a cross-project ``pipeline`` share the ref and sha
    (GitLab's Ci::Pipeline sources); the highest id used to win."""
    listed = [sourced(12, "schedule"), sourced(11, "api"), sourced(10, "push"),
              sourced(13, "web"), sourced(14, "pipeline")]  # fmt: skip
    assert push_choice(listed, "staging", "a" * 40, 5, reuse=False, waited=0).id == 10  # type: ignore[union-attr]


def test_push_only_takes_another_source_only_after_the_grace() -> None:
    listed = [sourced(12, "schedule")]
    assert push_choice(listed, "staging", "a" * 40, 5, reuse=False, waited=1) is None
    late = push_choice(listed, "staging", "a" * 40, 5, reuse=False, waited=OTHER_SOURCE_GRACE)
    assert late is not None and late.id == 12


def test_a_pipeline_without_a_source_counts_as_the_push() -> None:
    listed = [sourced(12, ""), sourced(13, "schedule")]
    assert push_choice(listed, "staging", "a" * 40, 5, reuse=False, waited=0).id == 12  # type: ignore[union-attr]


def test_mr_mode_branch_fallback_prefers_the_push_too() -> None:
    target = Target(iid=7, branch="staging", head="a" * 40, floor=5)
    assert best([sourced(12, "schedule"), sourced(10, "push")], target).id == 10  # type: ignore[union-attr]
