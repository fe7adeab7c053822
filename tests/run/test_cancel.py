"""``--cancel-rest``'s logic over a GitLab that answers, loses its answer, or cancels a
child pipeline's jobs a moment later: sent once, then read back."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from send_mergereq.errors import ForgeError, TransientForgeError
from send_mergereq.models import Job, Pipeline, PipelineKind
from send_mergereq.run.cancel import alive, cancel_rest, hint

URL = "https://gitlab.example/qemu/-/pipelines/7"


def job(jid: int, status: str, pipeline: int = 7, **more: object) -> Job:
    return Job(id=jid, name=f"job-{jid}", stage="test", status=status, pipeline_id=pipeline,
               **more)  # type: ignore[arg-type]  # fmt: skip


def pipeline() -> Pipeline:
    child = Pipeline(id=8, status="running", ref="r", sha="c" * 40, web_url="",
                     kind=PipelineKind.BRANCH, jobs=(job(20, "running", 8),))  # fmt: skip
    bridge = job(10, "running", is_bridge=True, downstream_pipeline_id=8)
    jobs = (job(1, "failed"), job(2, "running"), job(3, "created"), job(4, "manual"), bridge)
    return Pipeline(id=7, status="running", ref="r", sha="c" * 40, web_url=URL,
                    kind=PipelineKind.BRANCH, jobs=jobs, children=(child,))  # fmt: skip


@dataclass
class GitLab:
    """Cancels every alive job (the child's only when ``child_late``), as GitLab does."""

    lose_answer: bool = False
    child_late: bool = False
    unreadable: bool = False
    posts: list[int] = field(default_factory=list)
    state: dict[int, list[Job]] = field(default_factory=dict)

    def cancel_pipeline(self, pipeline_id: int) -> Pipeline:
        self.posts.append(pipeline_id)
        for pid, jobs in self.state.items():
            if pid == 8 and self.child_late:
                continue
            self.state[pid] = [
                replace(j, status="canceled") if j.status in ("running", "created") else j
                for j in jobs
            ]
        if self.lose_answer:
            raise TransientForgeError("cannot reach GitLab while canceling pipeline 7")
        return pipeline()

    def list_jobs(self, pipeline_id: int) -> list[Job]:
        if self.unreadable:
            raise ForgeError("GitLab 404 while listing jobs of pipeline 7: gone")
        return [j for j in self.state.get(pipeline_id, []) if not j.is_bridge]

    def list_bridges(self, pipeline_id: int) -> list[Job]:
        return [j for j in self.state.get(pipeline_id, []) if j.is_bridge]


def gitlab(**options: bool) -> GitLab:
    top, child = pipeline(), pipeline().children[0]
    return GitLab(**options, state={7: list(top.jobs), 8: list(child.jobs)})


def test_alive_jobs_are_the_cancelable_ones_children_included() -> None:
    assert sorted(j.id for j in alive(pipeline())) == [2, 3, 10, 20]  # not failed, not manual


def test_cancel_is_sent_once_and_read_back() -> None:
    source = gitlab()
    done = cancel_rest(source, pipeline())
    assert source.posts == [7]
    assert done.line() == "canceled 4 of the 4 jobs left in pipeline #7"


def test_a_lost_answer_is_read_back_and_not_sent_again() -> None:
    source = gitlab(lose_answer=True)
    done = cancel_rest(source, pipeline())
    assert source.posts == [7]
    assert done.line() == (
        "GitLab's answer to the cancel was lost; read back: canceled 4 of the 4 jobs left in "
        "pipeline #7"
    )


def test_a_child_canceled_later_is_said_not_asked_again() -> None:
    source = gitlab(child_late=True)
    done = cancel_rest(source, pipeline())
    assert source.posts == [7]
    assert done.line() == (
        "canceled 3 of the 4 jobs left in pipeline #7; 1 still running (GitLab cancels child "
        f"pipelines a moment later; not asked again): {URL}"
    )


def test_a_state_that_cannot_be_read_back_is_said_with_the_link() -> None:
    done = cancel_rest(gitlab(unreadable=True), pipeline())
    assert done.line() == (
        "asked GitLab to cancel pipeline #7, but could not read back what it did (GitLab 404 "
        f"while listing jobs of pipeline 7: gone): see {URL}"
    )


@pytest.mark.parametrize("left", [True, False])
def test_the_hint_names_what_is_left_and_the_command(left: bool) -> None:
    resume = "send-mergereq status staging --target master"
    finished = replace(pipeline(), jobs=(job(1, "failed"), job(4, "manual")), children=())
    said = hint(pipeline() if left else finished, resume)
    if left:
        assert said == (
            "hint: 4 jobs of pipeline #7 still run or wait; cancel them with: "
            f"{resume} --cancel-rest"
        )
    else:
        assert said is None


def test_the_demo_hint_names_the_option_not_a_command() -> None:
    from send_mergereq.demo.flow import DEMO_RESUME

    assert hint(pipeline(), DEMO_RESUME) == (
        "hint: 4 jobs of pipeline #7 still run or wait; --cancel-rest cancels them as soon as "
        "the gate closes"
    )


def test_another_projects_downstream_pipeline_is_neither_counted_nor_read() -> None:
    """A multi-project bridge's downstream pipeline (``project_id`` set) is not this
    project's: its jobs are not counted as ours to cancel, and are never read back
    through this project's endpoints (where its id would answer 404)."""
    top = pipeline()
    other = Pipeline(id=9, status="running", ref="main", sha="d" * 40, web_url="",
                     kind=PipelineKind.BRANCH, project_id=99,
                     jobs=(job(30, "running", 9, project_id=99),))  # fmt: skip
    bridge = job(11, "running", is_bridge=True, downstream_pipeline_id=9,
                 downstream_project_id=99)  # fmt: skip
    both = replace(top, jobs=(*top.jobs, bridge), children=(*top.children, other))
    assert sorted(j.id for j in alive(both)) == [2, 3, 10, 11, 20]
    listed: list[int] = []

    class Ours(GitLab):
        def list_jobs(self, pipeline_id: int) -> list[Job]:
            listed.append(pipeline_id)
            return super().list_jobs(pipeline_id)

    gl = Ours(state={7: [*top.jobs, bridge], 8: list(top.children[0].jobs)})

    done = cancel_rest(gl, both)

    assert listed == [7, 8]  # never 9: GitLab would answer 404 for it here
    assert (done.asked, done.unread) == (5, None)
