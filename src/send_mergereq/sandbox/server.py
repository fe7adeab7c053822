"""The HTTP front: routes git smart HTTP and REST v4, checks tokens, injects faults, logs."""

from __future__ import annotations

import json
import re
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from send_mergereq.sandbox import (  # noqa: F401  (routes)
    api_ci,
    api_mrs,
    api_projects,
    api_repo,
    api_trains,
)
from send_mergereq.sandbox.auth import header_token, query_token, redact_path
from send_mergereq.sandbox.engine import advance
from send_mergereq.sandbox.githttp import run_http_backend
from send_mergereq.sandbox.gitrepo import ZERO_SHA
from send_mergereq.sandbox.protocol import ApiError, Request, Response
from send_mergereq.sandbox.reqlog import RequestRecord
from send_mergereq.sandbox.router import ROUTER, Ctx
from send_mergereq.sandbox.scenarios import FaultSpec
from send_mergereq.sandbox.workflows import on_push

if TYPE_CHECKING:
    from pathlib import Path

    from send_mergereq.sandbox.clock import VirtualClock
    from send_mergereq.sandbox.faults import FaultInjector
    from send_mergereq.sandbox.render import Renderer
    from send_mergereq.sandbox.reqlog import RequestLog
    from send_mergereq.sandbox.state import World

_GIT_PATH = re.compile(
    r"^/(?P<repo>.+?)(?:\.git)?/(?P<rest>info/refs|git-upload-pack|git-receive-pack|HEAD|objects/.+)$"
)
RATE_LIMIT = 2000
_BAD_GATEWAY = b"<html><body><h1>502 Bad Gateway</h1>\nGitLab is not responding.\n</body></html>\n"


class Sandbox(Protocol):
    """What the server needs of the sandbox it serves (``app.Sandbox``, which starts it):
    said here, so that the server does not import the app that imports it."""

    token: str
    log: RequestLog
    faults: FaultInjector
    world: World
    clock: VirtualClock
    errors: list[str]

    @property
    def url(self) -> str: ...

    @property
    def repo_root(self) -> Path: ...

    def renderer(self, base_url: str | None = None) -> Renderer: ...


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: Sandbox) -> None:
        super().__init__(address, SandboxHandler)
        self.app = app
        self.window = (int(time.time()) // 60, 0)
        self.window_lock = threading.Lock()

    def rate_headers(self) -> dict[str, str]:
        """GitLab's ``RateLimit-*`` headers over a one-minute window."""
        with self.window_lock:
            minute, seen = self.window
            now_minute = int(time.time()) // 60
            seen = seen + 1 if now_minute == minute else 1
            self.window = (now_minute, seen)
        reset = (now_minute + 1) * 60
        return {
            "RateLimit-Name": "throttle_authenticated_api",
            "RateLimit-Limit": str(RATE_LIMIT),
            "RateLimit-Observed": str(seen),
            "RateLimit-Remaining": str(max(0, RATE_LIMIT - seen)),
            "RateLimit-Reset": str(reset),
            "RateLimit-ResetTime": formatdate(reset, usegmt=True),
        }


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms a response on loopback). TCP_NODELAY sends it at once.
    disable_nagle_algorithm = True
    server: SandboxServer
    server_version = "nginx"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is the record."""

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def app(self) -> Sandbox:
        return self.server.app

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self, status: int, body: bytes, headers: dict[str, str] | list[tuple[str, str]]
    ) -> None:
        self.send_response(status)
        items = headers.items() if isinstance(headers, dict) else headers
        for name, value in items:
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _record(
        self, status: int, kind: str, authed: bool, fault: str | None = None, size: int = 0
    ) -> None:
        path, in_url = redact_path(self.path, self.app.token)
        in_url = in_url or query_token(urlsplit(self.path).query) is not None
        record = RequestRecord(self.command, path, status, kind, authed, in_url, fault, size)
        self.app.log.add(record)

    def _lower_headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    def _token_ok(self, query: str) -> bool:
        token = header_token(self._lower_headers()) or query_token(query)
        return token is not None and token == self.app.token

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        body = self._read_body()
        if parts.path.startswith("/api/v4/"):
            self._api(parts.path.removeprefix("/api/v4"), parts.query, body)
            return
        match = _GIT_PATH.match(parts.path)
        if match:
            self._git(match["repo"], match["rest"], parts.query, body)
            return
        self._record(404, "other", self._token_ok(parts.query))
        self._send(404, b"Not Found\n", {"Content-Type": "text/plain"})

    # -- REST ------------------------------------------------------------------------------

    def _api(self, path: str, query: str, body: bytes) -> None:
        authed = self._token_ok(query)
        fault = self.app.faults.check(path)
        if fault is not None and fault.action.startswith("lost") and authed:  # served, lost
            response = self._dispatch(path, query, body)
            self._record(response.status, "api", authed, fault.action)
            if fault.action == "lost-502":  # a proxy gave up waiting: its page, not GitLab's
                self._send(502, _BAD_GATEWAY, {"Content-Type": "text/html"})
                return
            self.close_connection = True
            return
        if fault is not None:
            self._inject(fault, authed)
            return
        if not authed:
            response = Response(401, {"message": "401 Unauthorized"})
        else:
            response = self._dispatch(path, query, body)
        payload = (
            response.body if response.content_type == "text/plain" else json.dumps(response.body)
        )
        headers = {
            "Content-Type": response.content_type,
            "Cache-Control": "max-age=0, private, must-revalidate",
            "Vary": "Origin",
            **self.server.rate_headers(),
            **response.headers,
        }
        encoded = str(payload).encode("utf-8")
        self._record(response.status, "api", authed, size=len(encoded))
        self._send(response.status, encoded, headers)

    def _dispatch(self, path: str, query: str, body: bytes) -> Response:
        try:
            params = self._params(query, body)
        except ValueError:
            return Response(400, {"error": "400 Bad request - the body is not valid JSON"})
        host = self.headers.get("Host") or self.app.url.split("://", 1)[1]
        request = Request(self.command, path, query, params, f"http://{host}")
        world = self.app.world
        with world.lock:
            now = self.app.clock.now()
            advance(world, now)
            ctx = Ctx(world, self.app.renderer(f"http://{host}"), world.now)
            try:
                return ROUTER.dispatch(ctx, request)
            except ApiError as exc:
                return Response(exc.status, exc.body)
            except Exception as exc:  # a sandbox bug: answer like GitLab, keep it for the tests
                self.app.errors.append(f"{self.command} {path}: {exc!r}")
                return Response(500, {"message": "500 Internal Server Error"})

    def _params(self, query: str, body: bytes) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for key, values in parse_qs(query, keep_blank_values=True).items():
            params[key] = values if key.endswith("[]") or len(values) > 1 else values[0]
        if not body:
            return params
        content_type = self.headers.get("Content-Type", "")
        if "json" in content_type:
            decoded = json.loads(body)
            if isinstance(decoded, dict):
                params.update(decoded)
        elif "x-www-form-urlencoded" in content_type:
            for key, values in parse_qs(body.decode("utf-8"), keep_blank_values=True).items():
                params[key] = values if key.endswith("[]") or len(values) > 1 else values[0]
        return params

    def _inject(self, fault: FaultSpec, authed: bool) -> None:
        if fault.action == "drop":
            self.close_connection = True
            self._record(0, "api", authed, "drop")
            return
        status = int(fault.action)
        self._record(status, "api", authed, fault.action)
        if status == 429:
            headers = {
                **self.server.rate_headers(),
                "Retry-After": str(fault.retry_after),
                "Content-Type": "text/plain",
            }
            # Rack::Attack reports the count it observed: above the limit, as it throttled
            observed = max(int(headers["RateLimit-Observed"]), RATE_LIMIT + 1)
            headers["RateLimit-Observed"] = str(observed)
            headers["RateLimit-Remaining"] = "0"
            self._send(429, b"Retry later\n", headers)
        else:
            self._send(
                status,
                _BAD_GATEWAY.replace(b"502 Bad Gateway", str(status).encode()),
                {"Content-Type": "text/html"},
            )

    # -- git -------------------------------------------------------------------------------

    def _git(self, repo_path: str, rest: str, query: str, body: bytes) -> None:
        authed = self._token_ok(query)
        world = self.app.world
        with world.lock:
            project = world.project_by_ref(unquote(repo_path))
        push = rest == "git-receive-pack" or "service=git-receive-pack" in query
        if project is None or ((push or project.visibility == "private") and not authed):
            denied = {"WWW-Authenticate": 'Basic realm="GitLab"', "Content-Type": "text/plain"}
            self._record(401, "git", authed)
            self._send(401, b"HTTP Basic: Access denied\n", denied)
            return
        before = project.repo.refs() if rest == "git-receive-pack" else {}
        result = run_http_backend(
            self.app.repo_root,
            path_info=f"/{project.path}.git/{rest}",
            method=self.command,
            query=query,
            headers=self._lower_headers(),
            body=body,
            user="maintainer" if authed else None,
        )
        if rest == "git-receive-pack":  # before answering: the push's pipelines exist on return
            self._after_push(project.id, before)
        self._record(result.status, "git", authed)
        self._send(result.status, result.body, result.headers)

    def _after_push(self, project_id: int, before: dict[str, str]) -> None:
        world = self.app.world
        with world.lock:
            project = world.projects[project_id]
            after = project.repo.refs()
            changes = {
                ref: (before.get(ref, ZERO_SHA), after.get(ref, ZERO_SHA))
                for ref in set(before) | set(after)
                if before.get(ref) != after.get(ref)
            }
            now = self.app.clock.now()
            advance(world, now)
            on_push(world, project, changes, world.now)
