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
    return Response(200, commit_json(ctx, project, sha))


@route("GET", "/projects/:project/repository/merge_base")
def get_merge_base(ctx: Ctx, req: Request) -> Response:
    project = ctx.project(req)
    refs = req.list_param("refs")
    if len(refs) < 2:
        raise ApiError(400, {"message": "Provide at least 2 refs"})
    shas = []
    for ref in refs:
        sha = _resolve(project, ref)
        if sha is None:
            raise ApiError(404, {"message": f"404 Commit Not Found: {ref}"})
        shas.append(sha)
    base = project.repo.git("merge-base", *shas, ok=(0, 1)).strip()
    if not base:
        raise not_found("Merge Base")
    return Response(200, commit_json(ctx, project, base))
