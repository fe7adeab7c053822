"""The pull requests in a tested staging: the first-parent commits of ``TARGET..BRANCH``,
oldest first. A merge is one pull request (its tag from the ``mergetag`` header, else
from the merge's subject); a first-parent commit that is not a merge is an entry of its
own. Every git command goes through ``git/``; verifying the tags is the caller's
callable (``scan.signatures.verify_tags`` in a real run), so this stays testable."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from send_mergereq import git
from send_mergereq.apply.notes import NOTES_REF
from send_mergereq.checks.finding import TagStatus, TagVerification
from send_mergereq.checks.tags import parse_tag, tag_object
from send_mergereq.errors import GitError
from send_mergereq.history import RawCommit, parse_commit

# git merge's own subjects: "Merge tag 'T' of URL into B", "Merge tag 'T'", "Merge branch 'X'"
_MERGE_SUBJECT = re.compile(r"^Merge (tag|branch|remote-tracking branch) '([^']+)'(?: of (\S+))?")
MAX_FILES = 10_000  # files kept for one entry (a tree-wide pull request still fits)
MAX_STEPS = 1000  # first-parent commits of a staging (QEMU lands 10 or 20 at once)

Verifier = Callable[[Sequence[bytes]], Mapping[bytes, TagVerification]]


@dataclass(frozen=True)
class Pull:
    """One first-parent step of staging: a merged pull request, or a commit on its own.

    ``k`` is its position (1 for the oldest): the prefix of staging that ends with it.
    """

    k: int
    merge: str  # the first-parent commit: the merge, or the commit itself
    subject: str
    is_merge: bool
    tag: str = ""  # "" for a plain commit or a branch merge without a tag
    url: str = ""  # where the pull request came from (apply's note, else the merge subject)
    signer: str = ""  # who signed the tag ("" when unsigned or not verified)
    # The verdict on the tag's signature (a TagStatus value; "unsigned" for a merge without
    # a mergetag), "" when not verified.
    signature: str = ""
    commits: int = 1  # what the merge's second parent adds over its first
    files: tuple[str, ...] = ()  # changed from the first parent to ``merge``

    @property
    def label(self) -> str:
        """How to name it to a person: its tag, else its short id and subject."""
        return self.tag or f"{self.merge[:12]} ({self.subject})"

    def document(self) -> dict[str, object]:
        """Its ``--json`` entry (``triage.pulls[]``)."""
        return {
            "k": self.k,
            "tag": self.tag or None,
            "url": self.url or None,
            "signer": self.signer or None,
            "signature": self.signature or None,
            "merge": self.merge,
            "is_merge": self.is_merge,
            "subject": self.subject,
            "commits": self.commits,
            "files": list(self.files),
        }


def pulls_in(repo: Path, target: str, branch: str, verify: Verifier | None = None) -> list[Pull]:
    """The pull requests ``branch`` adds over ``target``, oldest first.

    ``verify`` checks the merges' tags in one batch (None: signers are left empty).

    :raises GitError: ``target`` or ``branch`` is not a commit, the branch is no staging
        over the target (more than ``MAX_STEPS`` steps), or git fails.
    """
    tip, base = _commit(repo, branch), _commit(repo, target)
    chain = git.first_parent_chain(repo, base, tip)
    if len(chain) > MAX_STEPS:
        raise GitError(
            f"{branch} adds {len(chain)} first-parent commits over {target}, more than the "
            f"{MAX_STEPS} a staging of pull requests has",
            hint=f"is {target} the branch {branch} was built on?",
        )
    commits = [_read(repo, sha) for sha in chain]
    tags = [c.mergetags[0] for c in commits if c.is_merge and c.mergetags]
    verdicts = verify(tags) if verify is not None and tags else {}
    unsigned = _UNSIGNED if verify is not None else None
    return [_pull(repo, k, c, verdicts, unsigned) for k, c in enumerate(commits, start=1)]


def _commit(repo: Path, ref: str) -> str:
    sha = git.resolve_commit(repo, ref)
    if sha is None:
        raise GitError(f"{ref!r} is not a commit in {repo}")
    return sha


def _read(repo: Path, sha: str) -> RawCommit:
    return parse_commit(sha, git.read_object(repo, "commit", sha))


_UNSIGNED = TagVerification(TagStatus.UNSIGNED, detail="the merge carries no mergetag")


def _pull(
    repo: Path,
    k: int,
    commit: RawCommit,
    verdicts: Mapping[bytes, TagVerification],
    unsigned: TagVerification | None,
) -> Pull:
    first = commit.parents[0] if commit.parents else None
    files = tuple(git.changed_paths(repo, first, commit.sha)[:MAX_FILES])
    if not commit.is_merge:
        return Pull(k, commit.sha, commit.subject, False, files=files)
    named = _MERGE_SUBJECT.match(commit.subject)
    tag = parse_tag(tag_object(commit.mergetags[0])).name if commit.mergetags else ""
    if not tag and named and named.group(1) == "tag":
        tag = named.group(2)
    verdict = verdicts.get(commit.mergetags[0]) if commit.mergetags else unsigned
    return Pull(
        k,
        commit.sha,
        commit.subject,
        True,
        tag=tag,
        url=_note_url(repo, commit.sha) or (named.group(3) or "" if named else ""),
        signer=signer_of(verdict),
        signature=verdict.status.value if verdict is not None else "",
        commits=git.count_commits(repo, commit.parents[1], commit.parents[0]),
        files=files,
    )


def signer_of(verdict: TagVerification | None) -> str:
    """Who signed, as a person reads it: the key's user id, else the key or principal;
    "" unless the signature is good (a bad signature names nobody)."""
    if verdict is None or verdict.status is not TagStatus.GOOD:
        return ""
    return verdict.uid or verdict.signer


def _note_url(repo: Path, merge: str) -> str:
    """The ``Pull-Url`` apply recorded on the merge (``apply/notes.py``), if any."""
    text = git.read_note(repo, NOTES_REF, merge) or ""
    for line in text.splitlines():
        name, sep, value = line.partition(": ")
        if sep and name == "Pull-Url":
            return value.strip()
    return ""
