"""The merge request's title and description, from what the branch merges: pure, no I/O.

The branch's first-parent line is what the merge maintainer did: each merge of a
pull request (its tag name, signer and subject, from the merge's ``mergetag``
header) and each commit applied directly. Commits that came in with a pull
request are that pull request's business and are not listed one by one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from send_mergereq.checks.tags import parse_tag, tag_object
from send_mergereq.history import RawCommit

MAX_TITLE_TAGS = 3
FOOTER = "Opened by send-mergereq; the list above is refreshed on every run."


@dataclass(frozen=True)
class PullRequest:
    tag: str  # the tag name, or the merge's subject when it merged no tag
    signer: str  # the tagger's name and address, "" when unknown
    subject: str  # the tag message's first line (the merge's subject for an untagged merge)
    commit: str  # the merge commit
    signed: bool


@dataclass(frozen=True)
class Direct:
    commit: str
    subject: str


@dataclass(frozen=True)
class Summary:
    pulls: tuple[PullRequest, ...]
    direct: tuple[Direct, ...]


def summarize(commits: Iterable[RawCommit], head: str) -> Summary:
    """Walk ``head``'s first parents through ``commits`` (the range), oldest first."""
    by_sha = {c.sha: c for c in commits}
    line: list[RawCommit] = []
    sha: str | None = head
    while sha in by_sha:
        commit = by_sha[sha]
        line.append(commit)
        sha = commit.parents[0] if commit.parents else None
    pulls: list[PullRequest] = []
    direct: list[Direct] = []
    for commit in reversed(line):
        if commit.is_merge:
            pulls.append(_pull_request(commit))
        else:
            direct.append(Direct(commit.sha, commit.subject))
    return Summary(tuple(pulls), tuple(direct))


def _pull_request(merge: RawCommit) -> PullRequest:
    if not merge.mergetags:
        return PullRequest(merge.subject, "", merge.subject, merge.sha, signed=False)
    tag = tag_object(merge.mergetags[0])
    header = parse_tag(tag)
    head, _, message = tag.partition(b"\n\n")
    tagger = next(
        (ln[len(b"tagger ") :] for ln in head.split(b"\n") if ln.startswith(b"tagger ")), b""
    )
    subject = message.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip()
    return PullRequest(
        header.name or merge.subject, _ident(tagger), subject, merge.sha, header.signed
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
    who = f" signed by {_md(pull.signer)}" if pull.signer and pull.signed else ""
    unsigned = "" if pull.signed else " (not a signed tag)"
    return f"- **{_md(pull.tag)}**{who}{unsigned}: {_md(pull.subject)} (`{pull.commit[:12]}`)"


def _md(text: str) -> str:
    """``text`` safe inside Markdown: no HTML tags (an address in <> would vanish)."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
