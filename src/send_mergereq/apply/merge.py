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


def tag_message(tag: bytes) -> tuple[str, str]:
    """The tag's own message (after its headers) and its signature block (may be empty)."""
    body = tag.partition(b"\n\n")[2]
    lines = body.split(b"\n")
    for number, line in enumerate(lines):
        if line.startswith(SIGNATURE_MARKERS):
            message, signature = lines[:number], lines[number:]
            break
    else:
        message, signature = lines, []
    text = b"\n".join(message).decode("utf-8", errors="replace")
    return text, b"\n".join(signature).decode("utf-8", errors="replace")


def merge_message(
    tag_name: str, url: str, branch: str, tag: bytes | None, *, suppress: bool, verified: str
) -> str:
    """What ``git pull --no-ff --no-edit URL tag TAG`` writes (git's fmt-merge-msg):
    ``Merge tag 'TAG' of URL into BRANCH`` (``suppress``: no ``into BRANCH``, as
    ``merge.suppressDest`` says for ``master``); then the tag's message; then, for a
    signed tag, its signature and ``verified`` (what ``git verify-tag`` said of it) as
    comment lines, which ``--no-edit`` keeps."""
    into = "" if suppress else f" into {branch}"
    text = f"Merge tag '{tag_name}' of {display_url(url)}{into}\n"
    if tag is not None:
        body, signature = tag_message(tag)
        text += "\n" + _complete(body)
        if signature:
            text += "\n" + commented(_complete(signature) + _complete(verified))
    return stripspace(text)


def _complete(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def commented(text: str) -> str:
    """Every line as a comment: ``# line``, ``#`` alone for an empty one."""
    return "".join(f"# {line}\n" if line else "#\n" for line in text.splitlines())


def stripspace(text: str) -> str:
    """git's ``--cleanup=whitespace`` (what ``git merge --no-edit`` applies): trailing
    blanks off each line, runs of blank lines as one, none at either end, a final
    newline. Comment lines stay."""
    lines = [line.rstrip() for line in text.split("\n")]
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
