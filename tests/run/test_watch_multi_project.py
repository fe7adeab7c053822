"""The watch over a multi-project bridge (issue 24): the other project's downstream
pipeline is read at that project (its jobs gate like a child's, its logs come from there,
``--retry-failed`` leaves them alone), and one the token cannot read is named on the
bridge's line with GitLab's failure reason, without ending the watch."""

from __future__ import annotations

from dataclasses import dataclass, field

from send_mergereq.errors import TransientForgeError, UnreadableProject
from send_mergereq.gate import Outcome
from send_mergereq.models import Job, Pipeline, PipelineKind
from send_mergereq.watch.loop import watch
from send_mergereq.watch.types import Snapshot, WatchOptions, WatchResult
from send_mergereq.watch.verdict import verdict_lines

TOP, CHILD, OTHER = 100, 901, 99
URL = "https://gl/docs/-/pipelines/901"


def job(jid: int, name: str, status: str, **kw: object) -> Job:
    fields: dict[str, object] = {"stage": "test", "pipeline_id": TOP, "duration": 10.0}
    fields.update(kw)
    return Job(id=jid, name=name, status=status, web_url=f"https://gl/j/{jid}", **fields)  # type: ignore[arg-type]


def bridge(status: str, **kw: object) -> Job:
    return job(50, "docs", status, stage="deploy", is_bridge=True, downstream_pipeline_id=CHILD,
               downstream_project_id=OTHER, downstream_elsewhere=URL, **kw)  # fmt: skip


@dataclass
class OtherProject:
    """This project's pipeline TOP (a unit job and a bridge to project 99's pipeline 901);
    ``readable``: whether the token may read project 99."""

    bridge: Job
    child_jobs: list[Job]
    readable: bool = True
    calls: list[tuple[str, int, int | None]] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)

    def get_pipeline(self, pipeline_id: int, project: int | None = None) -> Pipeline:
        self.calls.append(("pipeline", pipeline_id, project))
        assert (pipeline_id == CHILD) == (project == OTHER)
        if project is not None and not self.readable:
            raise UnreadableProject(f"the token cannot read project {project} (404)")
        status = "failed" if pipeline_id == CHILD else "running"
        return Pipeline(pipeline_id, status, "main", "c" * 40, f"https://gl/p/{pipeline_id}",
                        PipelineKind.BRANCH, project_id=project)  # fmt: skip

    def list_jobs(self, pipeline_id: int, project: int | None = None) -> list[Job]:
        self.calls.append(("jobs", pipeline_id, project))
        assert (pipeline_id == CHILD) == (project == OTHER)
        if pipeline_id == CHILD:
            return list(self.child_jobs)
        return [job(10, "unit", "running")]

    def list_bridges(self, pipeline_id: int, project: int | None = None) -> list[Job]:
        self.calls.append(("bridges", pipeline_id, project))
        assert (pipeline_id == CHILD) == (project == OTHER)
        return [self.bridge] if pipeline_id == TOP else []

    def job_trace(self, job_id: int, project: int | None = None) -> str:
        self.calls.append(("trace", job_id, project))
        return "make docs\nError 1\n"

    def retry_job(self, job_id: int) -> Job:
        self.retried.append(job_id)
        raise AssertionError("another project's job sent to this project's retry")


class Recorder:
    def __init__(self) -> None:
        self.snapshots: list[Snapshot] = []

    def update(self, snapshot: Snapshot) -> None:
        self.snapshots.append(snapshot)

    def reconnecting(self, error: TransientForgeError, retry_in: float) -> None:
        raise AssertionError(error.message)

    def retried(self, job: Job, count: int, limit: int) -> None:
        raise AssertionError(job.name)

    def finish(self, result: WatchResult) -> None:
        pass

    def close(self) -> None:
        pass


def run(gitlab: OtherProject, **options: object) -> tuple[WatchResult, Recorder]:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    display = Recorder()
    result = watch(gitlab, TOP, display, WatchOptions(**options), resume_command="resume",  # type: ignore[arg-type]
                   clock=lambda: now[0], sleep=sleep)  # fmt: skip
    return result, display


def test_another_projects_failing_job_closes_the_gate_read_at_its_project() -> None:
    failed = job(40, "build-docs", "failed", pipeline_id=CHILD, project_id=OTHER)
    gitlab = OtherProject(bridge("failed", failure_reason="downstream_pipeline_failure"),
                          [failed])  # fmt: skip

    result, _ = run(gitlab, retry_failed=2, retry_grace=0)

    assert result.verdict.outcome is Outcome.CLOSED
    assert [j.id for j in result.verdict.failed_gating] == [50, 40]  # the bridge, its job
    assert ("jobs", CHILD, OTHER) in gitlab.calls
    assert ("trace", 40, OTHER) in gitlab.calls
    assert result.logs == {40: "make docs\nError 1"}
    assert gitlab.retried == []  # --retry-failed leaves another project's job alone
    assert result.pipeline is not None
    assert [child.project_id for child in result.pipeline.children] == [OTHER]
    lines = "\n".join(verdict_lines(result))
    assert "✘ test/build-docs  https://gl/j/40" in lines
    assert f"✘ deploy/docs (downstream {URL})" in lines
    assert "gate closed: test/build-docs failed" in lines


def test_a_downstream_the_token_cannot_read_is_named_with_the_reason() -> None:
    gitlab = OtherProject(bridge("running"), [], readable=False)
    polls = [0]
    original = gitlab.list_bridges

    def later(pipeline_id: int, project: int | None = None) -> list[Job]:
        polls[0] += 1
        if polls[0] >= 3:  # the bridge fails on the third listing
            gitlab.bridge = bridge("failed", failure_reason="insufficient_bridge_permissions")
        return original(pipeline_id, project)

    gitlab.list_bridges = later  # type: ignore[method-assign]

    result, display = run(gitlab, interval=1.0)

    assert result.verdict.outcome is Outcome.CLOSED
    assert [c for c in gitlab.calls if c[2] == OTHER] == [("pipeline", CHILD, OTHER)]  # once
    assert len(display.snapshots) >= 3
    assert result.pipeline is not None and result.pipeline.children == ()
    shown = next(j for j in result.pipeline.jobs if j.is_bridge)
    assert shown.downstream_unreadable
    lines = "\n".join(verdict_lines(result))
    assert (
        f"deploy/docs (downstream {URL}, which the token cannot read: "
        "the token's user may not run the downstream project's pipeline)"
    ) in lines


def test_the_json_document_says_which_project_and_whether_it_was_read() -> None:
    from send_mergereq.run.document import document

    failed = job(40, "build-docs", "failed", pipeline_id=CHILD, project_id=OTHER)
    read, _ = run(OtherProject(bridge("failed"), [failed]), retry_grace=0)
    unread, _ = run(OtherProject(bridge("failed"), [], readable=False), retry_grace=0)

    jobs = {j["id"]: j for j in document(exit_code=read.exit_code, watched=read)["jobs"]}
    assert (jobs[50]["downstream_project_id"], jobs[50]["downstream_readable"]) == (OTHER, True)
    assert jobs[40]["project_id"] == OTHER and "project_id" not in jobs[10]
    jobs = {j["id"]: j for j in document(exit_code=unread.exit_code, watched=unread)["jobs"]}
    assert jobs[50]["downstream_readable"] is False and 40 not in jobs
