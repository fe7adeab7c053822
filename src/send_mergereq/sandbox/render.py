"""GitLab's JSON entities for the sandbox's state (field names as in the REST API docs)."""

from __future__ import annotations

from send_mergereq.sandbox.clock import VirtualClock
from send_mergereq.sandbox.gitrepo import CommitInfo
from send_mergereq.sandbox.protocol import JSON
from send_mergereq.sandbox.state import USER, USERS, Job, MergeRequest, Pipeline, Project, World
from send_mergereq.sandbox.status import has_warnings
from send_mergereq.sandbox.workflows import (
    detailed_merge_status,
    head_pipeline,
    merge_status,
    metrics_pipeline,
)

VERSION = {
    "version": "17.5.0-ee",
    "revision": "5a4db0c0",
    "kas": {"enabled": False, "externalUrl": None, "version": None},
    "enterprise": True,
}

# lib/gitlab/ci/status/*.rb (16.0+): ``text`` in sentence case, ``label`` in lower case
_DETAILED = {
    "success": ("status_success", "Passed", "passed", "success"),
    "failed": ("status_failed", "Failed", "failed", "failed"),
    "running": ("status_running", "Running", "running", "running"),
    "pending": ("status_pending", "Pending", "pending", "pending"),
    "created": ("status_created", "Created", "created", "created"),
    "canceled": ("status_canceled", "Canceled", "canceled", "canceled"),
    "skipped": ("status_skipped", "Skipped", "skipped", "skipped"),
    "manual": ("status_manual", "Manual", "manual action", "manual"),
}


class Renderer:
    def __init__(self, world: World, base_url: str) -> None:
        self.world = world
        self.base = base_url.rstrip("/")
        self.clock: VirtualClock = world.clock

    def iso(self, t: float | None) -> str | None:
        return self.clock.iso(t)

    def user(self, user: dict[str, object] = USER) -> JSON:
        """Entities::UserBasic."""
        return {**user, "web_url": f"{self.base}/{user['username']}"}

    def users(self, ids: list[int]) -> list[JSON]:
        """The known users among ``ids`` (GitLab drops ids it cannot assign)."""
        return [self.user(u) for i in ids for u in USERS if u["id"] == i]

    def member(self, user: dict[str, object]) -> JSON:
        """Entities::Member: the maintainer 40, the others developers (30)."""
        level = 40 if user is USER else 30
        return {**self.user(user), "access_level": level, "created_at": self.iso(0),
                "expires_at": None, "membership_state": "active"}  # fmt: skip

    def current_user(self) -> JSON:
        return {
            **self.user(),
            "bio": "",
            "location": "",
            "public_email": "",
            "email": "maintainer@sandbox.invalid",
            "created_at": self.iso(0),
            "is_admin": False,
            "can_create_project": True,
            "two_factor_enabled": False,
            "external": False,
            "bot": False,
        }

    def project_url(self, project: Project) -> str:
        return f"{self.base}/{project.path}"

    def project(self, project: Project) -> JSON:
        web = self.project_url(project)
        namespace = project.namespace
        host = self.base.split("://", 1)[-1].split(":")[0]
        return {
            "id": project.id,
            "description": f"Sandbox project ({project.scenario.name})",
            "name": project.name,
            "name_with_namespace": project.path.replace("/", " / "),
            "path": project.name,
            "path_with_namespace": project.path,
            "created_at": self.iso(project.created_at),
            "default_branch": project.default_branch,
            "tag_list": [],
            "topics": [],
            "ssh_url_to_repo": f"git@{host}:{project.path}.git",
            "http_url_to_repo": f"{web}.git",
            "web_url": web,
            "readme_url": None,
            "avatar_url": None,
            "forks_count": 0,
            "star_count": 0,
            "last_activity_at": self.iso(self.world.now),
            "visibility": project.visibility,
            "namespace": {
                "id": 1,
                "name": namespace,
                "path": namespace.rsplit("/", 1)[-1],
                "kind": "group",
                "full_path": namespace,
                "parent_id": None,
                "avatar_url": None,
                "web_url": f"{self.base}/groups/{namespace}",
            },
            "_links": {
                "self": f"{self.base}/api/v4/projects/{project.id}",
                "issues": f"{self.base}/api/v4/projects/{project.id}/issues",
                "merge_requests": f"{self.base}/api/v4/projects/{project.id}/merge_requests",
                "repo_branches": f"{self.base}/api/v4/projects/{project.id}/repository/branches",
                "labels": f"{self.base}/api/v4/projects/{project.id}/labels",
                "events": f"{self.base}/api/v4/projects/{project.id}/events",
                "members": f"{self.base}/api/v4/projects/{project.id}/members",
                "cluster_agents": f"{self.base}/api/v4/projects/{project.id}/cluster_agents",
            },
            "archived": False,
            "empty_repo": not project.repo.refs(),
            "open_issues_count": 0,
            "shared_runners_enabled": True,
            "merge_requests_access_level": "enabled",
            "merge_requests_enabled": True,
            "jobs_enabled": True,
            "builds_access_level": "enabled",
            "merge_method": project.merge_method,
            "squash_option": "default_off",
            "merge_pipelines_enabled": project.merge_pipelines_enabled,
            "merge_trains_enabled": project.merge_trains_enabled,
            "merge_trains_skip_train_allowed": project.merge_trains_skip_train_allowed,
            "only_allow_merge_if_pipeline_succeeds": project.only_allow_merge_if_pipeline_succeeds,
            "allow_merge_on_skipped_pipeline": False,
            "only_allow_merge_if_all_discussions_are_resolved": False,
            "remove_source_branch_after_merge": True,
            "ci_config_path": None,
            "auto_cancel_pending_pipelines": "enabled",
            "ci_default_git_depth": 20,
            "permissions": {
                "project_access": {"access_level": 40, "notification_level": 3},
                "group_access": None,
            },
        }

    def protected_branch(self, project: Project, name: str) -> JSON:
        index = project.protected.index(name) + 1
        level = {
            "access_level": 40,
            "access_level_description": "Maintainers",
            "deploy_key_id": None,
            "user_id": None,
            "group_id": None,
        }
        return {
            "id": index,
            "name": name,
            "push_access_levels": [{"id": index, **level}],
            "merge_access_levels": [{"id": index, **level}],
            "unprotect_access_levels": [],
            "allow_force_push": False,
            "code_owner_approval_required": False,
        }

    def pipeline_url(self, pipeline: Pipeline) -> str:
        project = self.world.projects[pipeline.project_id]
        return f"{self.project_url(project)}/-/pipelines/{pipeline.id}"

    def pipeline_basic(self, pipeline: Pipeline) -> JSON:
        return {
            "id": pipeline.id,
            "iid": pipeline.iid,
            "project_id": pipeline.project_id,
            "sha": pipeline.sha,
            "ref": pipeline.ref,
            "status": pipeline.status,
            "source": pipeline.source,
            "created_at": self.iso(pipeline.created_at),
            "updated_at": self.iso(pipeline.updated_at),
            "web_url": self.pipeline_url(pipeline),
        }

    def detailed_status(self, pipeline: Pipeline) -> JSON:
        status = pipeline.status
        icon, text, label, group = _DETAILED.get(
            status, (f"status_{status}", status.capitalize(), status, status)
        )
        latest = [(j.status, j.allow_failure) for j in pipeline.latest_jobs()]
        if pipeline.status == "success" and has_warnings(latest):
            icon, text, label = "status_warning", "Warning", "passed with warnings"
            group = "success_with_warnings"
        path = self.pipeline_url(pipeline).removeprefix(self.base)
        return {
            "icon": icon,
            "text": text,
            "label": label,
            "group": group,
            "tooltip": label,
            "has_details": True,
            "details_path": path,
            "illustration": None,
            "favicon": f"/assets/ci_favicons/favicon_{icon}.png",
        }

    def pipeline(self, pipeline: Pipeline) -> JSON:
        duration = None
        if pipeline.started_at is not None and pipeline.finished_at is not None:
            duration = round(pipeline.finished_at - pipeline.started_at)
        # lib/api/entities/ci/pipeline.rb: queued_duration in whole seconds
        queued = (
            None
            if pipeline.started_at is None
            else round(pipeline.started_at - pipeline.created_at)
        )
        return {
            **self.pipeline_basic(pipeline),
            "name": None,
            "before_sha": pipeline.before_sha,
            "tag": False,
            "yaml_errors": None,
            "user": self.user(),
            "started_at": self.iso(pipeline.started_at),
            "finished_at": self.iso(pipeline.finished_at),
            "committed_at": None,
            "duration": duration,
            "queued_duration": queued,
            "coverage": None,
            "detailed_status": self.detailed_status(pipeline),
            "archived": False,
        }

    def _commit(self, pipeline: Pipeline) -> JSON:
        info = self.world.projects[pipeline.project_id].repo.commit_info(pipeline.sha)
        return commit_json(info, self.base)

    def job(self, job: Job) -> JSON:
        pipeline = self.world.pipelines[job.pipeline_id]
        project = self.world.projects[pipeline.project_id]
        end = job.finished_at if job.finished_at is not None else self.world.now
        data: JSON = {
            "id": job.id,
            "status": job.status,
            "stage": job.stage,
            "name": job.name,
            "ref": pipeline.ref,
            "tag": False,
            "coverage": None,
            "allow_failure": job.allow_failure,
            "created_at": self.iso(job.created_at),
            "started_at": self.iso(job.started_at),
            "finished_at": self.iso(job.finished_at),
            "erased_at": None,
            "duration": None if job.started_at is None else round(end - job.started_at, 3),
            "queued_duration": None
            if job.queued_at is None
            else round(
                (job.started_at if job.started_at is not None else self.world.now) - job.queued_at,
                3,
            ),
            "user": self.user(),
            "commit": self._commit(pipeline),
            "pipeline": self.pipeline_basic(pipeline),  # Entities::Ci::PipelineBasic has iid
            "web_url": f"{self.project_url(project)}/-/jobs/{job.id}",
            "project": {"ci_job_token_scope_enabled": False},
            "archived": False,
            "source": pipeline.source,
        }
        if job.status == "failed":  # lib/api/entities/ci/job_basic.rb: every failed job
            data["failure_reason"] = (
                (job.bridge_failure or "downstream_pipeline_failure")
                if job.is_bridge
                else job.spec.failure_reason
            )
        if job.is_bridge:
            child = self.world.pipelines.get(job.downstream_id or 0)
            data["downstream_pipeline"] = None if child is None else self.downstream(child)
            return data
        data.update(
            {
                "artifacts": [],
                "artifacts_expire_at": None,
                "tag_list": ["docker"],
                "runner": None
                if job.started_at is None
                else {
                    "id": 1,
                    "description": "sandbox-runner-1",
                    "ip_address": None,
                    "active": True,
                    "paused": False,
                    "is_shared": True,
                    "runner_type": "instance_type",
                    "name": "gitlab-runner",
                    "online": True,
                    "status": "online",
                },
                "runner_manager": None,
            }
        )
        return data

    def downstream(self, child: Pipeline) -> JSON:
        basic = self.pipeline_basic(child)
        return {
            k: basic[k]
            for k in (
                "id",
                "iid",
                "project_id",
                "sha",
                "ref",
                "status",
                "source",
                "created_at",
                "updated_at",
                "web_url",
            )
        }

    def merge_request_basic(self, mr: MergeRequest) -> JSON:
        project = self.world.projects[mr.project_id]
        status = detailed_merge_status(self.world, project, mr)
        merged = mr.state == "merged"
        return {
            "id": mr.id,
            "iid": mr.iid,
            "project_id": mr.project_id,
            "title": mr.title,
            "description": mr.description,
            "state": mr.state,
            "created_at": self.iso(mr.created_at),
            "updated_at": self.iso(mr.updated_at),
            "merged_by": self.user() if merged else None,
            "merge_user": self.user() if merged else None,
            "merged_at": self.iso(mr.merged_at),
            "closed_by": self.user() if mr.state == "closed" else None,
            "closed_at": self.iso(mr.closed_at),
            "target_branch": mr.target_branch,
            "source_branch": mr.source_branch,
            "user_notes_count": 0,
            "upvotes": 0,
            "downvotes": 0,
            "author": self.user(),
            "assignees": self.users(mr.assignee_ids),
            "assignee": next(iter(self.users(mr.assignee_ids)), None),
            "reviewers": self.users(mr.reviewer_ids),
            "source_project_id": mr.project_id,
            "target_project_id": mr.project_id,
            "labels": list(mr.labels),
            "draft": mr.draft,
            "work_in_progress": mr.draft,
            "milestone": None,
            "merge_when_pipeline_succeeds": mr.merge_when_pipeline_succeeds,
            "merge_status": merge_status(mr),
            "detailed_merge_status": status,
            "sha": mr.sha,
            "merge_commit_sha": mr.merge_commit_sha,
            "squash_commit_sha": None,
            "discussion_locked": None,
            "should_remove_source_branch": mr.should_remove_source_branch,
            "force_remove_source_branch": mr.force_remove_source_branch,
            "prepared_at": self.iso(mr.prepared_at),
            "reference": f"!{mr.iid}",
            "references": {
                "short": f"!{mr.iid}",
                "relative": f"!{mr.iid}",
                "full": f"{project.path}!{mr.iid}",
            },
            "web_url": f"{self.project_url(project)}/-/merge_requests/{mr.iid}",
            "time_stats": {
                "time_estimate": 0,
                "total_time_spent": 0,
                "human_time_estimate": None,
                "human_total_time_spent": None,
            },
            "squash": mr.squash,
            "squash_on_merge": mr.squash,
            "task_completion_status": {"count": 0, "completed_count": 0},
            "has_conflicts": mr.has_conflicts,
            "blocking_discussions_resolved": True,
        }

    def merge_request(
        self, mr: MergeRequest, *, diverged: bool = False, rebase: bool = False
    ) -> JSON:
        """Entities::MergeRequest; ``diverged_commits_count`` and ``rebase_in_progress`` only
        when asked for (``include_diverged_commits_count``, ``include_rebase_in_progress``)."""
        project = self.world.projects[mr.project_id]
        head = head_pipeline(self.world, project, mr)
        metrics = metrics_pipeline(self.world, project, mr)
        data: JSON = {
            **self.merge_request_basic(mr),
            "subscribed": True,
            "changes_count": "1",
            "latest_build_started_at": self.iso(head.started_at) if head else None,
            "latest_build_finished_at": self.iso(head.finished_at) if head else None,
            "first_deployed_to_production_at": None,
            "pipeline": self.pipeline_basic(metrics) if metrics else None,
            "head_pipeline": self.pipeline(head) if head else None,
            "diff_refs": {"base_sha": mr.base_sha, "head_sha": mr.sha, "start_sha": mr.start_sha},
            "merge_error": mr.merge_error,
            "user": {"can_merge": True},
        }
        if diverged:
            data["diverged_commits_count"] = self._diverged(project, mr)
        if rebase:
            data["rebase_in_progress"] = False
        return data

    def _diverged(self, project: Project, mr: MergeRequest) -> int:
        if mr.sha is None or mr.state != "opened":
            return 0
        out = project.repo.git(
            "rev-list", "--count", f"refs/heads/{mr.target_branch}", f"^{mr.sha}", ok=(0, 128)
        )
        return int(out.strip() or 0)


def commit_json(info: CommitInfo, project_url: str) -> JSON:
    """A commit as GitLab's commits API and a job's ``commit`` field show it."""
    return {
        "id": info.sha,
        "short_id": info.sha[:8],
        "created_at": info.committed_date,
        "parent_ids": list(info.parents),
        "title": info.title,
        "message": info.message,
        "author_name": info.author_name,
        "author_email": info.author_email,
        "authored_date": info.authored_date,
        "committer_name": info.committer_name,
        "committer_email": info.committer_email,
        "committed_date": info.committed_date,
        "trailers": {},
        "extended_trailers": {},
        "web_url": f"{project_url}/-/commit/{info.sha}",
    }
