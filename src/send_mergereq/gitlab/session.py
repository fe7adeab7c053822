"""One run's GitLab: where it is, the token (found once), one connection (made once).

A ``Session`` is opened once per run, after the checks passed. Every phase gets
the same one: the push reads ``git_env`` (the token handed to git, and only for
the GitLab it is for), the REST calls go through ``forge`` (connected on first
use). Nothing else in send-mergereq looks for the token or hands it to git.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from send_mergereq import git
from send_mergereq.errors import ConfigError, GitError, register_secret, sanitize_text, sanitize_url
from send_mergereq.gitlab.credentials import MissingToken, Token, find_token
from send_mergereq.gitlab.location import (
    GitLabLocation,
    normalize_base_url,
    parse_remote_url,
    same_server,
)

if TYPE_CHECKING:
    from send_mergereq.config import Settings
    from send_mergereq.gitlab.forge import Forge


def remote_url(repo: Path, remote: str) -> str:
    """The URL ``git push REMOTE`` uses, or a ConfigError naming the remote."""
    url = git.push_url(repo, remote)
    if not url:
        raise ConfigError(
            f"no git remote named {remote!r} in {repo}",
            hint="add it with git remote add, or pass --remote NAME",
        )
    return url


def locate(settings: Settings) -> GitLabLocation:
    """GitLab URL and project: from the settings when given, else from the remote's push URL."""
    remote = _remote(settings)
    if settings.gitlab_url and settings.project:
        return GitLabLocation(normalize_base_url(settings.gitlab_url), settings.project.strip("/"))
    location = parse_remote_url(remote_url(settings.repo, remote), remote, settings.gitlab_url)
    if settings.project:
        return GitLabLocation(location.gitlab_url, settings.project.strip("/"))
    return location


# Hosts that are known not to be GitLab: said before any token is looked for.
OTHER_FORGES = {
    "github.com": "GitHub",
    "ssh.github.com": "GitHub",
    "bitbucket.org": "Bitbucket",
    "codeberg.org": "Forgejo",
    "gitea.com": "Gitea",
    "git.sr.ht": "sourcehut",
}


def refuse_other_forge(location: GitLabLocation, settings: Settings) -> None:
    """A ConfigError for a remote on a host known not to be GitLab (github.com, ...)."""
    host = (urlsplit(location.gitlab_url).hostname or "").lower()
    if host in OTHER_FORGES:
        raise not_gitlab(location, settings, f"{host} is {OTHER_FORGES[host]}")


def not_gitlab(location: GitLabLocation, settings: Settings, why: str) -> ConfigError:
    remote = settings.remote or "remote"
    return ConfigError(
        f"remote {remote!r} ({location.project_url}) is not a GitLab remote: {why}",
        hint="send-mergereq gates through GitLab: pass --remote NAME for a GitLab remote, "
        "or --gitlab-url URL --project PATH",
    )


def _other_host(location: GitLabLocation, remote: str, settings: Settings) -> tuple[str, ...]:
    """A note when the push remote is an HTTP(S) URL on another host than the GitLab the
    token is for (``--gitlab-url``, ``sendmergereq.gitlabUrl``): git gets no token there."""
    url = remote_url(settings.repo, remote)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or same_server(url, location.gitlab_url):
        return ()
    return (
        f"the token is for {location.gitlab_url}; remote {remote!r} ({sanitize_url(url)}) is "
        "on another host: git pushes there without it, with your own credentials",
    )


def _remote(settings: Settings) -> str:
    if not settings.remote:
        raise ConfigError(
            f"no git remote to push {settings.branch} to",
            hint="pass --remote NAME, or set git config sendmergereq.remote",
        )
    return settings.remote


@dataclass
class Session:
    """The GitLab of one run. ``forge`` connects on first use; tests may hand one in."""

    repo: Path
    remote: str
    location: GitLabLocation
    token: Token
    notes: tuple[str, ...] = ()  # said once, before anything is sent: whom the token is for
    notify: Callable[[str], None] | None = field(default=None, repr=False)  # long waits said
    _forge: Forge | None = field(default=None, repr=False)

    @classmethod
    def open(cls, settings: Settings) -> Session:
        """Locate the project and find the token (``GITLAB_TOKEN``, python-gitlab's config,
        ``git credential fill``): once, before anything is pushed."""
        location = locate(settings)
        refuse_other_forge(location, settings)
        try:
            token = find_token(location.gitlab_url, project=location.project, cwd=settings.repo)
        except MissingToken:
            from send_mergereq.gitlab.client import answers_as_gitlab

            if not answers_as_gitlab(location.gitlab_url):
                raise not_gitlab(location, settings, "its /api/v4/version does not answer as "
                                 "GitLab does") from None  # fmt: skip
            raise
        remote = _remote(settings)
        notes = (token.note,) if token.note else ()
        return cls(
            settings.repo, remote, location, token, notes + _other_host(location, remote, settings)
        )

    @property
    def forge(self) -> Forge:
        if self._forge is None:
            from send_mergereq.gitlab.forge import Forge

            self._forge = Forge.connect(
                self.location.gitlab_url, self.token, self.location.project, notify=self.notify
            )
        return self._forge

    def git_env(self) -> dict[str, str]:
        """The environment for ``git push`` to the remote: the token goes along as an HTTP
        header only when the push URL is this GitLab's own origin (an SSH remote, or one
        on another host, pushes with the user's own credentials)."""
        url = remote_url(self.repo, self.remote)
        token = self.token if same_server(url, self.location.gitlab_url) else None
        return auth_env(url, token, os.environ)

    def redirect_refused(self, done: git.Completed, *, push: bool) -> GitError | None:
        """The one line for a git command (with ``git_env``) that failed because the remote
        redirected it: git does not follow redirects with the token (``auth_env``). Where
        it was sent is asked of the remote again, without the token; None for any other
        failure."""
        status = git.refused_redirect(done)
        if status is None:
            return None
        from send_mergereq.gitlab.client import origin, redirect_location

        url = remote_url(self.repo, self.remote)
        here = origin(url)
        service = "git-receive-pack" if push else "git-upload-pack"
        parts = urlsplit(url)  # asked again without the token, nor any user:password@ in it
        bare = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
        where = redirect_location(f"{bare.rstrip('/')}/info/refs?service={service}")
        there = origin(where) if where else "another location (it did not say again where)"
        other = where is not None and there != here
        shown = sanitize_url(url)
        message = (
            f"git {'push' if push else 'fetch'}: {self.remote} at {here} redirected ({status}) "
            f"to {there}{', another origin' if other else ''}: not followed, "
            f"the token goes only to {here}"
        )
        hint = (
            f"if the project really moved, check the new URL is the GitLab you mean, then "
            f"point the remote at it: git remote set-url {self.remote} NEW-URL (was {shown})"
        )
        return GitError(sanitize_text(message), hint=hint)


def auth_env(url: str, token: Token | None, base: Mapping[str, str]) -> dict[str, str]:
    """``base`` plus the git config that sends ``token`` to ``url``'s host, never prompting:
    ``GIT_CONFIG_KEY_n=http.<origin>/.extraHeader``, never argv nor ``.git/config``.

    git sends ``http.<origin>.extraHeader`` to wherever a redirect of its first request
    leads (curl drops the header on the redirect itself, but git then talks to the new
    URL with it), so a command that carries the token never follows a redirect:
    ``http.followRedirects=false``, also for the origin and for ``url`` itself (git's
    most specific ``http.<url>.*`` wins, and the command's own config is read last)."""
    env = {**base, "GIT_TERMINAL_PROMPT": "0"}
    parts = urlsplit(url)
    if token is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return env
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    basic = base64.b64encode(f"oauth2:{token.secret.reveal()}".encode()).decode("ascii")
    register_secret(basic)
    origin = f"{parts.scheme}://{host}/"
    bare = urlunsplit((parts.scheme, host, parts.path, "", ""))  # no user, query or fragment
    settings = [
        (f"http.{origin}.extraHeader", f"Authorization: Basic {basic}"),
        ("http.followRedirects", "false"),
        (f"http.{origin}.followRedirects", "false"),
        (f"http.{bare}.followRedirects", "false"),
    ]
    index = int(env.get("GIT_CONFIG_COUNT", "0") or "0")
    for key, value in settings:
        env[f"GIT_CONFIG_KEY_{index}"], env[f"GIT_CONFIG_VALUE_{index}"] = key, value
        index += 1
    env["GIT_CONFIG_COUNT"] = str(index)
    return env
