"""``--cancel-rest``: when the gate closed before the pipeline finished (fail-fast),
cancel what is left of it, or say how to.

GitLab's ``POST /projects/:id/pipelines/:pipeline_id/cancel`` cancels every job still
alive (created, waiting, preparing, pending, running, scheduled; never a manual job),
the bridges, and the child pipelines' jobs (asynchronously). It answers 200 with the
pipeline even when nothing was left to cancel. It changes state at GitLab, so it is
sent once: when its answer is lost, the jobs are read back to say what happened, and
it is never sent again blindly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from send_mergereq.errors import ForgeError, TransientForgeError
from send_mergereq.models import Job, Pipeline, latest_attempts

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from send_mergereq.watch.types import WatchResult

# the statuses GitLab's cancel ends (Ci::HasStatus::CANCELABLE_STATUSES; "canceling" is
# already on its way)
ALIVE = frozenset(
    {
        "created",
        "waiting_for_resource",
        "preparing",
        "waiting_for_callback",
        "pending",
        "running",
        "scheduled",
    }
)
ENDED = frozenset({"canceled", "canceling"})


class CancelSource(Protocol):
    """What canceling needs of GitLab; ``gitlab/forge.py``'s ``Forge`` implements it."""

    def cancel_pipeline(self, pipeline_id: int) -> Pipeline: ...

    def list_jobs(self, pipeline_id: int) -> list[Job]: ...

    def list_bridges(self, pipeline_id: int) -> list[Job]: ...


def alive(pipeline: Pipeline) -> list[Job]:
    """The jobs of ``pipeline`` (its children's included) that a cancel would end;
    another project's (a multi-project downstream pipeline's) are not ours to cancel."""
    return [job for job in _jobs(pipeline) if job.status in ALIVE]


def _jobs(pipeline: Pipeline) -> Iterator[Job]:
    for each in _own(pipeline):
        yield from latest_attempts(each.jobs)


def _ids(pipeline: Pipeline) -> Iterator[int]:
    for each in _own(pipeline):
        yield each.id


def _own(pipeline: Pipeline) -> Iterator[Pipeline]:
    """``pipeline``'s tree without other projects' pipelines (read and cancelled only
    through this project's endpoints)."""
    return (each for each in pipeline.tree() if each.project_id is None)


@dataclass(frozen=True)
class Canceled:
    """What ``--cancel-rest`` did, as read back from GitLab."""

    pipeline: Pipeline
    asked: int  # jobs alive when the gate closed
    ended: int  # of them, canceled (or being canceled) when read back
    left: int  # still alive when read back
    lost: bool  # GitLab's answer to the cancel was lost (the state was read back)
    unread: str | None = None  # why the state could not be read back

    def line(self) -> str:
        where = f"pipeline #{self.pipeline.id}"
        if self.unread is not None:
            return (
                f"asked GitLab to cancel {where}, but could not read back what it did "
                f"({self.unread}): see {self.pipeline.web_url}"
            )
        said = f"canceled {self.ended} of the {self.asked} jobs left in {where}"
        if self.lost:
            said = f"GitLab's answer to the cancel was lost; read back: {said}"
        if self.left:
            said += (
                f"; {self.left} still running (GitLab cancels child pipelines a moment "
                f"later; not asked again): {self.pipeline.web_url}"
            )
        return said


def hint(pipeline: Pipeline, resume: str) -> str | None:
    """The hint on a closed gate with jobs still alive; None when nothing is left."""
    left = alive(pipeline)
    if not left:
        return None
    said = f"hint: {len(left)} jobs of pipeline #{pipeline.id} still run or wait; "
    if resume.startswith("send-mergereq demo"):  # nothing to resume: the sandbox is gone
        return said + "--cancel-rest cancels them as soon as the gate closes"
    return said + f"cancel them with: {resume} --cancel-rest"


def cancel_rest(source: CancelSource, pipeline: Pipeline) -> Canceled:
    """Cancel what is left of ``pipeline`` (sent once), then read its jobs back."""
    before = {job.id: job for job in alive(pipeline)}
    lost = False
    try:
        source.cancel_pipeline(pipeline.id)
    except TransientForgeError:  # sent, answer lost: GitLab may have canceled; read back
        lost = True
    try:
        after = {
            job.id: job.status
            for pid in _ids(pipeline)
            for job in [*source.list_jobs(pid), *source.list_bridges(pid)]
        }
    except ForgeError as exc:
        return Canceled(pipeline, len(before), 0, len(before), lost, unread=exc.message)
    ended = sum(1 for jid in before if after.get(jid) in ENDED)
    left = sum(1 for jid in before if after.get(jid) in ALIVE)
    return Canceled(pipeline, len(before), ended, left, lost)


def after_close(
    forge: CancelSource, watched: WatchResult, cancel: bool, resume: str, say: Callable[[str], None]
) -> None:
    """On a closed gate, cancel what is left of the pipeline (``cancel``: ``--cancel-rest``)
    or say how to; nothing for any other verdict, or when nothing is left."""
    from send_mergereq.gate import Outcome

    pipeline = watched.pipeline
    if watched.interrupted or watched.verdict.outcome is not Outcome.CLOSED or not pipeline:
        return
    if not cancel:
        said = hint(pipeline, resume)
        if said is not None:
            say(said)
        return
    if alive(pipeline):
        say(cancel_rest(forge, pipeline).line())
