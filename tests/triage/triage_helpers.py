"""Helpers for the triage tests: a staging of real pull requests (signed tags merged with
``git merge --no-ff``), each touching the files a test names."""

from __future__ import annotations

from gitrepo import Repo
from keys import GpgKey, SshKey, sign_tag


def pull(
    repo: Repo,
    tag: str,
    files: dict[str, str],
    key: GpgKey | SshKey | None = None,
    *,
    commits: int = 1,
    into: str = "staging",
) -> str:
    """A submaintainer's branch off master changing ``files`` over ``commits`` commits, tagged
    ``tag`` (signed with ``key``, else annotated only), merged into ``into``; the merge."""
    repo.git("checkout", "-q", "-b", f"pr/{tag}", "master")
    for n in range(commits):
        for path, text in files.items():
            (repo.path / path).parent.mkdir(parents=True, exist_ok=True)
            (repo.path / path).write_text(f"{text} {n}\n")
            repo.git("add", path)
        repo.git("commit", "-q", "--no-gpg-sign", "-m", f"{tag}: change {n}")
    if key is None:
        repo.git("tag", "-a", "-m", f"Pull request {tag}", tag)
    else:
        sign_tag(repo.path, tag, key)
    repo.git("checkout", "-q", into)
    repo.git("merge", "-q", "--no-ff", "--no-edit", tag)
    return repo.head()
