"""REST: version, current user, projects and protected branches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar
from urllib.parse import unquote

from send_mergereq.sandbox import render
from send_mergereq.sandbox.pagination import paginate
from send_mergereq.sandbox.protocol import JSON, Request, Response, not_found
from send_mergereq.sandbox.render import VERSION
from send_mergereq.sandbox.router import Ctx, route
from send_mergereq.sandbox.state import USERS

T = TypeVar("T")


def listing(
    req: Request, items: Sequence[T], render: Callable[[T], JSON], *, count: bool = True
) -> Response:
    """A paginated list answer (only the page is rendered), links built from the request URL."""
    url = f"{req.base_url}/api/v4{req.path}"
    page, headers = paginate(items, url, req.query, count=count)
    return Response(200, [render(item) for item in page], headers)


@route("GET", "/version")
def get_version(_ctx: Ctx, _req: Request) -> Response:
    return Response(200, VERSION)


@route("GET", "/metadata")
def get_metadata(_ctx: Ctx, _req: Request) -> Response:
    return Response(200, VERSION)


@route("GET", "/user")
def get_user(ctx: Ctx, _req: Request) -> Response:
    return Response(200, ctx.render.current_user())


@route("GET", "/projects")
def list_projects(ctx: Ctx, req: Request) -> Response:
    projects = sorted(ctx.world.projects.values(), key=lambda p: -p.id)
    search = req.get("search")
    if search:
        projects = [p for p in projects if str(search).lower() in p.path.lower()]
    return listing(req, projects, ctx.render.project)


@route("GET", "/projects/:project")
def get_project(ctx: Ctx, req: Request) -> Response:
    return Response(200, ctx.render.project(ctx.project(req)))


@route("GET", "/projects/:project/protected_branches")
def list_protected(ctx: Ctx, req: Request) -> Response:
    project = ctx.project(req)
    return listing(req, project.protected, lambda n: ctx.render.protected_branch(project, n))


@route("GET", "/projects/:project/protected_branches/([^/]+)")
def get_protected(ctx: Ctx, req: Request) -> Response:
    project = ctx.project(req)
    name = unquote(req.groups[1])
    if name not in project.protected:
        raise not_found()
    return Response(200, ctx.render.protected_branch(project, name))


@route("GET", "/projects/:project/repository/branches/([^/]+)")
def get_branch(ctx: Ctx, req: Request) -> Response:
    project = ctx.project(req)
    name = unquote(req.groups[1])
    sha = project.repo.rev_parse(f"refs/heads/{name}")
    if sha is None:
        raise not_found("Branch")
    info = project.repo.commit_info(sha)
    return Response(
        200,
        {
            "name": name,
            "merged": False,
            "protected": name in project.protected,
            "default": name == project.default_branch,
            "developers_can_push": False,
            "developers_can_merge": False,
            "can_push": True,
            "web_url": f"{ctx.render.project_url(project)}/-/tree/{name}",
            # lib/api/entities/branch.rb: the commit as Entities::Commit
            "commit": render.commit_json(info, ctx.render.project_url(project)),
        },
    )


@route("GET", "/users")
def list_users(ctx: Ctx, req: Request) -> Response:
    """app/finders/users_finder.rb: ``username`` is matched whole and case-insensitively
    (User.by_username, ``iwhere``); ``search`` matches each word of three characters or
    more anywhere in the name or username, a shorter word only whole (User.search,
    fuzzy_arel_match); newest user first (order_id_desc), or for a search an exact name,
    then an exact username, first, then by name."""
    users = sorted(USERS, key=lambda u: -int(str(u["id"])))
    username = req.get("username")
    if username is not None:
        users = [u for u in users if str(u["username"]).lower() == str(username).lower()]
    search = str(req.get("search") or "").strip().lower()
    if search:  # exact name, then exact username first, then by name
        users = [u for u in users if _matches(u, search.split())]
        exact = {"name": 0, "username": 1}
        users.sort(key=lambda u: (min((exact[k] for k in exact if str(u[k]).lower() == search),
                                      default=3), str(u["name"])))  # fmt: skip
    return listing(req, users, ctx.render.user)


def _matches(user: dict[str, object], words: list[str]) -> bool:
    def column(value: object) -> bool:
        text = str(value).lower()
        return all(w in text if len(w) >= 3 else w == text for w in words)

    return column(user["name"]) or column(user["username"])


@route("GET", "/projects/:project/members/all")
def list_members_all(ctx: Ctx, req: Request) -> Response:
    """lib/api/members.rb ``members/all``: direct and inherited members (every sandbox user)."""
    ctx.project(req)
    query = str(req.get("query") or "").lower()
    users = [u for u in USERS if query in str(u["username"]).lower() + str(u["name"]).lower()]
    return listing(req, users, ctx.render.member)
