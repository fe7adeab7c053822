"""Objects: blobs read, commits written, two trees merged without a work tree, the
identity git would write, notes, and what ``verify-tag`` says to a person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from send_mergereq.errors import GitError
from send_mergereq.git.process import run


def blob_size(repo: Path, spec: str) -> int | None:
    """The size in bytes of the blob ``spec`` (``REV:PATH``) names, without reading it;
    None when it names no blob."""
    done = run(repo, "cat-file", "--batch-check", input=spec.encode() + b"\n")
    parts = done.stdout.split()
    if done.returncode != 0 or len(parts) != 3 or parts[1] != b"blob":
        return None
    return int(parts[2])


def read_blob(repo: Path, spec: str) -> bytes | None:
    """The blob ``spec`` (``REV:PATH``) names, or None when it names no blob."""
    done = run(repo, "cat-file", "--batch", input=spec.encode() + b"\n")
    header, _, body = done.stdout.partition(b"\n")
    parts = header.split()
    if done.returncode != 0 or len(parts) != 3 or parts[1] != b"blob":
        return None
    return body[: int(parts[2])]


def object_type(repo: Path, ref: str, env: Mapping[str, str] | None = None) -> str | None:
    """``commit``, ``tag``, ``tree`` or ``blob`` for what ``ref`` names, or None."""
    done = run(repo, "cat-file", "-t", "--end-of-options", ref, env=env)
    return done.stdout.decode().strip() if done.returncode == 0 else None


def read_object(repo: Path, kind: str, ref: str, env: Mapping[str, str] | None = None) -> bytes:
    """The raw object ``ref`` names, of type ``kind`` (``git cat-file KIND REF``)."""
    done = run(repo, "cat-file", kind, ref, env=env)
    if done.returncode != 0:
        raise GitError(f"git cat-file {kind} {ref} failed: {done.reason()}")
    return done.stdout


@dataclass(frozen=True)
class TreeMerge:
    """``git merge-tree --write-tree``'s answer: the merged tree (with conflict markers when
    not clean) and the paths that conflict."""

    tree: str
    conflicts: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.conflicts


def merge_tree(
    repo: Path, ours: str, theirs: str, env: Mapping[str, str] | None = None
) -> TreeMerge:
    """Merge two commits' trees without touching a work tree or index (git >= 2.38)."""
    done = run(
        repo, "merge-tree", "--write-tree", "-z", "--name-only", "--no-messages", ours, theirs,
        env=env,
    )  # fmt: skip
    if done.returncode not in (0, 1):
        raise GitError(f"git merge-tree failed: {done.reason()}")
    fields = done.stdout.split(b"\0")
    tree = fields[0].decode().strip()
    conflicts: list[str] = []
    if done.returncode == 1:
        for name in fields[1:]:
            if not name:
                break
            path = name.decode("utf-8", errors="replace")
            if path not in conflicts:
                conflicts.append(path)
    return TreeMerge(tree, tuple(conflicts))


def write_commit(repo: Path, raw: bytes, env: Mapping[str, str] | None = None) -> str:
    """Store ``raw`` as a commit object (``git hash-object -t commit -w``); git checks
    it is well-formed. Returns its id."""
    done = run(repo, "hash-object", "-t", "commit", "-w", "--stdin", input=raw, env=env)
    if done.returncode != 0:
        raise GitError(f"git hash-object failed: {done.reason()}")
    return done.stdout.decode().strip()


def ident(repo: Path, which: str) -> bytes:
    """``GIT_AUTHOR_IDENT`` or ``GIT_COMMITTER_IDENT`` as git would write it now."""
    done = run(repo, "var", which)
    if done.returncode != 0:
        raise GitError(f"git var {which} failed: {done.reason()}", hint="set user.name/email")
    return done.stdout.rstrip(b"\n")


def add_note(repo: Path, notes_ref: str, sha: str, text: str) -> None:
    """Attach ``text`` to commit ``sha`` as a note under ``notes_ref`` (replacing one
    there): ``git notes --ref NOTES_REF add -f -F - SHA``."""
    args = ("notes", "--ref", notes_ref, "add", "-f", "-F", "-", "--end-of-options", sha)
    done = run(repo, *args, input=text.encode("utf-8"))
    if done.returncode != 0:
        raise GitError(f"git notes add on {sha[:12]} failed: {done.reason()}")


def read_note(repo: Path, notes_ref: str, sha: str) -> str | None:
    """The note on ``sha`` under ``notes_ref``, or None when it has none."""
    done = run(repo, "notes", "--ref", notes_ref, "show", "--end-of-options", sha)
    return done.stdout.decode("utf-8", errors="replace") if done.returncode == 0 else None


def verify_tag_text(repo: Path, ref: str, timeout: float) -> str:
    """What ``git verify-tag REF`` tells a person (gpg's or ssh-keygen's words, not the
    status lines): ``git merge`` copies it into a signed tag's merge message.

    :raises GitError: it ran past ``timeout`` seconds (git and its gpg are killed).
    """
    done = run(repo, "verify-tag", "--end-of-options", ref, timeout=timeout, group=True)
    said = done.stderr.decode("utf-8", errors="replace")
    return said if said.strip() else "gpg verification failed.\n"
