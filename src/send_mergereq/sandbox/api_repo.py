"""REST: single commits (with ``parent_ids``) and merge bases, as GitLab's repository API has them.

``land.py`` reads a merged results pipeline's merge commit to learn which target head it
was built on (its first parent), and asks for merge bases to decide ancestry.
"""

from __future__ import annotations

from urllib.parse import unquote

from send_mergereq.sandbox import render
from send_mergereq.sandbox.protocol import JSON, ApiError, Request, Response, not_found
from send_mergereq.sandbox.router import Ctx, route
from send_mergereq.sandbox.state import Project


def _resolve(project: Project, ref: str) -> str | None:
    for candidate in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}"):
        if candidate.startswith("-"):
            return None
        sha = project.repo.rev_parse(candidate)
        if sha is not None:
            return sha
    return None


def commit_json(ctx: Ctx, project: Project, sha: str) -> JSON:
    return render.commit_json(project.repo.commit_info(sha), ctx.render.project_url(project))


@route("GET", "/projects/:project/repository/commits/([^/]+)")
def get_commit(ctx: Ctx, req: Request) -> Response:
    project = ctx.project(req)
    sha = _resolve(project, unquote(req.groups[1]))
    if sha is None:
        raise not_found("Commit")
    # lib/api/entities/commit_detail.rb: the commit plus stats, status, last_pipeline
    data = commit_json(ctx, project, sha)
    pipelines = [p for p in ctx.world.project_pipelines(project) if p.sha == sha]
    last = max(pipelines, key=lambda p: p.id, default=None)
    data.update(
        {
            "stats": _stats(project, sha),
            "status": None if last is None else last.status,
            "project_id": project.id,
            "last_pipeline": None if last is None else ctx.render.pipeline_basic(last),
        }
    )
    return Response(200, data)


def _stats(project: Project, sha: str) -> JSON:
    out = project.repo.git("show", "--numstat", "--format=", "--no-renames", sha, ok=(0, 128))
    additions = deletions = 0
    for line in out.splitlines():
        added, removed, *_ = [*line.split("\t"), "", ""]
        additions += int(added) if added.isdigit() else 0
        deletions += int(removed) if removed.isdigit() else 0
    return {"additions": additions, "deletions": deletions, "total": additions + deletions}


@route("GET", "/projects/:project/repository/merge_base")
def get_merge_base(ctx: Ctx, req: Request) -> Response:
    project = ctx.project(req)
    refs = req.list_param("refs")
    if len(refs) < 2:
        raise ApiError(400, {"message": "Provide at least 2 refs"})
    shas = [_resolve(project, ref) for ref in refs]
    unknown = [ref for ref, sha in zip(refs, shas, strict=True) if sha is None]
    if unknown:  # lib/api/repositories.rb, merge_base
        noun = "ref" if len(unknown) == 1 else "refs"
        raise ApiError(400, {"message": f"Could not find {noun}: {', '.join(unknown)}"})
    base = project.repo.git("merge-base", *[s for s in shas if s], ok=(0, 1)).strip()
    if not base:
        raise not_found("Merge Base")
    return Response(200, commit_json(ctx, project, base))
