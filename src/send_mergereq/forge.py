"""GitLab through python-gitlab: project, protected branches, merge request, pipelines, jobs.

The only module that imports ``gitlab`` (callers import this module lazily, so
``--dry-run`` never pays for it). Every call goes through python-gitlab's
managers with its transient-error retries (``retry_transient_errors``) and its
rate-limit handling (``obey_rate_limit``, on per request by default) switched on;
nothing here builds an HTTP request by hand. python-gitlab's exceptions become
ours: a 401 is "GitLab rejected the token", a 5xx/429/dropped connection after
its retries a ``TransientForgeError``, anything else a ``ForgeError`` carrying
GitLab's own message. No message ever holds the token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import gitlab
import gitlab.exceptions as glexc
import requests
from gitlab.v4.objects import Project, ProjectMergeRequest

from send_mergereq.credentials import Token
from send_mergereq.discovery import pipeline_kind
from send_mergereq.errors import ForgeError, TransientForgeError
from send_mergereq.models import Job, MergeRequest, Pipeline, PipelineKind
from send_mergereq.ratelimit import LAST_WAIT, tidy_rate_headers
from send_mergereq.remote import sanitize_text

PER_PAGE = 100
TIMEOUT = 30.0
# The watch's reads: python-gitlab absorbs a blip (retries after 0.1 s and 0.2 s, or
# Retry-After), then the fault reaches watch.py, which shows "reconnecting" and backs off,
# instead of python-gitlab's default ten silent retries (up to ~100 s of a frozen display).
WATCH_READ: dict[str, Any] = {"max_retries": 2}
# The first call of a run: a GitLab that cannot be reached at all is said in ~3 s
# (retries after 0.1, 0.2, 0.4, 0.8 and 1.6 s), not after ten silent retries (~100 s).
FIRST_CALL: dict[str, Any] = {"max_retries": 5}
_AUTH_HINT = (
    "the token from {source} was refused: it may be expired or revoked; "
    "create one with the api scope and export GITLAB_TOKEN"
)


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    path: str  # path_with_namespace
    web_url: str
    default_branch: str | None
    merge_pipelines_enabled: bool  # merged results pipelines (GitLab Premium)


@dataclass(frozen=True)
class MrSpec:
    """What the merge request should say; None leaves a field as it is on an update."""

    title: str
    description: str
    labels: tuple[str, ...] | None = None
    assignee_ids: tuple[int, ...] | None = None
    remove_source_branch: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        data: dict[str, Any] = {"title": self.title, "description": self.description}
        if self.labels is not None:
            data["labels"] = ",".join(self.labels)
        if self.assignee_ids is not None:
            data["assignee_ids"] = list(self.assignee_ids)
        if self.remove_source_branch is not None:
            data["remove_source_branch"] = self.remove_source_branch
        return data | dict(self.extra)


class Forge:
    """One GitLab project, as the rest of send-mergereq needs it (also the watch's source)."""

    def __init__(self, gl: gitlab.Gitlab, project: Project, token_source: str = "") -> None:
        self.gl = gl
        self.project = project
        self.token_source = token_source
        attrs = project.attributes
        self.info = ProjectInfo(
            id=int(attrs["id"]),
            path=str(attrs.get("path_with_namespace", "")),
            web_url=str(attrs.get("web_url", "")),
            default_branch=attrs.get("default_branch"),
            merge_pipelines_enabled=bool(attrs.get("merge_pipelines_enabled", False)),
        )

    @classmethod
    def connect(
        cls,
        gitlab_url: str,
        token: Token,
        project_path: str,
        *,
        timeout: float = TIMEOUT,
        session: requests.Session | None = None,
    ) -> Forge:
        """Open the project ``project_path`` on ``gitlab_url``; 401/404 become clear errors."""
        gl = client(gitlab_url, token, timeout=timeout, session=session)
        with api(f"looking up project {project_path}", token.source):
            try:
                project = gl.projects.get(project_path, **FIRST_CALL)
            except glexc.GitlabGetError as exc:
                if exc.response_code != 404:
                    raise
                raise ForgeError(
                    f"GitLab project {project_path} not found at {gitlab_url} (404)",
                    hint="check --project or the remote's URL; a token that cannot see "
                    "a private project gets 404 too",
                ) from None
        return cls(gl, project, token.source)

    # -- project and branches -------------------------------------------------

    def is_protected(self, branch: str) -> bool | None:
        """Whether ``branch`` is a protected branch; None when GitLab will not tell (403)."""
        with self._api(f"checking whether {branch} is protected"):
            try:
                self.project.protectedbranches.get(branch)
            except glexc.GitlabGetError as exc:
                if exc.response_code == 404:
                    return False
                if exc.response_code == 403:
                    return None
                raise
        return True

    def user_ids(self, usernames: Sequence[str]) -> tuple[int, ...]:
        """The ids of ``usernames`` (for assignees), or a ForgeError naming the unknown one."""
        ids = []
        for name in usernames:
            with self._api(f"looking up user {name}"):
                found = list(self.gl.users.list(username=name, get_all=True))
            match = [u for u in found if u.attributes.get("username") == name]
            if not match:
                raise ForgeError(f"no GitLab user {name!r}", hint="check the --assignee name")
            ids.append(int(match[0].attributes["id"]))
        return tuple(ids)

    # -- merge requests -------------------------------------------------------

    def find_open_mr(self, source: str, target: str) -> MergeRequest | None:
        """The open merge request from ``source`` into ``target``, if there is one."""
        raw = self._find_open_mr(source, target)
        return _merge_request(raw.attributes) if raw else None

    def _find_open_mr(self, source: str, target: str) -> ProjectMergeRequest | None:
        with self._api(f"listing merge requests from {source}"):
            found = every_page(
                self.project.mergerequests,
                source_branch=source,
                target_branch=target,
                state="opened",
            )
        mine = [
            mr
            for mr in found
            if mr.attributes.get("source_branch") == source
            and mr.attributes.get("target_branch") == target
            and mr.attributes.get("state") == "opened"
            and mr.attributes.get("source_project_id", self.info.id) == self.info.id
        ]
        return min(mine, key=lambda mr: int(mr.attributes["iid"])) if mine else None

    def open_or_update_mr(self, source: str, target: str, spec: MrSpec) -> MergeRequest:
        """Update the open MR ``source → target``, or open it; never a second one.

        GitLab answers 409 when another run opened it between our look and our
        create: then the one it has is updated.
        """
        existing = self._find_open_mr(source, target)
        if existing is None:
            created = self._create_mr(source, target, spec)
            if created is not None:
                return created
            existing = self._find_open_mr(source, target)
            if existing is None:
                raise ForgeError(
                    f"GitLab said a merge request from {source} exists (409) but lists none open"
                )
        return self._update_mr(existing, spec)

    def _create_mr(self, source: str, target: str, spec: MrSpec) -> MergeRequest | None:
        data = {"source_branch": source, "target_branch": target, **spec.fields()}
        with self._api(f"opening the merge request {source} → {target}"):
            try:
                mr = self.project.mergerequests.create(data)
            except glexc.GitlabCreateError as exc:
                if exc.response_code == 409:
                    return None
                raise
        return _merge_request(mr.attributes, created=True)

    def _update_mr(self, mr: ProjectMergeRequest, spec: MrSpec) -> MergeRequest:
        attrs = mr.attributes
        wanted = spec.fields()
        changed = {k: v for k, v in wanted.items() if not _same(attrs.get(k), v)}
        if not changed:
            return _merge_request(attrs)
        iid = int(attrs["iid"])
        with self._api(f"updating merge request !{iid}"):
            updated = self.project.mergerequests.update(iid, changed)
        return _merge_request({**attrs, **updated})

    def merge_request(self, iid: int) -> tuple[MergeRequest, Pipeline | None]:
        """The merge request as GitLab has it now, and its head pipeline (GitLab's pick)."""
        with self._api(f"reading merge request !{iid}"):
            mr = self.project.mergerequests.get(iid)
        head = mr.attributes.get("head_pipeline") or None
        return _merge_request(mr.attributes), self._pipeline(head) if head else None

    def set_auto_merge(self, iid: int, sha: str) -> None:
        """Merge when the pipeline succeeds, and only if the source head is still ``sha``."""
        mr = self.project.mergerequests.get(iid, lazy=True)
        with self._api(f"setting auto-merge on !{iid}"):
            mr.merge(merge_when_pipeline_succeeds=True, sha=sha)

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

    def create_mr_pipeline(self, iid: int) -> Pipeline:
        """Ask GitLab to run a pipeline for merge request ``iid`` (merged results if it can)."""
        mr = self.project.mergerequests.get(iid, lazy=True)
        with self._api(f"creating a pipeline for !{iid}"):
            created = mr.pipelines.create()
        return self._pipeline(created.attributes)

    # -- PipelineSource (watch.py) -------------------------------------------

    def get_pipeline(self, pipeline_id: int) -> Pipeline:
        with self._api(f"reading pipeline {pipeline_id}"):
            found = self.project.pipelines.get(pipeline_id, **WATCH_READ)
        return self._pipeline(found.attributes)

    def list_jobs(self, pipeline_id: int) -> list[Job]:
        pipeline = self.project.pipelines.get(pipeline_id, lazy=True)
        with self._api(f"listing jobs of pipeline {pipeline_id}"):
            found = every_page(pipeline.jobs, per_page=PER_PAGE, **WATCH_READ)
        return [_job(j.attributes, pipeline_id) for j in found]

    def list_bridges(self, pipeline_id: int) -> list[Job]:
        pipeline = self.project.pipelines.get(pipeline_id, lazy=True)
        with self._api(f"listing bridges of pipeline {pipeline_id}"):
            found = every_page(pipeline.bridges, per_page=PER_PAGE, **WATCH_READ)
        return [_job(b.attributes, pipeline_id, bridge=self.info.id) for b in found]

    def job_trace(self, job_id: int) -> str:
        job = self.project.jobs.get(job_id, lazy=True)
        with self._api(f"reading the log of job {job_id}"):
            data = job.trace()
        return data.decode("utf-8", errors="replace")

    def retry_job(self, job_id: int) -> Job:
        job = self.project.jobs.get(job_id, lazy=True)
        with self._api(f"retrying job {job_id}"):
            attrs = job.retry()
        return _job(attrs, _pipeline_id(attrs))

    def play_job(self, job_id: int) -> Job:
        """Start a manual job; return it as GitLab has it afterwards."""
        job = self.project.jobs.get(job_id, lazy=True)
        with self._api(f"starting manual job {job_id}"):
            job.play()
            fresh = self.project.jobs.get(job_id)
        return _job(fresh.attributes, _pipeline_id(fresh.attributes))

    # -- helpers --------------------------------------------------------------

    def _api(self, what: str) -> Any:
        return api(what, self.token_source)

    def _pipeline(self, attrs: Mapping[str, Any]) -> Pipeline:
        pid = int(attrs["id"])
        ref = str(attrs.get("ref") or "")
        return Pipeline(
            id=pid,
            status=str(attrs.get("status") or ""),
            ref=ref,
            sha=str(attrs.get("sha") or ""),
            web_url=str(attrs.get("web_url") or f"{self.info.web_url}/-/pipelines/{pid}"),
            kind=pipeline_kind(ref),
            source=str(attrs.get("source") or ""),
            created_at=attrs.get("created_at"),
            updated_at=attrs.get("updated_at"),
        )


def client(
    gitlab_url: str,
    token: Token,
    *,
    timeout: float = TIMEOUT,
    session: requests.Session | None = None,
) -> gitlab.Gitlab:
    """python-gitlab's client with retries on, 100 per page, and our base URL for pagination."""
    gl = gitlab.Gitlab(
        gitlab_url,
        private_token=token.secret.reveal(),
        retry_transient_errors=True,
        per_page=PER_PAGE,
        timeout=timeout,
        keep_base_url=True,
        session=session,
    )
    gl.session.hooks["response"].append(tidy_rate_headers)
    return gl


def every_page(manager: Any, **query: Any) -> list[Any]:
    """Every item ``manager.list(**query)`` has, all pages. python-gitlab follows
    ``Link: rel="next"``; a server that sends only ``X-Next-Page`` gets its next page
    asked for by number, instead of the list silently ending after the first page."""
    found: list[Any] = []
    page = 1
    while True:
        path = manager.path if page == 1 else f"{manager.path}?page={page}"
        batch = manager.list(iterator=True, path=path, **query)
        found.extend(batch)
        following = batch.next_page
        if not following or following <= page:
            return found
        page = following


@contextmanager
def api(what: str, token_source: str = "") -> Iterator[None]:
    """Turn python-gitlab's and requests' exceptions into ours, saying what we were doing."""
    LAST_WAIT.set(None)
    try:
        yield
    except glexc.GitlabAuthenticationError:
        raise ForgeError(
            f"GitLab rejected the token (401) while {what}",
            hint=_AUTH_HINT.format(source=token_source or "your configuration"),
        ) from None
    except glexc.GitlabError as exc:
        raise _forge_error(exc, what) from None
    except requests.RequestException as exc:
        raise TransientForgeError(
            f"cannot reach GitLab while {what}: {type(exc).__name__}",
            hint="check the network and the GitLab URL, then run again",
        ) from None


def _forge_error(exc: glexc.GitlabError, what: str) -> ForgeError:
    code = exc.response_code
    message = _one_line(sanitize_text(str(exc.error_message or ""))) or "no message"
    if code is not None and (code >= 500 or code == 429):
        return TransientForgeError(
            f"GitLab answered {code} while {what}: {message}", retry_after=LAST_WAIT.get()
        )
    if isinstance(exc, glexc.GitlabParsingError):  # a body cut short by a dropped connection
        return TransientForgeError(f"GitLab's answer was cut short or garbled while {what}")
    if code == 403:
        return ForgeError(
            f"GitLab refused (403) {what}: {message}",
            hint="the token needs the api scope and a role that allows this (Developer or more)",
        )
    prefix = f"GitLab {code}" if code is not None else "GitLab error"
    return ForgeError(f"{prefix} while {what}: {message}")


def _one_line(text: str) -> str:
    """GitLab's message on one line; a proxy's HTML error page (a 502) without its tags."""
    return " ".join(re.sub(r"<[^>]*>", " ", text).split())


def _same(current: Any, wanted: Any) -> bool:
    if isinstance(wanted, str) and isinstance(current, list):  # labels come back as a list
        return ",".join(str(c) for c in current) == wanted
    if isinstance(wanted, list) and isinstance(current, list):
        return sorted(map(str, current)) == sorted(map(str, wanted))
    if wanted == [] and current is None:
        return True
    return bool(current == wanted or (current is None and wanted == ""))


def _merge_request(attrs: Mapping[str, Any], *, created: bool = False) -> MergeRequest:
    return MergeRequest(
        iid=int(attrs["iid"]),
        web_url=str(attrs.get("web_url") or ""),
        source_branch=str(attrs.get("source_branch") or ""),
        target_branch=str(attrs.get("target_branch") or ""),
        sha=str(attrs.get("sha") or ""),
        title=str(attrs.get("title") or ""),
        state=str(attrs.get("state") or "opened"),
        created=created,
    )


def _pipeline_id(attrs: Mapping[str, Any]) -> int:
    pipeline = attrs.get("pipeline") or {}
    return int(pipeline.get("id") or 0) if isinstance(pipeline, Mapping) else 0


def _job(attrs: Mapping[str, Any], pipeline_id: int, *, bridge: int | None = None) -> Job:
    """A job; ``bridge`` is the project id for a bridge, whose downstream pipeline is
    followed only in that project (a multi-project pipeline's id means nothing here)."""
    downstream = attrs.get("downstream_pipeline") if bridge is not None else None
    if isinstance(downstream, Mapping) and downstream.get("project_id", bridge) != bridge:
        downstream = None
    status = str(attrs.get("status") or "")
    return Job(
        id=int(attrs["id"]),
        name=str(attrs.get("name") or ""),
        stage=str(attrs.get("stage") or ""),
        status=status,
        allow_failure=bool(attrs.get("allow_failure", False)),
        web_url=str(attrs.get("web_url") or ""),
        when=str(attrs.get("when") or ("manual" if status == "manual" else "on_success")),
        created_at=attrs.get("created_at"),
        started_at=attrs.get("started_at"),
        finished_at=attrs.get("finished_at"),
        duration=attrs.get("duration"),
        pipeline_id=_pipeline_id(attrs) or pipeline_id,
        retried=bool(attrs.get("retried", False)),
        is_bridge=bridge is not None,
        downstream_pipeline_id=int(downstream["id"]) if isinstance(downstream, Mapping) else None,
        failure_reason=attrs.get("failure_reason"),
    )
