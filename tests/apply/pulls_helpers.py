"""Pull requests as submaintainers send them: a clone, a signed tag, real ``git
request-pull`` output, mailed plain, quoted-printable, base64 or as an mbox; and a byte
for byte snapshot of everything of the maintainer's that ``apply`` must not touch."""

from __future__ import annotations

import os
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from gitrepo import Repo, run_git
from keys import GpgKey, SshKey, pull_request, sign_tag


@dataclass
class Submaintainer:
    """A clone of the maintainer's repository that publishes signed tags."""

    repo: Repo

    @property
    def url(self) -> str:
        return str(self.repo.path)

    def signed_pull(
        self, name: str, key: GpgKey | SshKey | None, *, commits: int = 1, base: str = "master"
    ) -> str:
        """Branch ``pr/<name>`` with ``commits`` commits, tagged ``pull-<name>`` (signed
        with ``key``; annotated but unsigned when None); returns the email text."""
        pull_request(self.repo.path, name, base, commits)
        tag = f"pull-{name}"
        if key is None:
            self.repo.git("tag", "-a", "-m", f"Pull request {name}", tag, f"pr/{name}")
        else:
            sign_tag(self.repo.path, tag, key, f"pr/{name}")
        return self.request_pull(base, tag)

    def request_pull(self, base: str, tag: str, url: str | None = None) -> str:
        """What ``git request-pull BASE URL TAG`` prints (it checks the URL has the tag)."""
        return run_git(self.repo.path, "request-pull", base, url or self.url, tag) + "\n"


def mail(body: str, subject: str = "[PULL] pull request", cte: str | None = None) -> EmailMessage:
    """The email a submaintainer sends: ``cte`` quoted-printable or base64, else 7/8bit."""
    message = EmailMessage()
    message["From"] = "Sue Submaintainer <sue@example.org>"
    message["To"] = "Max Maintainer <max@example.org>"
    message["Subject"] = subject
    message.set_content(body, cte=cte) if cte else message.set_content(body)
    return message


def eml(body: str, cte: str | None = None) -> bytes:
    return mail(body, cte=cte).as_bytes()


def mbox(*messages: EmailMessage) -> bytes:
    """An mbox (mboxrd) holding ``messages`` in order."""
    out = b""
    for message in messages:
        data = message.as_bytes().replace(b"\nFrom ", b"\n>From ")
        out += b"From sue@example.org Sat Jan  1 00:00:00 2022\n" + data.rstrip(b"\n") + b"\n\n"
    return out


def snapshot(repo: Path) -> dict[str, bytes]:
    """Everything of the maintainer's that apply must leave alone when it refuses: the
    work tree's files, the index, HEAD, the config and every branch and tag."""
    state: dict[str, bytes] = {}
    for root, dirs, files in os.walk(repo):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            path = Path(root, name)
            state[f"tree:{path.relative_to(repo)}"] = path.read_bytes()
    git_dir = repo / ".git"
    for name in ("index", "HEAD", "config"):
        path = git_dir / name
        state[name] = path.read_bytes() if path.exists() else b""
    refs = run_git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads",
                   "refs/tags", "refs/remotes")  # fmt: skip
    state["refs"] = refs.encode()
    return state
