"""Every GitLab REST call send-mergereq makes, as methods of one ``Forge`` (one project).

python-gitlab is imported only inside ``send_mergereq.gitlab`` (callers reach it
through ``gitlab.session``, lazily, so ``--dry-run`` never pays for it). Every call
goes through python-gitlab's managers with its transient-error retries and
rate-limit handling on; nothing here builds an HTTP request by hand. Errors pass
through ``client.api``: one line naming what we were doing, never the token.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import gitlab
import gitlab.exceptions as glexc
import requests
from gitlab.v4.objects import Project, ProjectMergeRequest

from send_mergereq import deadline
from send_mergereq.errors import ConfigError, ForgeError, TransientForgeError, sanitize_text
from send_mergereq.gitlab import entities
from send_mergereq.gitlab.client import PER_PAGE, TIMEOUT, api, client, every_page
from send_mergereq.gitlab.credentials import Token
from send_mergereq.gitlab.entities import MergeAttempt, MrSpec, ProjectInfo, TrainCar
from send_mergereq.gitlab.refusals import refusal_reason
from send_mergereq.models import Job, MergeRequest, Pipeline, PipelineKind, pipeline_kind

# The watch's reads: python-gitlab absorbs a blip (retries after 0.1 s and 0.2 s, or
# Retry-After), then the fault reaches the watch, which shows "reconnecting" and backs off,
# instead of python-gitlab's default ten silent retries (up to ~100 s of a frozen display).
WATCH_READ: dict[str, Any] = {"max_retries": 2}
ANCESTRY_WALK = 200  # commits read one by one when /repository/merge_base fails
# The first call of a run: a GitLab that cannot be reached at all is said in ~3 s
# (retries after 0.1, 0.2, 0.4, 0.8 and 1.6 s), not after ten silent retries (~100 s).
FIRST_CALL: dict[str, Any] = {"max_retries": 5}
_REFUSALS = (400, 405, 406, 409, 422)
# A change (merge, job retry or play, pipeline or MR create, MR update) is sent once:
# python-gitlab re-sends on a 5xx or a dropped connection, which may come after GitLab did
# the work. A 429 is still waited out (Rack::Attack throttles before any work is done);
# a lost answer is read back (``Forge._lost_*``), never re-sent blindly.
ONCE: dict[str, Any] = {"retry_transient_errors": False}
AUTO_MERGE_SINCE = (17, 11)  # the merge API's auto_merge parameter
# A failed job's log is read to its end but only its last 256 KiB kept (the watch shows
# its last lines); the whole read may take two minutes, then the log is "unavailable".
TRACE_TAIL_BYTES = 256 * 1024
TRACE_DEADLINE = 120.0
__all__ = ["Forge", "MergeRefused", "MrSpec", "ProjectInfo"]


class MergeRefused(Exception):
    """GitLab refused to add the MR to the merge train; ``reason`` is one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Forge:
    """One GitLab project, as the rest of send-mergereq needs it (also the watch's source)."""

    def __init__(self, gl: gitlab.Gitlab, project: Project, token_source: str = "") -> None:
        self.gl = gl
        self.project = project
        self.token_source = token_source
        attrs = project.attributes
        self.info = ProjectInfo(
            id=entities.number(attrs, "id", "project"),
            path=str(attrs.get("path_with_namespace", "")),
            web_url=str(attrs.get("web_url", "")),
            default_branch=attrs.get("default_branch"),
            merge_pipelines_enabled=bool(attrs.get("merge_pipelines_enabled", False)),
            merge_trains_enabled=bool(attrs.get("merge_trains_enabled", False)),
            merge_trains_skip_train_allowed=bool(
                attrs.get("merge_trains_skip_train_allowed", False)
            ),
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
        notify: Callable[[str], None] | None = None,
    ) -> Forge:
        """Open the project ``project_path`` on ``gitlab_url``; 401/404 become clear errors.
        ``notify`` hears every wait longer than two seconds (rate limits, 5xx)."""
        more = {"notify": notify} if notify is not None else {}
        gl = client(gitlab_url, token, timeout=timeout, session=session, **more)
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

    def user_id(self, username: str) -> int | None:
        """The id of the user ``username``, None when GitLab has none. GitLab's
        ``GET /users?username=`` matches the whole name, case-insensitively."""
        with self._api(f"looking up user {username}"):
            found = every_page(self.gl.users, username=username)
        wanted = username.casefold()
        match = [u for u in found if str(u.attributes.get("username", "")).casefold() == wanted]
        return entities.number(match[0].attributes, "id", "user") if match else None

    def usernames_like(self, username: str) -> tuple[list[str], list[str]]:
        """Usernames that may be the one meant by ``username``: those GitLab's user search
        finds for it (a word of three characters or more matches anywhere in a name or
        username), and those near it: the search for its first three characters and the
        project's members (a page of each)."""

        def names(found: Any) -> list[str]:
            return [str(u.attributes.get("username") or "") for u in found]

        one_page: dict[str, Any] = {"get_all": False, "per_page": PER_PAGE}
        with self._api(f"looking for users like {username}"):
            found = names(self.gl.users.list(search=username, **one_page))
            near = names(self.gl.users.list(search=username[:3], **one_page))
            near += names(self.project.members_all.list(**one_page))
        return [n for n in found if n], [n for n in dict.fromkeys(near) if n]

    # -- merge requests -------------------------------------------------------

    def find_open_mr(self, source: str, target: str) -> MergeRequest | None:
        """The open merge request from ``source`` into ``target``, if there is one."""
        raw = self._find_open_mr(source, target)
        return entities.merge_request(raw.attributes) if raw else None

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
        return (
            min(mine, key=lambda mr: entities.number(mr.attributes, "iid", "merge request"))
            if mine
            else None
        )

    def last_merged_mr(self, source: str, target: str) -> MergeRequest | None:
        """The merge request from ``source`` into ``target`` merged last, if any: the first
        page of the merged ones, most recently updated first (``order_by=merged_at`` is
        GitLab 17.0+; ``updated_at`` is understood by every version), the latest
        ``merged_at`` among them."""
        with self._api(f"listing merged merge requests from {source}"):
            found = self.project.mergerequests.list(
                get_all=False, per_page=PER_PAGE, source_branch=source, target_branch=target,
                state="merged", order_by="updated_at", sort="desc",
            )  # fmt: skip
        mine = [
            entities.merge_request(mr.attributes)
            for mr in found
            if mr.attributes.get("source_branch") == source
            and mr.attributes.get("target_branch") == target
            and mr.attributes.get("state") == "merged"
            and mr.attributes.get("source_project_id", self.info.id) == self.info.id
        ]
        return max(mine, key=lambda mr: (mr.merged_at or "", mr.iid)) if mine else None

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
        try:
            with self._api(f"opening the merge request {source} → {target}"):
                try:
                    mr = self.project.mergerequests.create(data, **ONCE)
                except glexc.GitlabCreateError as exc:
                    if exc.response_code == 409:
                        return None
                    raise
        except TransientForgeError:  # the answer was lost: the MR may exist; look, never re-send
            found = self._find_open_mr(source, target)
            if found is None:
                raise
            return entities.merge_request(found.attributes, created=True)
        return entities.merge_request(mr.attributes, created=True)

    def _update_mr(self, mr: ProjectMergeRequest, spec: MrSpec) -> MergeRequest:
        attrs = mr.attributes
        wanted = spec.fields()
        changed = {k: v for k, v in wanted.items() if not entities.same_value(attrs.get(k), v)}
        if not changed:
            return entities.merge_request(attrs)
        iid = entities.number(attrs, "iid", "merge request")
        try:
            with self._api(f"updating merge request !{iid}"):
                updated = self.project.mergerequests.update(iid, changed, **ONCE)
        except TransientForgeError:  # the answer was lost: read it back, never re-send
            now = self._reread(iid)
            if any(not entities.same_value(now.get(k), v) for k, v in changed.items()):
                raise
            return entities.merge_request(now)
        return entities.merge_request({**attrs, **updated})

    def merge_request(self, iid: int) -> tuple[MergeRequest, Pipeline | None]:
        """The merge request as GitLab has it now, and its head pipeline (GitLab's pick)."""
        with self._api(f"reading merge request !{iid}"):
            try:
                mr = self.project.mergerequests.get(iid)
            except glexc.GitlabGetError as exc:
                if exc.response_code != 404:
                    raise
                raise ConfigError(
                    f"no merge request !{iid} in {self.info.path}",
                    hint=f"list them at {self.info.web_url}/-/merge_requests",
                ) from None
        head = mr.attributes.get("head_pipeline") or None
        return entities.merge_request(mr.attributes), self._pipeline(head) if head else None

    def set_auto_merge(self, iid: int, sha: str) -> None:
        """Merge when the pipeline succeeds, and only if the source head is still ``sha``:
        ``auto_merge`` on GitLab 17.11+ (lib/api/merge_requests.rb: ``merge_when_pipeline_
        succeeds`` is "Deprecated: Use auto_merge instead"), the old name before, or when
        the version cannot be read."""
        mr = self.project.mergerequests.get(iid, lazy=True)
        with self._api(f"setting auto-merge on !{iid}"):
            if self.server_version() >= AUTO_MERGE_SINCE:
                path = f"{mr.manager.path}/{mr.encoded_id}/merge"
                self.gl.http_put(path, post_data={"auto_merge": True}, sha=sha)
            else:
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

    def get_pipeline(self, pipeline_id: int) -> Pipeline:
        with self._api(f"reading pipeline {pipeline_id}"):
            found = self.project.pipelines.get(pipeline_id, **WATCH_READ)
        return self._pipeline(found.attributes)

    def list_jobs(self, pipeline_id: int) -> list[Job]:
        pipeline = self.project.pipelines.get(pipeline_id, lazy=True)
        with self._api(f"listing jobs of pipeline {pipeline_id}"):
            found = every_page(pipeline.jobs, per_page=PER_PAGE, **WATCH_READ)
        return [entities.job(j.attributes, pipeline_id) for j in found]

    def list_bridges(self, pipeline_id: int) -> list[Job]:
        pipeline = self.project.pipelines.get(pipeline_id, lazy=True)
        with self._api(f"listing bridges of pipeline {pipeline_id}"):
            found = every_page(pipeline.bridges, per_page=PER_PAGE, **WATCH_READ)
        return [entities.job(b.attributes, pipeline_id, bridge=self.info.id) for b in found]

    def job_trace(self, job_id: int) -> str:
        """The end of the job's log (its last ``TRACE_TAIL_BYTES``): streamed, never held
        whole, whatever its size; within ``TRACE_DEADLINE`` seconds."""
        job = self.project.jobs.get(job_id, lazy=True)
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

    # -- landing --------------------------------------------------------------

    def commit_parents(self, sha: str) -> tuple[str, ...]:
        """The parent ids of commit ``sha``, in order (first parent first)."""
        with self._api(f"reading commit {sha[:12]}"):
            commit = self.project.commits.get(sha, **WATCH_READ)
        return tuple(str(p) for p in commit.attributes.get("parent_ids") or ())

    def branch_head(self, branch: str) -> str | None:
        """The commit ``branch`` points at on GitLab now; None when there is no such branch."""
        with self._api(f"reading branch {branch}"):
            try:
                found = self.project.branches.get(branch, **WATCH_READ)
            except glexc.GitlabGetError as exc:
                if exc.response_code == 404:
                    return None
                raise
        commit = found.attributes.get("commit") or {}
        return str(commit["id"]) if isinstance(commit, Mapping) and commit.get("id") else None

    def contains(self, head: str, ancestor: str) -> bool:
        """Whether ``ancestor`` is ``head`` or one of its ancestors (GitLab's merge base).

        Only GitLab's own "404 Merge Base Not Found" (no common ancestor) means "no" at
        once. Any other failure of ``/repository/merge_base`` (a 400 for an unknown ref, a
        404 from an instance or proxy that does not serve it) is "unknown", never "no": the
        answer is then read from the commits' ``parent_ids``, and when that cannot tell
        either, a ForgeError says so (a failed request never makes a result stale)."""
        if head == ancestor:
            return True
        with self._api(f"finding the merge base of {head[:12]} and {ancestor[:12]}"):
            try:
                base = self.project.repository_merge_base([head, ancestor], **WATCH_READ)
            except glexc.GitlabGetError as exc:
                if exc.response_code == 404 and "merge base" in str(exc.error_message).lower():
                    return False  # GitLab's not_found!("Merge Base"): unrelated histories
                if exc.response_code not in (400, 404):
                    raise
                base = None
        if isinstance(base, Mapping) and base.get("id"):
            return base.get("id") == ancestor
        return self._contains_by_parents(head, ancestor)

    def _contains_by_parents(self, head: str, ancestor: str) -> bool:
        """The fallback of :meth:`contains`: walk ``head``'s history through the commits'
        ``parent_ids``, at most ``ANCESTRY_WALK`` commits."""
        seen, todo = {head}, [head]
        while todo:
            if len(seen) > ANCESTRY_WALK:
                raise ForgeError(
                    f"could not tell whether {head[:12]} contains {ancestor[:12]}: GitLab's "
                    f"merge base failed and {ANCESTRY_WALK} commits of its history do not tell",
                    hint="retry later, or land from a GitLab that serves /repository/merge_base",
                )
            for parent in self.commit_parents(todo.pop(0)):
                if parent == ancestor:
                    return True
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return False

    def merge_mr(self, iid: int, sha: str) -> MergeAttempt:
        """``PUT …/merge_requests/IID/merge`` with ``sha`` as the guard; never removes the source.

        GitLab answers 409 when the source head is no longer ``sha``, 405 when the MR
        cannot be merged (the reason is then read from its ``detailed_merge_status``),
        422 when the merge itself failed, 401 when this account may not merge.
        """
        mr = self.project.mergerequests.get(iid, lazy=True)
        try:
            with self._api(f"merging !{iid}"):
                try:
                    attrs: Mapping[str, Any] = mr.merge(
                        sha=sha, should_remove_source_branch=False, **ONCE
                    )
                except glexc.GitlabAuthenticationError:
                    why = "this account may not merge into the target (401); it needs a role"
                    return MergeAttempt(
                        False, reason=f"GitLab refused to merge !{iid}: {why} allowed to merge"
                    )
                except glexc.GitlabMRClosedError as exc:
                    if exc.response_code not in _REFUSALS:
                        raise
                    return self._refused(iid, exc)
        except TransientForgeError as lost:
            return self._merge_lost(iid, sha, lost)
        if attrs.get("state") != "merged":
            attrs = self._reread(iid)
        if attrs.get("state") != "merged":
            return MergeAttempt(False, reason=_not_merged(iid, None, "", attrs))
        return MergeAttempt(
            True,
            merge_commit_sha=_sha(attrs.get("merge_commit_sha")),
            squash_commit_sha=_sha(attrs.get("squash_commit_sha")),
        )

    def _merge_lost(self, iid: int, sha: str, lost: TransientForgeError) -> MergeAttempt:
        """``PUT …/merge``'s answer was lost (a 5xx, a dropped connection): GitLab's merge
        runs within the request, so the MR read back says what happened. Merged at ``sha``
        is landed; merged at another head is not ours; still open: nothing landed (the merge
        is not sent again: running the command again decides anew)."""
        attrs = self._reread(iid)
        if attrs.get("state") == "merged" and attrs.get("sha") == sha:
            return MergeAttempt(
                True,
                merge_commit_sha=_sha(attrs.get("merge_commit_sha")),
                squash_commit_sha=_sha(attrs.get("squash_commit_sha")),
                answer_lost=True,
            )
        if attrs.get("state") == "merged":
            head = str(attrs.get("sha") or "")[:12]
            return MergeAttempt(
                False,
                reason=f"!{iid} was merged at {head or 'another head'}, not at the tested "
                f"{sha[:12]} (GitLab's answer to our merge was lost: {lost.message})",
            )
        raise TransientForgeError(
            f"{lost.message}; !{iid} read back is {attrs.get('state') or 'unknown'}, "
            "not merged: nothing landed",
            hint="the merge is never sent twice blindly; run the command again to land",
        ) from None

    def _refused(self, iid: int, exc: glexc.GitlabError) -> MergeAttempt:
        message = sanitize_text(str(exc.error_message or "")).strip()
        attrs: Mapping[str, Any] = {}
        if exc.response_code in (405, 406, 422):
            attrs = self._reread(iid)
        return MergeAttempt(False, reason=_not_merged(iid, exc.response_code, message, attrs))

    def _reread(self, iid: int) -> Mapping[str, Any]:
        with self._api(f"reading merge request !{iid}"):
            return dict(self.project.mergerequests.get(iid).attributes)

    # -- bisect (issue 22): prefixes of a branch, their pipelines -----------------

    def sha_pipelines(self, sha: str) -> list[Pipeline]:
        """Pipelines that tested commit ``sha``, on any ref, newest first (the first page):
        a prefix of staging that already has one is not run again."""
        filters: dict[str, Any] = {"sha": sha, "order_by": "id", "sort": "desc"}
        with self._api(f"listing the pipelines of {sha[:12]}"):
            found = self.project.pipelines.list(get_all=False, **filters)
        pipelines = [self._pipeline(p.attributes) for p in found]
        return [p for p in pipelines if p.sha == sha]

    def create_pipeline(self, ref: str) -> Pipeline:
        """``POST /projects/:id/pipeline?ref=REF``: a pipeline for branch ``ref``, for a
        project whose pushes start none."""
        with self._api(f"creating a pipeline for {ref}"):
            created = self.project.pipelines.create({"ref": ref})
        return self._pipeline(created.attributes)

    # -- helpers --------------------------------------------------------------

    def _api(self, what: str) -> Any:
        return api(what, self.token_source)

    def _pipeline(self, attrs: Mapping[str, Any]) -> Pipeline:
        return entities.pipeline(attrs, self.info.web_url)

    # -- read back after a lost answer or a refusal (issue 24) ------------------------

    def server_version(self) -> tuple[int, int]:
        """GitLab's (major, minor) from ``GET /version`` (asked once); (0, 0) when it does
        not say (python-gitlab answers "unknown")."""
        version, _ = self.gl.version()
        return entities.version_pair(version)

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

    # -- merge trains (issue 24; ee/lib/api/merge_trains.rb) ----------------------------

    def _train_path(self, iid: int) -> str:
        return f"/projects/{self.info.id}/merge_trains/merge_requests/{iid}"

    def add_to_merge_train(self, iid: int, sha: str) -> TrainCar | None:
        """``POST /projects/:id/merge_trains/merge_requests/:iid`` with the tested ``sha``
        (GitLab refuses with 409 if the source moved): the MR joins the train now (its
        pipeline passed). Sent once; a lost answer is read back (the car, if it exists).
        Returns the car, or raises ``MergeRefused`` with GitLab's reason."""
        try:
            with self._api(f"adding !{iid} to the merge train"):
                try:
                    train = self.gl.http_post(self._train_path(iid), post_data={"sha": sha}, **ONCE)
                except glexc.GitlabHttpError as exc:
                    if exc.response_code not in (*_REFUSALS, 403):
                        raise
                    message = sanitize_text(str(exc.error_message or "")).strip()
                    raise MergeRefused(
                        refusal_reason(exc.response_code, message, iid=iid)
                    ) from None
        except TransientForgeError:
            found = self.merge_train_car(iid)
            if found is None:
                raise
            return found
        mine = [
            car
            for car in (train if isinstance(train, list) else [])
            if isinstance(car, Mapping)
            and isinstance(car.get("merge_request"), Mapping)
            and car["merge_request"].get("iid") == iid
        ]
        return entities.train_car(mine[-1]) if mine else self.merge_train_car(iid)

    def merge_train_car(self, iid: int) -> TrainCar | None:
        """The MR's car on the merge train, None when it has none (GitLab's 404: never
        added, or dropped)."""
        with self._api(f"reading the merge train car of !{iid}"):
            try:
                attrs = self.gl.http_get(self._train_path(iid), **WATCH_READ)
            except glexc.GitlabHttpError as exc:
                if exc.response_code == 404:
                    return None
                raise
        return entities.train_car(attrs) if isinstance(attrs, Mapping) else None

    def train_pipeline(self, car: TrainCar) -> Pipeline | None:
        return self._pipeline(car.pipeline) if car.pipeline else None


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


def _not_merged(iid: int, status: int | None, message: str, attrs: Mapping[str, Any]) -> str:
    error = attrs.get("merge_error")
    return refusal_reason(
        status,
        message or "not merged",
        iid=iid,
        detailed_status=_detailed_status(attrs),
        merge_error=sanitize_text(str(error)) if error else None,
    )


def _detailed_status(attrs: Mapping[str, Any]) -> str | None:
    if attrs.get("state") not in (None, "opened"):
        return "not_open"
    status = attrs.get("detailed_merge_status")
    return str(status) if status and status != "mergeable" else None


def _sha(value: object) -> str | None:
    return str(value) if value else None
