"""The bare repository behind each sandbox project, driven with plain git plumbing."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

ZERO_SHA = "0" * 40
IDENTITY = ("Sandbox Maintainer", "maintainer@sandbox.invalid")

_PRE_RECEIVE = """#!/bin/sh
# Protected branches, the way GitLab guards them: no force push, no deletion.
zero=0000000000000000000000000000000000000000
while read -r old new ref; do
  case " $PROTECTED " in
    *" $ref "*)
      if [ "$new" = "$zero" ]; then
        echo "GitLab: You can only delete protected branches using the web interface."
        exit 1
      fi
      if [ "$old" != "$zero" ] && ! git merge-base --is-ancestor "$old" "$new"; then
        echo "GitLab: You are not allowed to force push code to a protected branch on this project."
        exit 1
      fi
      ;;
  esac
done
exit 0
"""


class GitFailed(RuntimeError):
    """A git command failed inside the sandbox (a bug or a broken repository)."""


def git_environment() -> dict[str, str]:
    """The environment git runs with: no inherited GIT_* state, a fixed identity."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME=IDENTITY[0],
        GIT_AUTHOR_EMAIL=IDENTITY[1],
        GIT_COMMITTER_NAME=IDENTITY[0],
        GIT_COMMITTER_EMAIL=IDENTITY[1],
        GIT_TERMINAL_PROMPT="0",
    )
    return env


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author_name: str
    author_email: str
    authored_date: str
    committer_name: str
    committer_email: str
    committed_date: str
    title: str
    message: str
    parents: tuple[str, ...] = ()


class BareRepo:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._commits: dict[str, CommitInfo] = {}
        self._paths: dict[str, tuple[str, ...]] = {}

    @classmethod
    def create(cls, path: Path, default_branch: str, protected: list[str]) -> BareRepo:
        path.mkdir(parents=True, exist_ok=True)
        repo = cls(path)
        repo.git("init", "--bare", "--quiet", f"--initial-branch={default_branch}")
        repo.git("config", "http.receivepack", "true")
        repo.git("config", "receive.hideRefs", "refs/merge-requests")
        repo.git("config", "receive.hideRefs", "refs/pipelines", "--add")
        repo.protect(protected)
        return repo

    def protect(self, branches: list[str]) -> None:
        """Install the pre-receive hook guarding ``branches``."""
        refs = " ".join(f"refs/heads/{b}" for b in branches)
        hook = self.path / "hooks" / "pre-receive"
        body = _PRE_RECEIVE.replace("#!/bin/sh\n", "")
        hook.write_text(f'#!/bin/sh\nPROTECTED="{refs}"\n{body}')
        hook.chmod(0o755)

    def git(
        self,
        *args: str,
        input: bytes | None = None,
        ok: tuple[int, ...] = (0,),
        date: float | None = None,
    ) -> str:
        env = git_environment()
        if date is not None:
            stamp = f"@{int(date)} +0000"
            env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
        proc = subprocess.run(
            ["git", "--git-dir", str(self.path), *args],
            input=input,
            capture_output=True,
            env=env,
            check=False,
        )
        if proc.returncode not in ok:
            stderr = proc.stderr.decode("utf-8", "replace").strip()
            raise GitFailed(f"git {args[0]} failed in {self.path}: {stderr}")
        return proc.stdout.decode("utf-8", "replace")

    def refs(self) -> dict[str, str]:
        out = self.git("for-each-ref", "--format=%(objectname) %(refname)")
        return {ref: sha for sha, _, ref in (line.partition(" ") for line in out.splitlines())}

    def rev_parse(self, ref: str) -> str | None:
        out = self.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", ok=(0, 1))
        return out.strip() or None

    def update_ref(self, ref: str, sha: str) -> None:
        self.git("update-ref", ref, sha)

    def delete_ref(self, ref: str) -> None:
        self.git("update-ref", "-d", ref)

    def _run(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["git", "--git-dir", str(self.path), *args],
            capture_output=True,
            env=git_environment(),
            check=False,
        )

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self._run("merge-base", "--is-ancestor", ancestor, descendant).returncode == 0

    def merge_base(self, a: str, b: str) -> str | None:
        return self.git("merge-base", a, b, ok=(0, 1)).strip() or None

    def merge_tree(self, ours: str, theirs: str) -> str | None:
        """The tree of merging ``theirs`` into ``ours``, or None on conflict."""
        proc = self._run("merge-tree", "--write-tree", ours, theirs)
        if proc.returncode == 1:
            return None
        if proc.returncode != 0:
            raise GitFailed(f"git merge-tree failed: {proc.stderr.decode('utf-8', 'replace')}")
        return proc.stdout.decode().split("\n", 1)[0].strip()

    def commit_tree(self, tree: str, parents: list[str], message: str, date: float) -> str:
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        return self.git(*args, input=message.encode(), date=date).strip()

    def merge_commit(self, ours: str, theirs: str, message: str, date: float) -> str | None:
        """A real merge commit of ``theirs`` into ``ours`` (parents in that order), or None."""
        tree = self.merge_tree(ours, theirs)
        if tree is None:
            return None
        return self.commit_tree(tree, [ours, theirs], message, date)

    def commit_file(self, parent: str, name: str, content: str, message: str, date: float) -> str:
        """A new commit on top of ``parent`` adding or replacing one top-level file."""
        blob = self.git("hash-object", "-w", "--stdin", input=content.encode()).strip()
        entries = [
            line
            for line in self.git("ls-tree", parent).splitlines()
            if line.split("\t", 1)[1] != name
        ]
        entries.append(f"100644 blob {blob}\t{name}")
        tree = self.git("mktree", input=("\n".join(entries) + "\n").encode()).strip()
        return self.commit_tree(tree, [parent], message, date)

    def initial_commit(self, name: str, content: str, message: str, date: float) -> str:
        blob = self.git("hash-object", "-w", "--stdin", input=content.encode()).strip()
        tree = self.git("mktree", input=f"100644 blob {blob}\t{name}\n".encode()).strip()
        return self.commit_tree(tree, [], message, date)

    def commit_info(self, sha: str) -> CommitInfo:
        """Author, committer and message of a commit (cached: commits never change)."""
        if sha not in self._commits:
            self._commits[sha] = self._read_commit(sha)
        return self._commits[sha]

    def _read_commit(self, sha: str) -> CommitInfo:
        fmt = "%H%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%s%x00%P%x00%B"
        fields = self.git("show", "-s", f"--format={fmt}", sha).split("\x00")
        sha, an, ae, ad, cn, ce, cd, title, parents, message = fields[:10]
        body = message.rstrip("\n") + "\n"
        return CommitInfo(sha, an, ae, ad, cn, ce, cd, title, body, tuple(parents.split()))

    def paths(self, sha: str) -> tuple[str, ...]:
        """Every file path in the tree of commit ``sha``, sorted (cached: trees never change)."""
        if sha not in self._paths:
            out = self.git("ls-tree", "-r", "-z", "--name-only", "--full-tree", sha)
            self._paths[sha] = tuple(sorted(p for p in out.split("\x00") if p))
        return self._paths[sha]
