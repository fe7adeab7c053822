"""Fetching: the target's branch (the session's environment), a pull request's tag (no
remote, no prompt, only the allowed transports), the redirect git refused, and the
remote's branches that match a pattern (bisect's temporary branches).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from send_mergereq.errors import GitError
from send_mergereq.git.process import NEVER_PROMPT, Completed, environment, run


def fetch_branch(
    repo: Path, remote: str, branch: str, env: Mapping[str, str], timeout: float = 120.0
) -> Completed:
    """``git fetch REMOTE +refs/heads/BRANCH:refs/remotes/REMOTE/BRANCH``: one ref, no tags,
    no other branch; ``env`` is the session's (the token for its own GitLab)."""
    spec = f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"
    args = ("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--", remote, spec)
    return run(repo, *args, env=env, timeout=timeout)


_REDIRECT = re.compile(rb"The requested URL returned error: (30[12378])\b")


def refused_redirect(done: Completed) -> int | None:
    """The HTTP status of a redirect git did not follow (``http.followRedirects=false``:
    ``fatal: unable to access '…': The requested URL returned error: 301``), or None."""
    found = _REDIRECT.search(done.stderr) if done.returncode != 0 else None
    return int(found[1]) if found else None


_FETCH_TIMEOUT = 300.0  # seconds for one pull request's fetch


def fetch_tag(repo: Path, url: str, tag: str, into: str, *, protocols: str) -> None:
    """Fetch only ``refs/tags/TAG`` from ``url`` into the private ref ``into``: no remote
    added, no config, no FETCH_HEAD, no other tag, never a prompt, and only over the
    transports in ``protocols`` (``GIT_ALLOW_PROTOCOL``, e.g. ``https:ssh``).

    :raises GitError: with git's own reason when the fetch fails.
    """
    if url.startswith("-") or tag.startswith("-"):
        raise GitError(f"cannot fetch {tag!r} from {url!r}: not a URL and a tag name")
    refspec = f"+refs/tags/{tag}:{into}"
    done = run(
        repo,
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--no-recurse-submodules",
        "--",
        url,
        refspec,
        env=environment({**NEVER_PROMPT, "GIT_ALLOW_PROTOCOL": protocols}),
        timeout=_FETCH_TIMEOUT,
    )
    if done.returncode != 0:
        raise GitError(
            f"fetch of tag {tag!r} from {url} failed: git said: {done.whole_reason()}",
            hint=f"the tag may not be pushed yet (ask the submaintainer to 'git push {url} "
            f"tag {tag}'), or the URL is mistyped in the email (check it, or pass --url "
            "and --tag)",
        )


# -- bisect: the temporary branches on the remote -------------------------------------------


def remote_heads(
    repo: Path, remote: str, pattern: str, env: Mapping[str, str], timeout: float = 120.0
) -> dict[str, str]:
    """The branches of ``remote`` whose full name matches ``refs/heads/PATTERN`` (git's
    ``ls-remote`` tail match): branch name -> sha. ``env`` is the session's.

    :raises GitError: git fails or runs past ``timeout``.
    """
    args = ("ls-remote", "--heads", "--", remote, f"refs/heads/{pattern}")
    done = run(repo, *args, env=env, timeout=timeout)
    if done.returncode != 0:
        raise GitError(f"git ls-remote {remote} failed: {done.reason()}")
    found: dict[str, str] = {}
    for line in done.stdout.decode("utf-8", errors="replace").splitlines():
        sha, _, ref = line.partition("\t")
        if ref.startswith("refs/heads/"):
            found[ref.removeprefix("refs/heads/")] = sha
    return found
