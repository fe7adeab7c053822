"""Git smart HTTP through ``git http-backend`` run as a CGI program."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from send_mergereq.sandbox.gitrepo import git_environment


@dataclass
class CgiResult:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def _exec_path() -> Path:
    out = subprocess.run(["git", "--exec-path"], capture_output=True, check=True, text=True)
    return Path(out.stdout.strip()) / "git-http-backend"


def run_http_backend(
    root: Path,
    *,
    path_info: str,
    method: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    user: str | None,
) -> CgiResult:
    """Run one git smart HTTP request for the repository under ``root`` (lower-case headers)."""
    env = git_environment()
    env.update(
        GIT_PROJECT_ROOT=str(root),
        GIT_HTTP_EXPORT_ALL="1",
        PATH_INFO=path_info,
        REQUEST_METHOD=method,
        QUERY_STRING=query,
        CONTENT_LENGTH=str(len(body)),
        CONTENT_TYPE=headers.get("content-type", ""),
        REMOTE_ADDR="127.0.0.1",
        GATEWAY_INTERFACE="CGI/1.1",
        SERVER_PROTOCOL="HTTP/1.1",
    )
    if user:
        env["REMOTE_USER"] = user
    for name in ("content-encoding", "git-protocol"):
        if headers.get(name):
            env["HTTP_" + name.upper().replace("-", "_")] = headers[name]
    if env.get("HTTP_GIT_PROTOCOL"):
        env["GIT_PROTOCOL"] = env["HTTP_GIT_PROTOCOL"]
    proc = subprocess.run(
        [str(_exec_path())], input=body, capture_output=True, env=env, check=False
    )
    return parse_cgi(proc.stdout)


def parse_cgi(output: bytes) -> CgiResult:
    """Split CGI output into status, headers and body."""
    head, sep, body = output.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = output.partition(b"\n\n")
    result = CgiResult(status=200, body=body)
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            result.status = int(value.strip().split()[0])
        elif name:
            result.headers.append((name.strip(), value.strip()))
    return result
