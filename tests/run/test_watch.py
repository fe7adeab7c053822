"""The polling loop against a scripted fake GitLab and a fake clock: no real sleeping."""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import pytest

from gitrepo import run_git
from send_mergereq.errors import ExitCode, ForgeError, TransientForgeError
from send_mergereq.gate import Outcome
from send_mergereq.gitlab.credentials import Secret, Token
from send_mergereq.gitlab.forge import Forge, MrSpec
from send_mergereq.models import Job, Pipeline, PipelineKind
from send_mergereq.sandbox.app import Sandbox
from send_mergereq.watch.loop import fault_wait, next_interval, watch
from send_mergereq.watch.types import Snapshot, WatchOptions, WatchResult

RESUME = "send-mergereq status !7"
TOP = 100


def job(jid: int, name: str, status: str, **kw: object) -> Job:
    fields: dict[str, object] = {"stage": "test", "pipeline_id": TOP, "duration": 10.0}
    fields.update(kw)
    return Job(id=jid, name=name, status=status, web_url=f"https://gl/j/{jid}", **fields)  # type: ignore[arg-type]


@dataclass
class Frame:
    """What GitLab answers during one poll: per pipeline, its status, jobs and bridges."""

    status: dict[int, str]
    jobs: dict[int, list[Job]]
    bridges: dict[int, list[Job]] = field(default_factory=dict)


def frame(status: str, *jobs: Job, bridges: tuple[Job, ...] = ()) -> Frame:
    return Frame({TOP: status}, {TOP: list(jobs)}, {TOP: list(bridges)})


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class FakeGitLab:
    """Plays ``frames`` one per poll (the last one forever); ``faults`` by poll number."""

    def __init__(self, frames: list[Frame], faults: dict[int, Exception] | None = None) -> None:
        self.frames = frames
        self.faults = faults or {}
        self.poll = -1
        self.requests: list[tuple[str, int]] = []
        self.retried: list[int] = []
        self.traces: dict[int, str] = {}
        self.record = True

    @property
    def current(self) -> Frame:
        return self.frames[min(self.poll, len(self.frames) - 1)]

    def _count(self, what: str, pid: int, n: int = 1) -> None:
        if self.record:
            self.requests.extend([(what, pid)] * n)

    def get_pipeline(self, pipeline_id: int) -> Pipeline:
        if pipeline_id == TOP:
            self.poll += 1
            fault = self.faults.get(self.poll)
            if fault is not None:
                raise fault
        self._count("pipeline", pipeline_id)
        return Pipeline(
            id=pipeline_id,
            status=self.current.status[pipeline_id],
            ref="refs/merge-requests/7/merge",
            sha="c" * 40,
            web_url=f"https://gl/p/{pipeline_id}",
            kind=PipelineKind.MERGED_RESULT,
        )

    def list_jobs(self, pipeline_id: int) -> list[Job]:
        jobs = self.current.jobs[pipeline_id]
        self._count("jobs", pipeline_id, max(1, math.ceil(len(jobs) / 100)))
        return list(jobs)

    def list_bridges(self, pipeline_id: int) -> list[Job]:
        self._count("bridges", pipeline_id)
        return list(self.current.bridges.get(pipeline_id, []))

    def job_trace(self, job_id: int) -> str:
        self._count("trace", job_id)
        return self.traces.get(job_id, "")

    def retry_job(self, job_id: int) -> Job:
        self.retried.append(job_id)
        self._count("retry", job_id)
        old = next(j for jobs in self.current.jobs.values() for j in jobs if j.id == job_id)
        return replace(old, id=job_id + 1, status="pending", duration=None)


class Recorder:
    """A Display that remembers what it was told."""

    def __init__(self) -> None:
        self.snapshots: list[Snapshot] = []
        self.faults: list[tuple[str, float]] = []
        self.retries: list[tuple[str, int, int]] = []
        self.finished: list[WatchResult] = []
        self.closed = 0

    def update(self, snapshot: Snapshot) -> None:
        self.snapshots.append(snapshot)

    def reconnecting(self, error: TransientForgeError, retry_in: float) -> None:
        self.faults.append((error.message, retry_in))

    def retried(self, job: Job, count: int, limit: int) -> None:
        self.retries.append((job.name, count, limit))

    def finish(self, result: WatchResult) -> None:
        self.finished.append(result)

    def close(self) -> None:
        self.closed += 1


def run(
    gitlab: FakeGitLab, clock: FakeClock | None = None, **options: object
) -> tuple[WatchResult, Recorder, FakeClock]:
    clock = clock or FakeClock()
    display = Recorder()
    result = watch(
        gitlab,
        TOP,
        display,
        WatchOptions(**options),  # type: ignore[arg-type]
        resume_command=RESUME,
        clock=clock,
        sleep=clock.sleep,
    )
    assert display.finished == [result]
    return result, display, clock


def test_follows_a_pipeline_to_an_open_gate() -> None:
    gitlab = FakeGitLab(
        [
            frame("pending", job(1, "build", "pending"), job(2, "unit", "created")),
            frame("running", job(1, "build", "running"), job(2, "unit", "created")),
            frame("running", job(1, "build", "success"), job(2, "unit", "running")),
            frame("success", job(1, "build", "success"), job(2, "unit", "success")),
        ]
    )
    result, display, clock = run(gitlab)
    assert result.verdict.outcome is Outcome.OPEN
    assert result.exit_code is ExitCode.OK
    assert len(display.snapshots) == 4
    assert display.snapshots[-1].next_poll_in == 0
    assert clock.sleeps == [3.0, 3.0, 3.0]
    assert result.elapsed == 9.0
    assert not [r for r in gitlab.requests if r[0] == "trace"]


def test_interval_backs_off_while_nothing_changes_and_resets_on_change() -> None:
    same = frame("running", job(1, "build", "running"))
    moved = frame("running", job(1, "build", "success"), job(2, "unit", "running"))
    done = frame("success", job(1, "build", "success"), job(2, "unit", "success"))
    gitlab = FakeGitLab([same] * 8 + [moved, done])
    _, _, clock = run(gitlab)
    assert clock.sleeps == [3.0, 4.5, 6.75, 10.125, 15.1875, 22.78125, 30.0, 30.0, 3.0]


def test_a_pinned_interval_never_moves() -> None:
    same = frame("running", job(1, "build", "running"))
    gitlab = FakeGitLab([same] * 4 + [frame("success", job(1, "build", "success"))])
    _, _, clock = run(gitlab, interval=7.0)
    assert clock.sleeps == [7.0] * 4


def test_interval_helpers() -> None:
    options = WatchOptions()
    assert next_interval(20.0, False, options) == 30.0
    assert next_interval(20.0, True, options) == 3.0
    assert fault_wait(TransientForgeError("x"), 1, options) == 2
    assert fault_wait(TransientForgeError("x"), 9, options) == 60
    assert fault_wait(TransientForgeError("x", retry_after=17.0), 9, options) == 17.0


def test_fail_fast_closes_and_fetches_each_failed_gating_log_once() -> None:
    gitlab = FakeGitLab(
        [
            frame(
                "running", job(1, "unit", "running"), job(2, "lint", "running", allow_failure=True)
            ),
            frame(
                "running",
                job(1, "unit", "failed"),
                job(2, "lint", "failed", allow_failure=True),
                job(3, "slow", "running"),
            ),
        ]
    )
    gitlab.traces[1] = (
        "section_start:1:step_script\r\x1b[0K\x1b[31;1mboom\x1b[0m\nsection_end:1:x\r\x1b[0K\n"
    )
    result, _, _ = run(gitlab, log_lines=5)
    assert result.verdict.outcome is Outcome.CLOSED
    assert result.exit_code is ExitCode.GATE_CLOSED
    assert [j.name for j in result.verdict.failed_gating] == ["unit"]
    assert result.logs == {1: "boom"}
    assert [r for r in gitlab.requests if r[0] == "trace"] == [("trace", 1)]


def test_a_log_that_cannot_be_fetched_does_not_end_the_watch_badly() -> None:
    class NoTrace(FakeGitLab):
        def job_trace(self, job_id: int) -> str:
            raise TransientForgeError("502 Bad Gateway")

    result, _, _ = run(NoTrace([frame("failed", job(1, "unit", "failed"))]))
    assert result.exit_code is ExitCode.GATE_CLOSED
    assert result.logs == {1: "(log unavailable: 502 Bad Gateway)"}


def test_no_fail_fast_waits_and_picks_up_a_retry_by_hand() -> None:
    gitlab = FakeGitLab(
        [
            frame("running", job(1, "unit", "failed"), job(3, "slow", "running")),
            frame("running", job(1, "unit", "failed", retried=True), job(4, "unit", "running"),
                  job(3, "slow", "running")),
            frame("success", job(4, "unit", "success"), job(3, "slow", "success")),
        ]
    )  # fmt: skip
    result, display, _ = run(gitlab, fail_fast=False)
    assert [s.verdict.outcome for s in display.snapshots] == [Outcome.PENDING] * 2 + [Outcome.OPEN]
    assert result.verdict.outcome is Outcome.OPEN


def test_blocked_on_a_manual_job_exits_5() -> None:
    gitlab = FakeGitLab([frame("manual", job(1, "build", "success"), job(2, "deploy", "manual"))])
    result, _, clock = run(gitlab)
    assert result.verdict.outcome is Outcome.BLOCKED
    assert result.exit_code is ExitCode.BLOCKED
    assert clock.sleeps == []


def test_times_out_at_the_deadline_after_one_last_look() -> None:
    gitlab = FakeGitLab([frame("running", job(1, "build", "running"))])
    result, display, clock = run(gitlab, timeout=60.0)
    assert result.verdict.outcome is Outcome.TIMED_OUT
    assert result.exit_code is ExitCode.TIMED_OUT
    assert result.verdict.reason == "no verdict after 1m00s"
    assert sum(clock.sleeps) == 60.0
    assert clock.now == 60.0
    assert display.snapshots[-1].verdict.outcome is Outcome.TIMED_OUT


def test_transient_faults_are_ridden_out_with_backoff() -> None:
    running = frame("running", job(1, "build", "running"))
    done = frame("success", job(1, "build", "success"))
    faults: dict[int, Exception] = {
        1: TransientForgeError("503 Service Unavailable"),
        2: TransientForgeError("connection reset"),
        3: TransientForgeError("429 Too Many Requests", retry_after=17.0),
    }
    # frame n answers poll n; polls 1-3 fail
    gitlab = FakeGitLab([running, running, running, running, done], faults)
    result, display, clock = run(gitlab)
    assert result.verdict.outcome is Outcome.OPEN
    assert display.faults == [
        ("503 Service Unavailable", 2.0),
        ("connection reset", 4.0),
        ("429 Too Many Requests", 17.0),
    ]
    assert clock.sleeps[:4] == [3.0, 2.0, 4.0, 17.0]


def test_a_persistent_failure_ends_with_exit_6_and_the_resume_command() -> None:
    class Down(FakeGitLab):
        def get_pipeline(self, pipeline_id: int) -> Pipeline:
            self.poll += 1
            if self.poll > 0:
                raise TransientForgeError("502 Bad Gateway")
            return super().get_pipeline(pipeline_id)

    gitlab = Down([frame("running", job(1, "build", "running"))])
    clock, display = FakeClock(), Recorder()
    with pytest.raises(ForgeError) as caught:
        watch(
            gitlab,
            TOP,
            display,
            WatchOptions(),
            resume_command=RESUME,
            clock=clock,
            sleep=clock.sleep,
        )
    error = caught.value
    assert error.exit_code is ExitCode.GITLAB_OR_GIT
    assert not isinstance(error, TransientForgeError)
    assert "GitLab has not answered for" in error.message
    assert "502 Bad Gateway" in error.message
    assert error.hint is not None and error.hint.endswith(f"resume with: {RESUME}")
    assert display.closed == 1 and display.finished == []
    # gave up once 5 minutes passed without a good poll, never earlier
    assert 300 - 60 < clock.now <= 300
    assert len(display.faults) >= 5


def test_a_flaky_but_alive_gitlab_never_ends_the_watch() -> None:
    frames = [frame("running", job(1, "build", "running"))] * 200
    faults: dict[int, Exception] = {n: TransientForgeError("503") for n in range(1, 200, 2)}
    gitlab = FakeGitLab([*frames, frame("success", job(1, "build", "success"))], faults)
    result, display, clock = run(gitlab)
    assert result.verdict.outcome is Outcome.OPEN
    assert len(display.faults) == 100
    assert clock.now > 3000  # fifty minutes of every other poll failing


def test_another_forge_error_ends_the_watch_with_the_resume_command() -> None:
    gitlab = FakeGitLab(
        [frame("running")], {0: ForgeError("403 Forbidden", hint="check the token")}
    )
    clock, display = FakeClock(), Recorder()
    with pytest.raises(ForgeError) as caught:
        watch(
            gitlab,
            TOP,
            display,
            WatchOptions(),
            resume_command=RESUME,
            clock=clock,
            sleep=clock.sleep,
        )
    assert caught.value.message == "403 Forbidden"
    assert caught.value.hint == f"check the token; resume with: {RESUME}"
    assert display.closed == 1


def test_ctrl_c_ends_cleanly_with_130_and_the_resume_command() -> None:
    gitlab = FakeGitLab([frame("running", job(1, "build", "running"))])
    clock = FakeClock()

    def interrupt(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 3:
            raise KeyboardInterrupt

    display = Recorder()
    result = watch(
        gitlab, TOP, display, WatchOptions(), resume_command=RESUME, clock=clock, sleep=interrupt
    )
    assert result.interrupted
    assert result.exit_code is ExitCode.INTERRUPTED
    assert result.resume_command == RESUME
    assert display.finished == [result]
    assert result.pipeline is not None and result.pipeline.status == "running"


def test_retry_failed_retries_then_opens_and_says_so() -> None:
    gitlab = FakeGitLab(
        [
            frame("running", job(10, "unit", "running")),
            frame("failed", job(10, "unit", "failed")),
            frame("running", job(10, "unit", "failed", retried=True), job(11, "unit", "running")),
            frame("success", job(11, "unit", "success")),
        ]
    )
    result, display, _ = run(gitlab, retry_failed=2)
    assert gitlab.retried == [10]
    assert display.retries == [("unit", 1, 2)]
    assert result.verdict.outcome is Outcome.OPEN
    assert result.verdict.retries == {(TOP, "unit"): 1}
    assert display.snapshots[1].verdict.outcome is Outcome.PENDING  # retried, not closed


def test_retry_failed_gives_up_after_n_retries() -> None:
    gitlab = FakeGitLab(
        [
            frame("failed", job(10, "unit", "failed")),
            frame("failed", job(11, "unit", "failed")),
            frame("failed", job(12, "unit", "failed")),
        ]
    )
    result, display, _ = run(gitlab, retry_failed=2)
    assert gitlab.retried == [10, 11]
    assert [r[1] for r in display.retries] == [1, 2]
    assert result.verdict.outcome is Outcome.CLOSED
    assert result.verdict.retries == {(TOP, "unit"): 2}
    assert list(result.logs) == [12]


def test_a_retried_job_the_listing_does_not_show_yet_is_not_retried_twice() -> None:
    gitlab = FakeGitLab(
        [
            frame("failed", job(10, "unit", "failed")),
            frame("failed", job(10, "unit", "failed")),  # GitLab lags behind the retry
            frame("success", job(11, "unit", "success")),
        ]
    )
    result, _, _ = run(gitlab, retry_failed=3)
    assert gitlab.retried == [10]
    assert result.verdict.outcome is Outcome.OPEN


def _jobs(n: int, status: str, pid: int = TOP, first: int = 1) -> list[Job]:
    return [job(first + i, f"job-{i}", status, pipeline_id=pid) for i in range(n)]


def _polls(requests: list[tuple[str, int]]) -> list[list[tuple[str, int]]]:
    polls: list[list[tuple[str, int]]] = []
    for request in requests:
        if request == ("pipeline", TOP):
            polls.append([])
        polls[-1].append(request)
    return polls


def test_requests_per_poll_stay_within_1_plus_pages_plus_bridges() -> None:
    running = Frame({TOP: "running"}, {TOP: _jobs(250, "running")})
    done = Frame({TOP: "success"}, {TOP: _jobs(250, "success")})
    gitlab = FakeGitLab([running] * 5 + [done])
    run(gitlab)
    sizes = [len(p) for p in _polls(gitlab.requests)]
    # first poll: pipeline + 3 pages + bridges; then pipeline + 3 pages; bridges again
    # only when the pipeline's status changed (running -> success)
    assert sizes == [5, 4, 4, 4, 4, 5]


def test_a_child_pipeline_is_followed_until_it_finishes_then_costs_nothing() -> None:
    child = 200
    bridge = job(50, "trigger-tests", "running", is_bridge=True, downstream_pipeline_id=child)
    bridge_done = replace(bridge, status="success")

    def step(top: str, b: Job, child_status: str, jobs_status: str, build: str) -> Frame:
        return Frame(
            {TOP: top, child: child_status},
            {TOP: [job(1, "build", build)], child: _jobs(3, jobs_status, child, 300)},
            {TOP: [b], child: []},
        )

    gitlab = FakeGitLab(
        [
            step("running", bridge, "running", "running", "running"),
            step("running", bridge_done, "success", "success", "running"),
            step("running", bridge_done, "success", "success", "running"),
            step("success", bridge_done, "success", "success", "success"),
        ]
    )
    result, display, _ = run(gitlab)
    assert result.verdict.outcome is Outcome.OPEN
    polls = _polls(gitlab.requests)
    child_requests = [[r for r in p if r[1] == child] for p in polls]
    assert child_requests[0] == [("pipeline", child), ("bridges", child), ("jobs", child)]
    # re-listed: its bridge was unfinished at the last look; bridges again: its status changed
    assert child_requests[1] == [("pipeline", child), ("bridges", child), ("jobs", child)]
    assert child_requests[2] == [] and child_requests[3] == []
    snapshot = display.snapshots[-1]
    assert [c.id for c in snapshot.pipeline.children] == [child]
    assert len(snapshot.pipeline.children[0].jobs) == 3


def test_a_failing_job_in_a_child_closes_the_gate_fast_with_its_log() -> None:
    child = 200
    bridge = job(50, "trigger-tests", "running", is_bridge=True, downstream_pipeline_id=child)
    gitlab = FakeGitLab(
        [
            Frame(
                {TOP: "running", child: "running"},
                {TOP: [], child: [job(301, "deep", "failed", pipeline_id=child)]},
                {TOP: [bridge]},
            )
        ]
    )
    gitlab.traces[301] = "line 1\nline 2\n"
    result, _, _ = run(gitlab)
    assert result.verdict.outcome is Outcome.CLOSED
    assert result.logs == {301: "line 1\nline 2"}


def test_memory_stays_flat_over_many_polls() -> None:
    """Nineteen hundred polls of a 120-job pipeline whose attempts and durations keep moving."""

    class Endless(FakeGitLab):
        samples: list[int]

        def list_jobs(self, pipeline_id: int) -> list[Job]:
            n = self.poll
            if n in (300, 1800):
                self.samples.append(tracemalloc.get_traced_memory()[0])
            status = "running" if n % 7 else "pending"
            return [job(i + n * 1000, f"job-{i}", status, duration=float(n)) for i in range(120)]

    class Forgetful(Recorder):
        def update(self, snapshot: Snapshot) -> None:
            self.snapshots[:] = [snapshot]

    class Clock(FakeClock):
        def sleep(self, seconds: float) -> None:
            self.now += seconds

    gitlab = Endless([frame("running")])
    gitlab.record = False
    gitlab.samples = []
    clock, display = Clock(), Forgetful()
    options = WatchOptions(interval=1.0, timeout=1900.0)
    tracemalloc.start()
    try:
        result = watch(
            gitlab, TOP, display, options, resume_command=RESUME, clock=clock, sleep=clock.sleep
        )
    finally:
        tracemalloc.stop()
    assert result.verdict.outcome is Outcome.TIMED_OUT
    early, late = gitlab.samples
    assert late - early < 32 * 1024, f"grew {late - early} bytes over 1500 polls"


# --- end to end: the real Forge over HTTP against the sandbox, on its virtual clock ----------


SandboxMaker = Callable[[str], tuple[Sandbox, Forge, int]]


@pytest.fixture
def sandbox_pipeline(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxMaker]:
    """Start a sandbox, give it a project on ``scenario``, open an MR: its pipeline's id."""
    monkeypatch.setattr("gitlab.utils.time.sleep", lambda _s: None)  # python-gitlab's backoff
    started: list[Sandbox] = []

    def make(scenario: str) -> tuple[Sandbox, Forge, int]:
        sandbox = Sandbox(time_scale=0).start()
        started.append(sandbox)
        info = sandbox.create_project("qemu/qemu", scenario=scenario, initialize_with_readme=True)
        tree = run_git(info.repo_path, "rev-parse", "master^{tree}").strip()
        sha = run_git(info.repo_path, "commit-tree", tree, "-p", "master", "-m", "staging").strip()
        run_git(info.repo_path, "update-ref", "refs/heads/staging", sha)
        forge = Forge.connect(sandbox.url, Token(Secret(sandbox.token), "test"), "qemu/qemu")
        mr = forge.open_or_update_mr("staging", "master", MrSpec("staging", ""))
        pipelines = forge.mr_pipelines(mr.iid) or [forge.create_mr_pipeline(mr.iid)]
        sandbox.clear_request_log()
        return sandbox, forge, pipelines[0].id

    yield make
    for sandbox in started:
        sandbox.stop()


def watch_sandbox(
    sandbox: Sandbox, forge: Forge, pipeline_id: int, **options: object
) -> tuple[WatchResult, Recorder]:
    display = Recorder()
    settings = {"min_interval": 20.0, "max_interval": 120.0, **options}
    result = watch(
        forge,
        pipeline_id,
        display,
        WatchOptions(**settings),  # type: ignore[arg-type]
        resume_command=RESUME,
        clock=sandbox.now,
        sleep=sandbox.advance,
    )
    return result, display


def _api_polls(sandbox: Sandbox, pipeline_id: int) -> list[list[str]]:
    """The API requests, cut into polls at each GET of the watched pipeline itself."""
    polls: list[list[str]] = []
    for record in sandbox.request_log:
        path = record.path.split("?")[0]
        if record.method == "GET" and path.endswith(f"/pipelines/{pipeline_id}"):
            polls.append([])
        if polls:
            polls[-1].append(f"{record.method} {record.path}")
    return polls


@pytest.mark.e2e
def test_sandbox_250_jobs_cost_1_plus_3_pages_per_poll(sandbox_pipeline: SandboxMaker) -> None:
    sandbox, forge, pid = sandbox_pipeline("many")
    result, _ = watch_sandbox(sandbox, forge, pid)
    assert result.verdict.outcome is Outcome.OPEN
    assert result.pipeline is not None and len(result.pipeline.jobs) == 251
    polls = _api_polls(sandbox, pid)
    assert len(polls) >= 5
    for poll in polls:
        pages = [r for r in poll if "/jobs" in r]
        assert len(pages) == 3 and all("per_page=100" in r for r in pages)
        assert len(poll) <= 1 + 3 + 1  # + bridges, only when the pipeline's status moved
    assert not any("/trace" in r for poll in polls for r in poll)


@pytest.mark.e2e
def test_sandbox_child_failure_closes_with_its_log(sandbox_pipeline: SandboxMaker) -> None:
    sandbox, forge, pid = sandbox_pipeline("child")
    result, _ = watch_sandbox(sandbox, forge, pid)
    assert result.verdict.outcome is Outcome.CLOSED
    failed = [j for j in result.verdict.failed_gating if not j.is_bridge]
    assert [j.name for j in failed] == ["cross-mips64el-system"]
    assert "make: *** [Makefile:162: run-ninja] Error 1" in result.logs[failed[0].id]
    assert result.pipeline is not None and len(result.pipeline.children) == 1
    traces = [r for poll in _api_polls(sandbox, pid) for r in poll if "/trace" in r]
    assert len(traces) == 1


@pytest.mark.e2e
def test_sandbox_flaky_job_is_retried_and_the_gate_opens(sandbox_pipeline: SandboxMaker) -> None:
    sandbox, forge, pid = sandbox_pipeline("flaky")
    result, display = watch_sandbox(sandbox, forge, pid, retry_failed=1)
    assert result.verdict.outcome is Outcome.OPEN
    assert display.retries == [("check-unit", 1, 1)]
    assert result.verdict.retries == {(pid, "check-unit"): 1}


@pytest.mark.e2e
def test_sandbox_blocked_on_manual(sandbox_pipeline: SandboxMaker) -> None:
    sandbox, forge, pid = sandbox_pipeline("manual")
    result, _ = watch_sandbox(sandbox, forge, pid)
    assert result.verdict.outcome is Outcome.BLOCKED
    assert [j.name for j in result.verdict.blocking_manual] == ["publish-docs"]


@pytest.mark.e2e
def test_sandbox_faults_are_ridden_out(sandbox_pipeline: SandboxMaker) -> None:
    sandbox, forge, pid = sandbox_pipeline("faults")
    result, _ = watch_sandbox(sandbox, forge, pid)
    assert result.verdict.outcome is Outcome.OPEN
    assert any(r.fault for r in sandbox.request_log)


# -- GitLab's own retries (retry:) and blocked children (issue 24) -------------------------


def test_a_failed_attempt_gitlab_retries_by_itself_does_not_close_the_gate() -> None:
    """Ci::Build retries a ``retry:`` job right after saving its failure: the watch waits
    ``retry_grace`` once, sees the next attempt, says so, and the gate opens."""
    gitlab = FakeGitLab(
        [
            frame("running", job(1, "unit", "running"), job(2, "slow", "running")),
            frame("running", job(1, "unit", "failed"), job(2, "slow", "running")),
            frame("running", job(3, "unit", "pending"), job(2, "slow", "running")),
            frame("success", job(3, "unit", "success"), job(2, "slow", "success")),
        ]
    )
    result, display, clock = run(gitlab, interval=1.0, retry_grace=5.0)
    assert result.verdict.outcome is Outcome.OPEN
    assert display.retries == [("unit", 2, 0)]
    assert 5.0 in clock.sleeps
    assert [s.verdict.outcome for s in display.snapshots].count(Outcome.CLOSED) == 0


def test_a_failed_attempt_still_failed_after_the_grace_closes_the_gate() -> None:
    gitlab = FakeGitLab(
        [
            frame("running", job(1, "unit", "failed"), job(2, "slow", "running")),
        ]
    )
    result, display, clock = run(gitlab, interval=1.0, retry_grace=5.0)
    assert result.verdict.outcome is Outcome.CLOSED
    assert clock.sleeps == [5.0]
    assert display.retries == []


def test_no_grace_once_gitlab_says_the_pipeline_failed() -> None:
    gitlab = FakeGitLab([frame("failed", job(1, "unit", "failed"))])
    result, _, clock = run(gitlab, interval=1.0, retry_grace=5.0)
    assert result.verdict.outcome is Outcome.CLOSED and clock.sleeps == []
