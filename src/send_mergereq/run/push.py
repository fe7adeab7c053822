"""Push the checked commit with ``--force-with-lease``; the token goes through the environment.

The lease is explicit: the remote-tracking value we last saw
(``refs/remotes/REMOTE/BRANCH``), or "must not exist" for a new branch, so a
push never overwrites work we have not seen. The environment comes from the
session (``gitlab.session.Session.git_env``): for an HTTP(S) remote on the GitLab
the token is for, it carries the token as ``GIT_CONFIG_KEY_n=http.<base>/.extraHeader``:
never argv (which error messages print), never ``.git/config``. SSH remotes push
with the user's keys as they are. Used by the publish phase (the source branch)
and by landing in push-only mode (the target, with a lease on the head just read).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from send_mergereq import git
from send_mergereq.errors import ConfigError, GitError, sanitize_text, sanitize_url

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
    return git.query(repo, "rev-parse", "--verify", "--quiet", f"refs/remotes/{remote}/{branch}")


def push_branch(
    repo: Path,
    *,
    remote: str,
    branch: str,
    sha: str,
    env: Mapping[str, str],
    expect: str | None = None,
    explain: Callable[[git.Completed], GitError | None] | None = None,
) -> PushResult:
    """Push commit ``sha`` to ``refs/heads/BRANCH`` on ``remote`` with an explicit lease.

    ``env`` is the session's (``Session.git_env``: the token, if any, in git's
    environment). ``expect`` defaults to the remote-tracking value; a rejection is a
    GitError (exit 6) carrying git's own reason and the remote's message, or the one
    ``explain`` gives for it (``Session.redirect_refused``: a redirect not followed).
    """
    lease = expect if expect is not None else remote_tracking_sha(repo, remote, branch)
    dest = f"refs/heads/{branch}"
    args = ["push", "--porcelain", f"--force-with-lease={dest}:{lease or ''}", "--",
            remote, f"{sha}:{dest}"]  # fmt: skip
    url = git.push_url(repo, remote) or remote
    try:
        done = git.run(repo, *args, env=env, timeout=_PUSH_TIMEOUT)
    except GitError:
        raise GitError(f"git push to {remote} ({sanitize_url(url)}) timed out") from None
    out = done.stdout.decode("utf-8", "replace")
    err = done.stderr.decode("utf-8", "replace")
    flag, summary = _porcelain_status(out, dest)
    if done.returncode != 0 or flag not in _STATUS:
        raise (explain and explain(done)) or _rejection(remote, branch, url, summary, err)
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


def delete_branch(
    repo: Path, *, remote: str, branch: str, sha: str, env: Mapping[str, str]
) -> bool:
    """Delete ``refs/heads/BRANCH`` on ``remote`` only while it still points at ``sha``
    (``--force-with-lease=REF:SHA :REF``): a branch someone moved since is left alone.
    True when it is gone (deleted now, or absent: a push cut short never made it);
    False when it points elsewhere.

    :raises GitError: git fails otherwise (the network, the remote refusing).
    """
    dest = f"refs/heads/{branch}"
    args = ["push", "--porcelain", f"--force-with-lease={dest}:{sha}", "--", remote, f":{dest}"]
    try:
        done = git.run(repo, *args, env=env, timeout=_PUSH_TIMEOUT)
    except GitError:
        raise GitError(f"deleting {branch!r} on {remote} timed out") from None
    out = done.stdout.decode("utf-8", "replace")
    err = done.stderr.decode("utf-8", "replace")
    flag, summary = _porcelain_status(out, dest)
    if done.returncode == 0 and flag in ("-", "="):
        return True
    if "stale info" in summary:  # not at ``sha``: moved by someone, or never pushed
        return branch not in git.remote_heads(repo, remote, branch, env)
    if "remote ref does not exist" in err:
        return True
    url = git.push_url(repo, remote) or remote
    raise _rejection(remote, branch, url, summary, err)
