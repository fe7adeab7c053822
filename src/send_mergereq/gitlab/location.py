"""Where a git remote's URL points on GitLab: pure parsing, no I/O.

``git@host:group/sub/proj.git``, ``ssh://[user@]host[:port]/group/proj.git``,
``https://[user[:pw]@]host[:port]/[prefix/]group/sub/proj(.git)`` and
``http://127.0.0.1:PORT/group/proj.git`` all map to a GitLab base URL and a
project path. SSH remotes map to ``https://host`` (the SSH port says nothing
about the web server). A GitLab under a path prefix cannot be told apart from a
group by its URL alone: pass the base URL and the prefix is stripped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

from send_mergereq.errors import ConfigError, sanitize_url

# scp-like syntax: [user@]host:path, where host has no slash and path does not start with //.
_SCP = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>\[[^\]]+\]|[^:/]+):(?!//)(?P<path>.+)$")
_HINT = (
    "pass --gitlab-url URL --project GROUP/PROJECT, "
    "or set git config sendmergereq.gitlabUrl and sendmergereq.project"
)


@dataclass(frozen=True)
class GitLabLocation:
    """A GitLab instance and a project on it."""

    gitlab_url: str  # scheme://host[:port][/prefix], no credentials, no trailing slash
    project: str  # group/sub/proj, without .git

    @property
    def project_url(self) -> str:
        return f"{self.gitlab_url}/{self.project}"


def parse_remote_url(
    url: str, remote: str = "remote", gitlab_url: str | None = None
) -> GitLabLocation:
    """Map a remote URL to its GitLab location; ``gitlab_url`` overrides the derived base."""
    base, path = _split_remote(url.strip(), remote)
    path = path.strip("/")
    if gitlab_url:
        base = normalize_base_url(gitlab_url)
        prefix = urlsplit(base).path.strip("/")
        if prefix and path.startswith(prefix + "/"):
            path = path[len(prefix) + 1 :]
    project = _clean_project_path(path)
    if "/" not in project:
        raise ConfigError(
            f"remote {remote!r} ({sanitize_url(url)}) names no GROUP/PROJECT path", hint=_HINT
        )
    return GitLabLocation(base, project)


def normalize_base_url(url: str) -> str:
    """``url`` as a GitLab base URL: http(s), no credentials, no query, no trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"GitLab URL {sanitize_url(url)!r} is not an http(s) URL", hint=_HINT)
    return urlunsplit((parts.scheme, _host_port(parts), parts.path.rstrip("/"), "", ""))


def _split_remote(url: str, remote: str) -> tuple[str, str]:
    """(base URL, path) of a remote URL, or a ConfigError naming the remote."""
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname:
            return f"{parts.scheme}://{_host_port(parts)}", parts.path
        if parts.scheme in ("ssh", "git+ssh", "ssh+git") and parts.hostname:
            return f"https://{_bracket(parts.hostname)}", parts.path
    else:
        match = _SCP.match(url)
        if match and not _looks_local(url):
            return f"https://{match['host']}", match["path"]
    raise ConfigError(
        f"cannot tell the GitLab project from remote {remote!r} ({sanitize_url(url)})", hint=_HINT
    )


def _looks_local(url: str) -> bool:
    """A Windows drive path (C:\\repo) or a path with a slash before the colon is local."""
    return bool(re.match(r"^[A-Za-z]:[\\/]", url)) or "/" in url.split(":", 1)[0]


def _host_port(parts: SplitResult) -> str:
    host = _bracket(parts.hostname or "")
    return f"{host}:{parts.port}" if parts.port else host


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _clean_project_path(path: str) -> str:
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    return path.rstrip("/")


def same_server(url: str, gitlab_url: str) -> bool:
    """Whether ``url`` (a push URL) is served by the GitLab at ``gitlab_url``: same scheme,
    host and port, so the token may be sent there."""
    a, b = urlsplit(url), urlsplit(gitlab_url)
    return bool(a.hostname) and _server(a) == _server(b)


def _server(parts: SplitResult) -> tuple[str, str | None, int | None]:
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, parts.hostname, parts.port or default
