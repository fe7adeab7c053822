"""Push the checked commit with ``--force-with-lease``; the token goes through the environment.

The lease is explicit: the remote-tracking value we last saw
(``refs/remotes/REMOTE/BRANCH``), or "must not exist" for a new branch, so a
push never overwrites work we have not seen. For an HTTP(S) remote the token
reaches git only as ``GIT_CONFIG_KEY_n=http.<base>/.extraHeader`` in the
environment: never argv (which error messages print), never ``.git/config``.
SSH remotes push with the user's keys as they are.
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from send_mergereq.credentials import Secret
from send_mergereq.errors import ConfigError, GitError, register_secret
from send_mergereq.remote import sanitize_text, sanitize_url

_PUSH_TIMEOUT = 600.0
_STATUS = {" ": "fast-forward", "+": "forced", "*": "new", "=": "up-to-date"}


@dataclass(frozen=True)
class PushResult:
    """What one push did to ``refs/heads/BRANCH`` on the remote."""

    remote: str
    branch: str
    sha: str
    old_sha: str | None  # the lease: what we expected the remote to have (None: no branch)
    status: str  # new | fast-forward | forced | up-to-date

    @property
    def up_to_date(self) -> bool:
        return self.status == "up-to-date"


def git_out(repo: Path, *args: str) -> str | None:
    """stdout of a git query, or None when git says no (unset key, missing ref)."""
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    return proc.stdout.decode("utf-8", "replace").strip() if proc.returncode == 0 else None


def push_url(repo: Path, remote: str) -> str:
    """The URL ``git push REMOTE`` uses (pushurl and insteadOf applied), or a ConfigError."""
    url = git_out(repo, "remote", "get-url", "--push", "--", remote)
    if not url:
        raise ConfigError(
            f"no git remote named {remote!r} in {repo}",
            hint="add it with git remote add, or pass --remote NAME",
        )
    return url


def gitlab_branch_name(ref: str, remote: str) -> str:
    """``origin/master`` or ``refs/remotes/origin/master`` as the branch name ``master``."""
    for prefix in (f"refs/remotes/{remote}/", f"{remote}/", "refs/heads/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def refuse_unsafe_push(branch: str, target: str, *, protected: bool, project: str) -> None:
    """ConfigError before anything is pushed to the target branch or a protected branch."""
    if branch == target:
        raise ConfigError(
            f"refusing to push {branch!r}: it is the merge request's target branch",
            hint="push a staging branch and let the merge request land it in the target",
        )
    if protected:
        raise ConfigError(
            f"refusing to push {branch!r}: it is a protected branch of {project} on GitLab",
            hint="use an unprotected branch as the merge request's source (e.g. staging)",
        )


def remote_tracking_sha(repo: Path, remote: str, branch: str) -> str | None:
    """What we last saw of ``REMOTE/BRANCH`` (the lease), or None if we never saw it."""
    return git_out(repo, "rev-parse", "--verify", "--quiet", f"refs/remotes/{remote}/{branch}")


def auth_env(url: str, token: Secret | None, base: Mapping[str, str]) -> dict[str, str]:
    """``base`` plus the git config that sends ``token`` to ``url``'s host, never prompting."""
    env = {**base, "GIT_TERMINAL_PROMPT": "0"}
    parts = urlsplit(url)
    if token is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return env
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    basic = base64.b64encode(f"oauth2:{token.reveal()}".encode()).decode("ascii")
    register_secret(basic)
    index = int(env.get("GIT_CONFIG_COUNT", "0") or "0")
    env[f"GIT_CONFIG_KEY_{index}"] = f"http.{parts.scheme}://{host}/.extraHeader"
    env[f"GIT_CONFIG_VALUE_{index}"] = f"Authorization: Basic {basic}"
    env["GIT_CONFIG_COUNT"] = str(index + 1)
    return env


def push_branch(
    repo: Path,
    *,
    remote: str,
    branch: str,
    sha: str,
    token: Secret | None = None,
    expect: str | None = None,
) -> PushResult:
    """Push commit ``sha`` to ``refs/heads/BRANCH`` on ``remote`` with an explicit lease.

    ``expect`` defaults to the remote-tracking value; a rejection is a GitError
    (exit 6) carrying git's own reason and the remote's message.
    """
    lease = expect if expect is not None else remote_tracking_sha(repo, remote, branch)
    dest = f"refs/heads/{branch}"
    argv = [
        "git", "-C", str(repo), "push", "--porcelain",
        f"--force-with-lease={dest}:{lease or ''}", "--", remote, f"{sha}:{dest}",
    ]  # fmt: skip
    url = push_url(repo, remote)
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            check=False,
            env=auth_env(url, token, os.environ),
            stdin=subprocess.DEVNULL,
            timeout=_PUSH_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git push to {remote} ({sanitize_url(url)}) timed out") from None
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    flag, summary = _porcelain_status(out, dest)
    if proc.returncode != 0 or flag not in _STATUS:
        raise _rejection(remote, branch, url, summary, err)
    return PushResult(remote, branch, sha, lease or None, _STATUS[flag])


def _porcelain_status(stdout: str, dest: str) -> tuple[str, str]:
    """(flag, summary) of ``dest``'s line in ``git push --porcelain`` output."""
    for line in stdout.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and fields[1].endswith(f":{dest}"):
            return fields[0][:1], fields[2]
    return "", ""


def _rejection(remote: str, branch: str, url: str, summary: str, stderr: str) -> GitError:
    remote_says = [
        line[len("remote:") :].strip()
        for line in stderr.splitlines()
        if line.startswith("remote:") and line[len("remote:") :].strip()
    ]
    other = [ln.strip() for ln in stderr.splitlines() if ln.startswith(("fatal:", "error:"))]
    reason = summary or (other[0] if other else "git push failed")
    detail = "; ".join(remote_says)
    message = f"git push of {branch!r} to {remote} ({sanitize_url(url)}) rejected: {reason}"
    if detail:
        message += f" (remote says: {detail})"
    hint = (
        f"someone pushed to {remote}/{branch} since you last fetched: "
        f"git fetch {remote}, look at what changed, then run again"
        if "stale info" in reason or "fetch first" in reason
        else "fix what git reports above, then run again"
    )
    return GitError(sanitize_text(message), hint=hint)
