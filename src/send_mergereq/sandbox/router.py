"""REST v4 routing: a table of (method, path pattern, handler)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from send_mergereq.sandbox.protocol import ApiError, Request, Response, not_found
from send_mergereq.sandbox.render import Renderer
from send_mergereq.sandbox.state import MergeRequest, Project, World


@dataclass
class Ctx:
    """What a handler works with: the world (lock held), a renderer, the virtual now."""

    world: World
    render: Renderer
    now: float

    def project(self, req: Request) -> Project:
        project = self.world.project_by_ref(unquote(req.groups[0]))
        if project is None or not project.token_can_read:  # helpers.rb find_project!
            raise not_found("Project")
        return project

    def merge_request(self, req: Request) -> tuple[Project, MergeRequest]:
        project = self.project(req)
        mr = self.world.merge_request(project, int(req.groups[1]))
        if mr is None:
            raise not_found()
        return project, mr


Handler = Callable[[Ctx, Request], Response]
_P = r"(?P<project>[^/]+)"


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        regex = re.compile("^" + pattern.replace(":project", _P) + "$")

        def register(handler: Handler) -> Handler:
            self._routes.append((method, regex, handler))
            return handler

        return register

    def dispatch(self, ctx: Ctx, req: Request) -> Response:
        allowed = False
        for method, regex, handler in self._routes:
            match = regex.match(req.path)
            if match is None:
                continue
            allowed = True
            if method == req.method or (method == "GET" and req.method == "HEAD"):
                req.groups = match.groups()
                return handler(ctx, req)
        if allowed:
            raise ApiError(405, {"message": "405 Method Not Allowed"})
        raise ApiError(404, {"error": "404 Not Found"})


ROUTER = Router()
route = ROUTER.add
