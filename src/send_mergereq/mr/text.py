"""The merge request's text: what a person wrote is kept, only the generated part moves. Pure.

The generated list of pull requests lives between two HTML comments (invisible in
GitLab's rendering) in the description; a plain run refreshes only that part and
leaves the text around it, and the title, as they are. The ``--edit`` buffer reads
like ``git commit``'s: the first line is the title, ``#`` lines are ignored.
"""

from __future__ import annotations

BEGIN = "<!-- send-mergereq:begin -->"
END = "<!-- send-mergereq:end -->"

EDIT_HELP = """\
# Edit the merge request of {branch} into {target}.
# The first line is the title; after a blank line, the description.
# Lines starting with '#' are ignored; an empty title aborts.
# Keep the {begin} ... {end} lines: send-mergereq refreshes
# the list of pull requests between them on every run, and only that part.
"""


def wrap(generated: str) -> str:
    """The generated text between the markers."""
    return f"{BEGIN}\n{generated.strip(chr(10))}\n{END}"


def splice(current: str, generated: str) -> str:
    """``current`` with the part between the markers replaced by ``generated``; text
    outside them is kept. Without markers (a description written by hand, or by an older
    version), the generated part is added after the text."""
    start = current.find(BEGIN)
    end = current.find(END, start + len(BEGIN)) if start >= 0 else -1
    if start >= 0 and end >= 0:
        return current[:start] + wrap(generated) + current[end + len(END) :]
    if not current.strip():
        return wrap(generated)
    return current.rstrip() + "\n\n" + wrap(generated)


def edit_buffer(title: str, description: str, *, branch: str, target: str) -> str:
    """What ``--edit`` opens: title, blank line, description, then the help as comments."""
    help_text = EDIT_HELP.format(branch=branch, target=target, begin=BEGIN, end=END)
    return f"{title}\n\n{description}\n\n{help_text}"


def parse_edited(text: str) -> tuple[str, str]:
    """``(title, description)`` from an edited buffer: ``#`` lines dropped, the first
    non-empty line is the title ("" when there is none), the rest the description."""
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return "", ""
    return lines[0].strip(), "\n".join(lines[1:]).strip("\n")
