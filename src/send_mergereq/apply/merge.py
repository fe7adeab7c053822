"""The merge commit ``git merge --no-ff TAG`` (``git pull URL tag TAG``) would write, as
bytes: the ``mergetag`` header holding the tag object, the message git's
``fmt-merge-msg`` writes, cleaned up as ``git merge --no-edit`` does. Pure.
"""

from __future__ import annotations

import hashlib

from send_mergereq.checks.tags import SIGNATURE_MARKERS


def display_url(url: str) -> str:
    """The URL as ``git fetch`` notes it for the merge message: no trailing ``/`` or ``.git``."""
    url = url.rstrip("/")
    url = url.removesuffix(".git")
    return url.rstrip("/")


def tag_message(tag: bytes) -> str:
    """The tag's own message: after its headers, before its signature."""
    body = tag.partition(b"\n\n")[2]
    kept = []
    for line in body.split(b"\n"):
        if line.startswith(SIGNATURE_MARKERS):
            break
        kept.append(line)
    return b"\n".join(kept).decode("utf-8", errors="replace")


def merge_message(tag_name: str, url: str, branch: str, tag: bytes, suppress: bool) -> str:
    """``Merge tag 'TAG' of URL into BRANCH``, then the tag's message (``suppress``: no
    ``into BRANCH``, as ``merge.suppressDest`` says for ``master``)."""
    into = "" if suppress else f" into {branch}"
    title = f"Merge tag '{tag_name}' of {display_url(url)}{into}"
    return stripspace(f"{title}\n\n{tag_message(tag)}")


def stripspace(text: str) -> str:
    """git's ``--cleanup=strip``: comment lines out, trailing blanks off each line, runs of
    blank lines as one, none at either end, a final newline."""
    lines = [line.rstrip() for line in text.split("\n") if not line.startswith("#")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n" if out else ""


def mergetag_header(tag: bytes) -> bytes:
    """The ``mergetag`` header carrying ``tag`` (continuation lines start with a space)."""
    return b"mergetag " + tag.removesuffix(b"\n").replace(b"\n", b"\n ") + b"\n"


def merge_commit(
    tree: str,
    parents: tuple[str, str],
    *,
    author: bytes,
    committer: bytes,
    tag: bytes | None,
    message: str,
) -> bytes:
    """The raw merge commit (unsigned): tree, parents, author, committer, mergetag."""
    head = b"tree %s\n" % tree.encode()
    head += b"".join(b"parent %s\n" % p.encode() for p in parents)
    head += b"author " + author + b"\ncommitter " + committer + b"\n"
    if tag is not None:
        head += mergetag_header(tag)
    return head + b"\n" + message.encode("utf-8")


def add_signature(raw: bytes, signature: bytes) -> bytes:
    """``raw`` with a ``gpgsig`` header (the last header, as git writes it)."""
    head, _, message = raw.partition(b"\n\n")
    value = signature.removesuffix(b"\n").replace(b"\n", b"\n ")
    return head + b"\ngpgsig " + value + b"\n\n" + message


def object_id(raw: bytes, algorithm: str = "sha1") -> str:
    """The id git would give ``raw`` as a commit object (nothing is written)."""
    return hashlib.new(algorithm, b"commit %d\0" % len(raw) + raw).hexdigest()
