"""Find the GitLab token: ``GITLAB_TOKEN``, glab's stored login, python-gitlab's config
file, ``git credential fill`` (in that order; the first that has one wins).

The token is never a flag, never stored, never printed: it lives in a ``Secret``
whose ``repr``/``str`` is ``<hidden>`` and is registered with ``errors`` so the
CLI's funnel scrubs it from anything shown. Nothing here ever prompts: git is run
with ``GIT_TERMINAL_PROMPT=0`` and an empty ``GIT_ASKPASS`` (``git.credential_fill``).
The one process started here is python-gitlab's ``helper:`` command, not git.
"""

from __future__ import annotations

import configparser
import os
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from send_mergereq import git
from send_mergereq.errors import ConfigError, register_secret
from send_mergereq.gitlab import glab_config

HIDDEN = "<hidden>"
_HELPER_PREFIX = "helper:"
_CREDENTIAL_TIMEOUT = 30.0


class Secret:
    """A value that never shows itself: ``str``/``repr``/format give ``<hidden>``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        """The value itself, for the one place that must send it (HTTP header, git env)."""
        return self._value

    def __repr__(self) -> str:
        return HIDDEN

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return HIDDEN

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class Token:
    """A token and where it came from (the source is safe to show; the secret is not)."""

    secret: Secret
    source: str
    oauth2: bool = False  # an OAuth2 access token (glab's web login): a Bearer token
    note: str = ""  # said once to the user: GITLAB_TOKEN is for another host, so not used


class MissingToken(ConfigError):
    """No source had a token for this GitLab."""


def find_token(
    gitlab_url: str,
    *,
    project: str = "",
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Token:
    """The token for ``gitlab_url`` from the first source that has one, or a ConfigError."""
    env = os.environ if env is None else env
    value = env.get("GITLAB_TOKEN", "").strip()
    elsewhere = gitlab_token_elsewhere(value, gitlab_url, env) if value else None
    if value and elsewhere is None:
        return Token(Secret(value), "GITLAB_TOKEN")
    found = token_from_glab(gitlab_url, env)
    cfg = python_gitlab_cfg(env)
    if not found:
        found = token_from_cfg(cfg, gitlab_url) if cfg else None
    if not found:
        found = token_from_git_credential(gitlab_url, project=project, env=env, cwd=cwd)
    if found and elsewhere:
        return replace(found, note=f"{elsewhere}: using {found.source}")
    if found:
        return found
    raise _missing(gitlab_url, cfg, elsewhere)


def gitlab_token_elsewhere(value: str, gitlab_url: str, env: Mapping[str, str]) -> str | None:
    """Why ``GITLAB_TOKEN`` (``value``) is not for ``gitlab_url``'s host, or None when
    nothing binds it to another: ``GITLAB_HOST`` (glab's variable for the GitLab its
    ``GITLAB_TOKEN`` is for) names another host, or (``GITLAB_HOST`` unset) glab's config
    stores this very token as its login for other hosts only. Unbound, it goes to the
    GitLab the run uses."""
    netloc = _url_key(gitlab_url)[1].lower()
    named = glab_host(env)
    if named == netloc:
        return None  # said outright: GITLAB_TOKEN is for this host
    if named:
        var = "GITLAB_HOST" if env.get("GITLAB_HOST", "").strip() else "GL_HOST"
        return f"GITLAB_TOKEN is for {named} ({var}), not for {netloc}"
    path = glab_config.config_path(env)
    hosts = glab_config.read_hosts(path) if path else None
    logins = [host for host in hosts or () if host.token == value]
    if logins and not any(host.serves(netloc) for host in logins):
        names = ", ".join(host.name for host in logins)
        return f"GITLAB_TOKEN is glab's login for {names} ({path}), not for {netloc}"
    return None


def token_from_glab(gitlab_url: str, env: Mapping[str, str]) -> Token | None:
    """The token glab stored for this GitLab's host (``glab auth login``): the entry of
    ``hosts:`` named ``host[:port]`` (or whose ``api_host`` is). ``GITLAB_HOST`` (glab's
    own variable) is honoured: it names the host whose login is used, if it is this one."""
    path = glab_config.config_path(env)
    hosts = glab_config.read_hosts(path) if path else None
    if not hosts or path is None:
        return None
    netloc = _url_key(gitlab_url)[1].lower()
    wanted = glab_host(env)
    if wanted and wanted != netloc:
        return None  # GITLAB_HOST names another GitLab: its login is not for this one
    for host in hosts:
        if host.serves(netloc) and host.token:
            return Token(Secret(host.token), f"{path} (glab, host {host.name})", host.oauth2)
    return None


def glab_host(env: Mapping[str, str]) -> str | None:
    """``GITLAB_HOST`` (or glab's ``GL_HOST``) as ``host[:port]``, lowercase; a URL or a
    bare host name."""
    raw = (env.get("GITLAB_HOST") or env.get("GL_HOST") or "").strip()
    if not raw:
        return None
    return _url_key(raw if "://" in raw else f"https://{raw}")[1].lower() or None


def python_gitlab_cfg(env: Mapping[str, str]) -> Path | None:
    """python-gitlab's config file: ``PYTHON_GITLAB_CFG``, else ``~/.python-gitlab.cfg``."""
    if env.get("PYTHON_GITLAB_CFG"):
        return Path(env["PYTHON_GITLAB_CFG"]).expanduser()
    home = env.get("HOME")
    return Path(home) / ".python-gitlab.cfg" if home else None


def token_from_cfg(path: Path, gitlab_url: str) -> Token | None:
    """``private_token`` of the section whose ``url`` is ``gitlab_url`` (else the same host)."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: cannot read python-gitlab config: {type(exc).__name__}"
        ) from None
    section = _matching_section(parser, gitlab_url)
    if section is None:
        return None
    raw = parser.get(section, "private_token", fallback="").strip()
    if raw.startswith(_HELPER_PREFIX):
        raw = _run_helper(raw[len(_HELPER_PREFIX) :], path, section)
    return Token(Secret(raw), f"{path} [{section}]") if raw else None


def _matching_section(parser: configparser.ConfigParser, gitlab_url: str) -> str | None:
    want = _url_key(gitlab_url)
    sections = [s for s in parser.sections() if s != "global" and parser.has_option(s, "url")]
    exact = [s for s in sections if _url_key(parser.get(s, "url")) == want]
    same_host = [s for s in sections if _url_key(parser.get(s, "url"))[1] == want[1]]
    default = parser.get("global", "default", fallback="")
    for candidates in (exact, same_host):
        if default in candidates:
            return default
        if candidates:
            return candidates[0]
    return None


def _url_key(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url.strip())
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return parts.scheme.lower(), netloc, parts.path.rstrip("/")


def _run_helper(command: str, path: Path, section: str) -> str:
    """python-gitlab's ``helper:`` syntax: run the command, the token is its first line."""
    argv = [os.path.expanduser(os.path.expandvars(a)) for a in shlex.split(command.strip())]
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            check=False,
            timeout=_CREDENTIAL_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(
            f"{path} [{section}]: private_token helper failed: {type(exc).__name__}"
        ) from None
    if proc.returncode != 0:
        raise ConfigError(f"{path} [{section}]: private_token helper exited with {proc.returncode}")
    lines = proc.stdout.decode("utf-8", errors="replace").splitlines()
    return lines[0].strip() if lines else ""


def token_from_git_credential(
    gitlab_url: str, *, project: str = "", env: Mapping[str, str], cwd: Path | None = None
) -> Token | None:
    """The password ``git credential fill`` has for the host; never prompts, never stores."""
    parts = urlsplit(gitlab_url)
    if not parts.hostname:
        return None
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    lines = [f"protocol={parts.scheme}", f"host={host}"]
    path = "/".join(p for p in (parts.path.strip("/"), project) if p)
    if path:
        lines.append(f"path={path}.git" if project else f"path={path}")
    request = ("\n".join(lines) + "\n\n").encode()
    answer_bytes = git.credential_fill(request, env, cwd)
    if answer_bytes is None:
        return None
    answer = dict(
        line.partition("=")[::2] for line in answer_bytes.decode("utf-8", "replace").splitlines()
    )
    password = answer.get("password", "").strip()
    return Token(Secret(password), f"git credential for {host}") if password else None


def _missing(gitlab_url: str, cfg: Path | None, elsewhere: str | None = None) -> MissingToken:
    cfg_text = f"{cfg} (no section with url = {gitlab_url})" if cfg else "no python-gitlab config"
    hint = (
        "create a personal access token with the api scope "
        f"({gitlab_url}/-/user_settings/personal_access_tokens) and export GITLAB_TOKEN, "
        "or log in with glab auth login, "
        "or add it to ~/.python-gitlab.cfg or a git credential helper"
    )
    looked = "looked in GITLAB_TOKEN, glab's config"
    if elsewhere:
        looked = f"{elsewhere}, so it is not sent there; looked in glab's config"
        host = _url_key(gitlab_url)[1]
        hint = (
            f"log in to {host} (glab auth login --hostname {host}, or a python-gitlab "
            f"section or git credential for it), or if GITLAB_TOKEN is for {host} too, "
            f"export GITLAB_HOST={host}"
        )
    return MissingToken(
        f"no GitLab token for {gitlab_url}: {looked}, {cfg_text}, and git credential fill",
        hint=hint,
    )
