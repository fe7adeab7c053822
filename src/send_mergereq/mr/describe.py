"""The merge request's title and description, from what the branch merges: pure, no I/O.

The branch's first-parent line is what the merge maintainer did: each merge of a
pull request (its tag name, signer and subject, from the merge's ``mergetag``
header) and each commit applied directly. Commits that came in with a pull
request are that pull request's business and are not listed one by one.

Who signed is the owner of the key the signature verifies with, as git's verification
reports it (gpg's user id of the key, or the SSH principal from the allowed signers), with
the key; the tagger (the ``tagger`` line, which anyone can write) is named too when it is
someone else: "signed by Alice (key …), tagged by Carol".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from send_mergereq.checks.finding import TagStatus, TagVerification
from send_mergereq.checks.tags import parse_tag, tag_object
from send_mergereq.history import RawCommit

MAX_TITLE_TAGS = 3
FOOTER = "Opened by send-mergereq; the list above is refreshed on every run."


@dataclass(frozen=True)
class PullRequest:
    tag: str  # the tag name, or the merge's subject when it merged no tag
    tagger: str  # the tag's ``tagger`` name and address, "" when unknown
    subject: str  # the tag message's first line (the merge's subject for an untagged merge)
    commit: str  # the merge commit
    signed: bool
    verification: TagVerification | None = None  # None when not verified

    @property
    def signer(self) -> str:
        """Who the key belongs to, as the verification says (gpg's uid, SSH principal)."""
        check = self.verification
        return (check.uid or check.signer) if check else ""


def signed_by(pull: PullRequest) -> str:
    """``who_signed`` for a pull request of the description."""
    return who_signed(pull.verification, pull.tagger)


def who_signed(check: TagVerification | None, tagger: str) -> str:
    """Who signed a tag, by key, and its tagger where that is someone else: ``signed by
    Alice <alice@example.org> (key 0123…), tagged by Carol <carol@example.org>``; for a
    signature that did not verify, the key and why; for no verification, the tagger.
    Pure: ``check`` is ``signatures.verify_tags``'s answer, ``tagger`` the ``Name <email>``
    of the tag's ``tagger`` line (anyone can write it: never "signed by" on its own)."""
    if check is None or check.status is TagStatus.UNSIGNED:
        return f"tagged by {tagger}" if tagger else ""
    key = f"key {signing_key(check)}" if signing_key(check) else ""
    signer = check.uid or check.signer
    if check.status is TagStatus.GOOD and signer:
        said = f"signed by {signer}" + (f" ({key})" if key else "")
        if tagger and not same_person(signer, tagger):
            said += f", tagged by {tagger}"
        return said
    why = _WHY.get(check.status, str(check.status).replace("-", " "))
    said = f"signed with {key or 'a key'} (not verified: {why})"
    return said + (f", tagged by {tagger}" if tagger else "")


_WHY = {TagStatus.BAD: "bad signature", TagStatus.ERROR: "verification failed"}


def signing_key(check: TagVerification) -> str:
    """The key a signature was made with: the OpenPGP fingerprint (``signer``), or for an
    SSH signature (whose ``signer`` is the principal) its SHA256 fingerprint."""
    ssh = [k for k in check.key_ids if k.startswith("SHA256:")]
    return ssh[0] if ssh else check.signer


def same_person(signer: str, tagger: str) -> bool:
    """Whether ``signer`` (a key's user id or an SSH principal) and ``tagger`` (``Name
    <email>``) name the same address (the whole text when either has none)."""
    return _address(signer) == _address(tagger)


def _address(ident: str) -> str:
    start, end = ident.rfind("<"), ident.rfind(">")
    inner = ident[start + 1 : end] if 0 <= start < end else ident
    return inner.strip().casefold()


@dataclass(frozen=True)
class Direct:
    commit: str
    subject: str


@dataclass(frozen=True)
class Summary:
    pulls: tuple[PullRequest, ...]
    direct: tuple[Direct, ...]


def summarize(
    commits: Iterable[RawCommit],
    head: str,
    verified: Mapping[bytes, TagVerification] | None = None,
) -> Summary:
    """Walk ``head``'s first parents through ``commits`` (the range), oldest first;
    ``verified``: each ``mergetag`` header value's verification (``signatures.verify_tags``)."""
    pulls: list[PullRequest] = []
    direct: list[Direct] = []
    for commit in first_parents(commits, head):
        if commit.is_merge:
            pulls.append(_pull_request(commit, verified or {}))
        else:
            direct.append(Direct(commit.sha, commit.subject))
    return Summary(tuple(pulls), tuple(direct))


def first_parents(commits: Iterable[RawCommit], head: str) -> list[RawCommit]:
    """``head``'s first-parent line through ``commits``, oldest first."""
    by_sha = {c.sha: c for c in commits}
    line: list[RawCommit] = []
    sha: str | None = head
    while sha in by_sha:
        commit = by_sha[sha]
        line.append(commit)
        sha = commit.parents[0] if commit.parents else None
    return line[::-1]


def pull_tags(commits: Iterable[RawCommit], head: str) -> list[bytes]:
    """The tags (``mergetag`` header values) the pull requests on the line merged: those
    whose signatures ``summarize`` is told about."""
    return [c.mergetags[0] for c in first_parents(commits, head) if c.is_merge and c.mergetags]


def _pull_request(merge: RawCommit, verified: Mapping[bytes, TagVerification]) -> PullRequest:
    if not merge.mergetags:
        return PullRequest(merge.subject, "", merge.subject, merge.sha, signed=False)
    check = verified.get(merge.mergetags[0])
    tag = tag_object(merge.mergetags[0])
    header = parse_tag(tag)
    head, _, message = tag.partition(b"\n\n")
    tagger = next(
        (ln[len(b"tagger ") :] for ln in head.split(b"\n") if ln.startswith(b"tagger ")), b""
    )
    subject = message.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip()
    return PullRequest(
        header.name or merge.subject, _ident(tagger), subject, merge.sha, header.signed, check
    )


def _ident(raw: bytes) -> str:
    """``Name <email>`` from a ``tagger`` value (the timestamp dropped)."""
    end = raw.rfind(b">")
    return raw[: end + 1].decode("utf-8", errors="replace").strip() if end >= 0 else ""


def title(summary: Summary, branch: str) -> str:
    """``Merge staging: 2 pull requests (tag-a, tag-b), 1 commit``."""
    parts = []
    if summary.pulls:
        names = [p.tag for p in summary.pulls[:MAX_TITLE_TAGS]]
        more = len(summary.pulls) - len(names)
        listed = ", ".join(names) + (f", +{more} more" if more else "")
        parts.append(f"{_count(len(summary.pulls), 'pull request')} ({listed})")
    if summary.direct:
        parts.append(_count(len(summary.direct), "commit"))
    return f"Merge {branch}: " + (", ".join(parts) if parts else "no changes")


def description(summary: Summary, branch: str, target: str, commits: int) -> str:
    """Markdown: the pull requests, the direct commits, the range."""
    lines: list[str] = []
    if summary.pulls:
        lines += [f"Pull requests merged into `{branch}`:", ""]
        lines += [_pull_line(p) for p in summary.pulls]
        lines.append("")
    if summary.direct:
        lines += ["Commits applied directly:", ""]
        lines += [f"- `{d.commit[:12]}` {_md(d.subject)}" for d in summary.direct]
        lines.append("")
    lines.append(f"Range `{target}..{branch}`: {_count(commits, 'commit')}. {FOOTER}")
    return "\n".join(lines)


def _pull_line(pull: PullRequest) -> str:
    said = signed_by(pull) if pull.signed else ""
    who = f" {_md(said)}" if said else ""
    unsigned = "" if pull.signed else " (not a signed tag)"
    return f"- **{_md(pull.tag)}**{who}{unsigned}: {_md(pull.subject)} (`{pull.commit[:12]}`)"


def _md(text: str) -> str:
    """``text`` safe inside Markdown: no HTML tags (an address in <> would vanish)."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
