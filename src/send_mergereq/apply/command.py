"""``send-mergereq apply``'s I/O: read the emails, run the flow, print the outcome."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from send_mergereq import git
from send_mergereq.apply import mime_limits, transport
from send_mergereq.apply.document import to_json
from send_mergereq.apply.emails import read_pulls, split_messages
from send_mergereq.apply.flow import ApplyOptions, Result, apply_pulls, summary_lines
from send_mergereq.apply.pulls import PullRequest
from send_mergereq.checks.encodings import visible
from send_mergereq.config import Settings
from send_mergereq.errors import ConfigError
from send_mergereq.report import CheckReport, emit

_MAX_EMAIL = 64 << 20  # bytes: a pull request email is small; an mbox of them too


def read_emails(names: Sequence[str], stdin: IO[bytes]) -> list[PullRequest]:
    """Every pull request in the files (``-``: standard input), in order."""
    pulls: list[PullRequest] = []
    for name in names:
        try:
            data = stdin.read(_MAX_EMAIL + 1) if name == "-" else _read(Path(name))
        except OSError as exc:
            raise ConfigError(f"{name}: cannot read the email: {exc.strerror or exc}") from None
        if len(data) > _MAX_EMAIL:
            raise ConfigError(f"{name}: larger than {_MAX_EMAIL >> 20} MiB, not an email")
        mime_limits.check(split_messages(data), "standard input" if name == "-" else name)
        pulls += read_pulls(data, name)
    return pulls


def _read(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(_MAX_EMAIL + 1)


def apply_command(
    settings: Settings,
    emails: Sequence[str],
    *,
    url: str | None,
    tag: str | None,
    expect: str | None,
    dry_run: bool,
    keep_going: bool,
    allow_old_tag: bool = False,
    allow_local: bool = False,
    as_json: bool,
    color: bool | None,
) -> int:
    if url is not None and tag is not None:
        name = tag.removeprefix("refs/").removeprefix("tags/")
        pulls = [PullRequest(url, name, "", (expect or "").lower(), f"--url {url} --tag {tag}")]
    else:
        pulls = read_emails(emails, sys.stdin.buffer)
    for pull in pulls:
        if git.query(settings.repo, "check-ref-format", f"refs/tags/{pull.tag}") is None:
            raise ConfigError(f"{pull.source}: {pull.tag!r} is not a valid tag name")
        refused = transport.refusal(pull.url, allow_local)
        if refused is not None:  # before git runs for any of them
            raise ConfigError(f"{pull.source}: {refused[0]}", hint=refused[1])
    human = sys.stderr if as_json else sys.stdout

    def say(line: str) -> None:
        human.write(visible(line) + "\n")
        human.flush()

    def show(report: CheckReport) -> None:
        emit(report, as_json=False, color=color, stream=human)

    options = ApplyOptions(settings.branch, dry_run, keep_going, expect, allow_old_tag, allow_local)
    result = apply_pulls(settings, pulls, options, say, show)
    for line in summary_lines(result):
        say(line)
    for outcome in result.pulls:
        if outcome.result is not Result.APPLIED and outcome.hint:
            say(f"hint ({outcome.pull.tag}): {outcome.hint}")
    if as_json:
        sys.stdout.write(json.dumps(to_json(result), indent=2) + "\n")
        sys.stdout.flush()
    return int(result.exit_code)
