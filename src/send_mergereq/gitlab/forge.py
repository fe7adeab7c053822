"""Every GitLab REST call send-mergereq makes, as methods of one ``Forge`` (one project):
the project, its users and merge requests here, the pipeline and job calls in
``forge_pipelines.py``, the landing calls in ``forge_landing.py`` and the merge-train
calls in ``forge_trains.py`` (mixed in). A change is sent once (``ONCE``); a lost answer
is read back, never re-sent blindly.

python-gitlab is imported only inside ``send_mergereq.gitlab`` (callers reach it
through ``gitlab.session``, lazily, so ``--dry-run`` never pays for it). Every call
goes through python-gitlab's managers with its transient-error retries and
rate-limit handling on; nothing here builds an HTTP request by hand. Errors pass
through ``client.api``: one line naming what we were doing, never the token.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gitlab
import gitlab.exceptions as glexc
import requests
from gitlab.v4.objects import Project, ProjectMergeRequest

from send_mergereq.errors import ConfigError, ForgeError, TransientForgeError
from send_mergereq.gitlab import entities
from send_mergereq.gitlab.client import PER_PAGE, TIMEOUT, api, client, every_page
from send_mergereq.gitlab.credentials import Token
from send_mergereq.gitlab.entities import MrSpec, ProjectInfo
from send_mergereq.gitlab.forge_landing import LandingCalls
from send_mergereq.gitlab.forge_pipelines import ONCE, PipelineCalls
from send_mergereq.gitlab.forge_trains import MergeRefused, TrainCalls
from send_mergereq.models import MergeRequest, Pipeline

# The first call of a run: a GitLab that cannot be reached at all is said in ~3 s
# (retries after 0.1, 0.2, 0.4, 0.8 and 1.6 s), not after ten silent retries (~100 s).
FIRST_CALL: dict[str, Any] = {"max_retries": 5}
AUTO_MERGE_SINCE = (17, 11)  # the merge API's auto_merge parameter
__all__ = ["Forge", "MergeRefused", "MrSpec", "ProjectInfo"]


class Forge(PipelineCalls, LandingCalls, TrainCalls):
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

    def server_version(self) -> tuple[int, int]:
        """GitLab's (major, minor) from ``GET /version`` (asked once); (0, 0) when it does
        not say (python-gitlab answers "unknown")."""
        version, _ = self.gl.version()
        return entities.version_pair(version)

    def _api(self, what: str) -> Any:
        return api(what, self.token_source)

    def _pipeline(self, attrs: Mapping[str, Any]) -> Pipeline:
        return entities.pipeline(attrs, self.info.web_url)
