"""``Forge``'s pipeline and job calls: a merge request's or a branch's pipelines, the
watch's reads (``watch.types.PipelineSource``), a job's log tail, retry, play, cancel.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import gitlab.exceptions as glexc

from send_mergereq import deadline
from send_mergereq.errors import ForgeError, TransientForgeError, UnreadableProject
from send_mergereq.gitlab import entities
from send_mergereq.gitlab.client import PER_PAGE, every_page
from send_mergereq.models import Job, Pipeline, PipelineKind, pipeline_kind

if TYPE_CHECKING:
    from gitlab import Gitlab
    from gitlab.v4.objects import Project

    from send_mergereq.gitlab.entities import ProjectInfo

# The watch's reads: python-gitlab absorbs a blip (retries after 0.1 s and 0.2 s, or
# Retry-After), then the fault reaches the watch, which shows "reconnecting" and backs off,
# instead of python-gitlab's default ten silent retries (up to ~100 s of a frozen display).
WATCH_READ: dict[str, Any] = {"max_retries": 2}
# A change (merge, job retry or play, pipeline or MR create, MR update) is sent once:
# python-gitlab re-sends on a 5xx or a dropped connection, which may come after GitLab did
# the work. A 429 is still waited out (Rack::Attack throttles before any work is done);
# a lost answer is read back, never re-sent blindly.
ONCE: dict[str, Any] = {"retry_transient_errors": False}
# A failed job's log is read to its end but only its last 256 KiB kept (the watch shows
# its last lines); the whole read may take two minutes, then the log is "unavailable".
TRACE_TAIL_BYTES = 256 * 1024
TRACE_DEADLINE = 120.0


class PipelineCalls:
    """The pipeline and job calls of one project (mixed into ``Forge``, which has the
    project, its info, ``_api`` and ``_pipeline``)."""

    gl: Gitlab
    project: Project
    info: ProjectInfo

    if TYPE_CHECKING:  # Forge's own

        def _api(self, what: str) -> Any: ...

        def _pipeline(self, attrs: Mapping[str, Any]) -> Pipeline: ...

    # -- pipelines ------------------------------------------------------------

    def mr_pipelines(self, iid: int) -> list[Pipeline]:
        """Every pipeline GitLab lists for merge request ``iid`` (all pages)."""
        mr = self.project.mergerequests.get(iid, lazy=True)
        with self._api(f"listing pipelines of !{iid}"):
            found = every_page(mr.pipelines)
        return [self._pipeline(p.attributes) for p in found]

    def branch_pipelines(self, ref: str, sha: str | None = None) -> list[Pipeline]:
        """Pipelines for ``ref`` (and ``sha``), newest first; the first page is enough."""
        filters: dict[str, Any] = {"ref": ref, "order_by": "id", "sort": "desc"}
        if sha:
            filters["sha"] = sha
        with self._api(f"listing pipelines of {ref}"):
            found = self.project.pipelines.list(get_all=False, **filters)
        pipelines = [self._pipeline(p.attributes) for p in found]
        return [p for p in pipelines if p.ref == ref and (sha is None or p.sha == sha)]

    def runs_mr_pipelines(self) -> bool:
        """Whether the project has run merge request pipelines (the first page of them):
        then a new MR's pipeline may come after its push's branch pipeline."""
        filters: dict[str, Any] = {
            "source": "merge_request_event",
            "order_by": "id",
            "sort": "desc",
        }
        with self._api("listing the project's merge request pipelines"):
            found = self.project.pipelines.list(get_all=False, **filters)
        refs = (str(p.attributes.get("ref") or "") for p in found)
        return any(pipeline_kind(ref) is not PipelineKind.BRANCH for ref in refs)

    def create_mr_pipeline(self, iid: int, *, after: int | None = None) -> Pipeline:
        """Ask GitLab to run a pipeline for merge request ``iid`` (merged results if it can).
        Sent once: when its answer is lost and ``after`` (the newest pipeline id known
        before) is given, the MR's newest pipeline after it is the one created."""
        mr = self.project.mergerequests.get(iid, lazy=True)
        try:
            with self._api(f"creating a pipeline for !{iid}"):
                created = mr.pipelines.create(**ONCE)
        except TransientForgeError:
            if after is None:
                raise
            fresh = [p for p in self.mr_pipelines(iid) if p.id > after]
            if not fresh:
                raise
            return max(fresh, key=lambda p: p.id)
        return self._pipeline(created.attributes)

    # -- PipelineSource (watch.py) -------------------------------------------

    # ``project``: another project's id, for a multi-project downstream pipeline (its jobs
    # and pipelines carry it as ``project_id``); a 403 or 404 there is ``UnreadableProject``.

    def get_pipeline(self, pipeline_id: int, project: int | None = None) -> Pipeline:
        project = self._other(project)
        what = f"reading pipeline {pipeline_id}"
        with self._api(what), self._readable(project, what):
            found = self._project_of(project).pipelines.get(pipeline_id, **WATCH_READ)
        return replace(self._pipeline(found.attributes), project_id=project)

    def list_jobs(self, pipeline_id: int, project: int | None = None) -> list[Job]:
        project = self._other(project)
        pipeline = self._project_of(project).pipelines.get(pipeline_id, lazy=True)
        what = f"listing jobs of pipeline {pipeline_id}"
        with self._api(what), self._readable(project, what):
            found = every_page(pipeline.jobs, per_page=PER_PAGE, **WATCH_READ)
        jobs = (entities.job(j.attributes, pipeline_id) for j in found)
        return [replace(job, project_id=project) for job in jobs]

    def list_bridges(self, pipeline_id: int, project: int | None = None) -> list[Job]:
        project = self._other(project)
        pipeline = self._project_of(project).pipelines.get(pipeline_id, lazy=True)
        what = f"listing bridges of pipeline {pipeline_id}"
        with self._api(what), self._readable(project, what):
            found = every_page(pipeline.bridges, per_page=PER_PAGE, **WATCH_READ)
        own = self.info.id if project is None else project
        bridges = (entities.job(b.attributes, pipeline_id, bridge=own) for b in found)
        return [replace(bridge, project_id=project) for bridge in bridges]

    def job_trace(self, job_id: int, project: int | None = None) -> str:
        """The end of the job's log (its last ``TRACE_TAIL_BYTES``): streamed, never held
        whole, whatever its size; within ``TRACE_DEADLINE`` seconds."""
        job = self._project_of(project).jobs.get(job_id, lazy=True)
        tail = TailBuffer(TRACE_TAIL_BYTES)
        with self._api(f"reading the log of job {job_id}"), deadline.bounded(TRACE_DEADLINE):
            job.trace(streamed=True, action=tail.add, chunk_size=64 * 1024)
        return tail.text()

    def retry_job(self, job_id: int) -> Job:
        """``POST …/jobs/:id/retry``, sent once. A lost answer, or GitLab's 403 "Job is not
        retryable" (GitLab retried it already: ``retry:`` in the CI config), is read back:
        the newer attempt of the job is returned."""
        job = self.project.jobs.get(job_id, lazy=True)
        try:
            with self._api(f"retrying job {job_id}"):
                attrs = job.retry(**ONCE)
        except ForgeError as exc:
            newer = self._newer_attempt(job_id)
            if newer is None:
                raise
            if not isinstance(exc, TransientForgeError) and "403" not in exc.message:
                raise
            return newer
        return entities.job(attrs, entities.pipeline_id_of(attrs))

    def play_job(self, job_id: int) -> Job:
        """Start a manual job; return it as GitLab has it afterwards."""
        job = self.project.jobs.get(job_id, lazy=True)
        try:
            with self._api(f"starting manual job {job_id}"):
                job.play(**ONCE)
        except TransientForgeError:  # the answer was lost: read the job back, never re-send
            played = self._read_job(job_id)
            if played.status == "manual":
                raise
            return played
        return self._read_job(job_id)

    def cancel_pipeline(self, pipeline_id: int) -> Pipeline:
        """``POST …/pipelines/ID/cancel`` (GitLab answers 200 with the pipeline, canceled or
        not). Sent once, never retried: a lost answer is a ``TransientForgeError`` and the
        caller reads the state back (``run/cancel.py``)."""
        pipeline = self.project.pipelines.get(pipeline_id, lazy=True)
        with self._api(f"canceling pipeline {pipeline_id}"):
            attrs = pipeline.cancel(retry_transient_errors=False)
        if not isinstance(attrs, Mapping):
            raise ForgeError(f"GitLab's answer to canceling pipeline {pipeline_id} is no pipeline")
        return self._pipeline(attrs)

    # -- read back after a lost answer or a refusal (issue 24) ------------------------

    def _read_job(self, job_id: int) -> Job:
        with self._api(f"reading job {job_id}"):
            found = self.project.jobs.get(job_id)
        return entities.job(found.attributes, entities.pipeline_id_of(found.attributes))

    def _newer_attempt(self, job_id: int) -> Job | None:
        """The attempt of job ``job_id`` GitLab made after it (its pipeline's job of the
        same name with a higher id), or None when there is none (yet)."""
        old = self._read_job(job_id)
        if not old.pipeline_id:
            return None
        newer = [
            job
            for job in self.list_jobs(old.pipeline_id)
            if job.name == old.name and job.id > job_id
        ]
        return max(newer, key=lambda job: job.id) if newer else None

    # -- another project's downstream pipelines (multi-project bridges, issue 24) ----

    def _other(self, project: int | None) -> int | None:
        """``project``, None when it is this one (a downstream pipeline leading back here)."""
        return None if project == self.info.id else project

    def _project_of(self, project: int | None) -> Project:
        """This project, or project ``project`` (never fetched: its calls say if it is
        readable)."""
        other = self._other(project)
        return self.project if other is None else self.gl.projects.get(other, lazy=True)

    @contextmanager
    def _readable(self, project: int | None, what: str) -> Iterator[None]:
        """Another project's 403, or its 404 (GitLab's ``find_project!`` answers 404
        ``Project Not Found`` to a token that may not read it): ``UnreadableProject``."""
        try:
            yield
        except glexc.GitlabError as exc:
            if project is None or exc.response_code not in (403, 404):
                raise
            raise UnreadableProject(
                f"the token cannot read project {project} ({exc.response_code} while {what})"
            ) from None


class TailBuffer:
    """The last ``limit`` bytes of a stream, kept as a few chunks (never one growing copy)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: deque[bytes] = deque()
        self.size = 0
        self.cut = False

    def add(self, chunk: bytes) -> None:
        self.chunks.append(chunk)
        self.size += len(chunk)
        while self.size - len(self.chunks[0]) >= self.limit:
            self.size -= len(self.chunks.popleft())
            self.cut = True

    def text(self) -> str:
        data = b"".join(self.chunks)
        if self.size > self.limit:
            data, self.cut = data[-self.limit :], True
        if self.cut and b"\n" in data:  # the first line is a fragment of a longer one
            data = data.partition(b"\n")[2]
        return data.decode("utf-8", errors="replace")
