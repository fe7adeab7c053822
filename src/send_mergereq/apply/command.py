"""``send-mergereq apply``'s I/O: read the emails, run the flow, print the outcome."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from send_mergereq import git
from send_mergereq.apply import email_file, notes, replies, transport
from send_mergereq.apply.document import to_json
from send_mergereq.apply.emails import Read, read_pulls
from send_mergereq.apply.flow import apply_pulls
from send_mergereq.apply.outcome import ApplyOptions, ApplyResult, Result, summary_lines
from send_mergereq.apply.pulls import PullRequest
from send_mergereq.config import Settings
from send_mergereq.errors import ConfigError, GitError
from send_mergereq.output import Output
from send_mergereq.report import CheckReport

_SHOWN_PASSED_OVER = 5  # lines; the rest counted in one


def read_emails(names: Sequence[str], stdin: IO[bytes]) -> Read:
    """Every pull request in the files (``-``: standard input), in order, each once (a
    reply that repeats the request unquoted is passed over); and the messages passed over.
    Each file is read within ``email_file``'s bounds before it is parsed."""
    found = Read([], [])
    seen: dict[tuple[str, str, str], str] = {}
    for name in names:
        data = email_file.read(name, stdin)
        email_file.check(data, "standard input" if name == "-" else name)
        read = read_pulls(data, name)
        found.passed_over.extend(read.passed_over)
        for pull in read.pulls:
            key = (pull.url, pull.tag, pull.head)
            if key in seen:
                found.passed_over.append(f"{pull.source}: repeats {seen[key]}, passed over")
                continue
            seen[key] = pull.source
            found.pulls.append(pull)
    return found


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
    out: Output,
    reply: Path | None = None,
) -> int:
    if reply is not None and dry_run:
        raise ConfigError(
            "--reply drafts what was done: with --dry-run nothing is",
            hint="run without --dry-run to apply and draft the replies",
        )
    templates = replies.Templates()
    if reply is not None:  # said before anything is applied, not after
        templates = _templates(settings)
        email_file.writable_dir(reply)
    passed_over: list[str] = []
    if url is not None and tag is not None:
        name = tag.removeprefix("refs/").removeprefix("tags/")
        pulls = [PullRequest(url, name, "", (expect or "").lower(), f"--url {url} --tag {tag}")]
    else:
        pulls, passed_over = read_emails(emails, sys.stdin.buffer)
    _refuse_bad_requests(settings.repo, pulls, allow_local)
    say = out.line

    def show(report: CheckReport) -> None:
        out.report(report, final=False)

    for line in passed_over[:_SHOWN_PASSED_OVER]:
        say(line)
    if len(passed_over) > _SHOWN_PASSED_OVER:
        say(f"… and {len(passed_over) - _SHOWN_PASSED_OVER:,} more messages passed over")
    options = ApplyOptions(settings.branch, dry_run, keep_going, expect, allow_old_tag, allow_local)
    result = apply_pulls(settings, pulls, options, say, show)
    if not dry_run:
        _record_emails(settings.repo, result, say)
    for line in summary_lines(result):
        say(line)
    for outcome in result.pulls:
        if outcome.result is not Result.APPLIED and outcome.hint:
            say(f"hint ({outcome.pull.tag}): {outcome.hint}")
    drafts = _write_replies(settings, result, reply, templates, say) if reply else []
    if out.as_json:
        out.document(to_json(result, passed_over=passed_over, replies=drafts))
    return int(result.exit_code)


def _refuse_bad_requests(repo: Path, pulls: Sequence[PullRequest], allow_local: bool) -> None:
    """A tag name git would not take, or a transport not allowed, before git runs for any."""
    for pull in pulls:
        if git.query(repo, "check-ref-format", f"refs/tags/{pull.tag}") is None:
            raise ConfigError(f"{pull.source}: {pull.tag!r} is not a valid tag name")
        refused = transport.refusal(pull.url, allow_local)
        if refused is not None:
            raise ConfigError(f"{pull.source}: {refused[0]}", hint=refused[1])


def _record_emails(repo: Path, result: ApplyResult, say: Callable[[str], None]) -> None:
    """Each applied pull request's email headers as a note on its merge (notes.py)."""
    for outcome in result.pulls:
        if outcome.result is Result.APPLIED and outcome.merge_sha and outcome.pull.mail:
            try:
                notes.record(repo, outcome.merge_sha, outcome.pull)
            except GitError as exc:  # the merge stands; only the thread is not recorded
                say(f"warning: {outcome.pull.tag}: the email's headers not recorded: {exc}")


def _templates(settings: Settings) -> replies.Templates:
    """The reply templates, each replaced by the file the maintainer's git config names."""
    chosen: dict[str, str] = {}
    for which, key in replies.CONFIG_KEYS.items():
        values = settings.git_config.get(key)
        if not values:
            continue
        path = Path(values[-1]).expanduser()
        try:
            chosen[which] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ConfigError(
                f"git config {key}: cannot read the template {path}: {why or exc}",
                hint=f"point it at a readable template file, or 'git config --unset {key}'",
            ) from None
    return replies.Templates(**chosen)


def _write_replies(
    settings: Settings,
    result: ApplyResult,
    directory: Path,
    templates: replies.Templates,
    say: Callable[[str], None],
) -> list[str]:
    """One mbox per pull request that came by email, in ``directory``; never sent."""
    ident = git.ident(settings.repo, "GIT_COMMITTER_IDENT").decode("utf-8", "replace")
    me = ident.rpartition(">")[0] + ">"
    now = datetime.now(UTC)
    ctx = replies.Context(result.branch, result.target, me, now, templates)
    written: list[str] = []
    for number, outcome in enumerate(result.pulls, 1):
        if not replies.wants_reply(outcome):
            continue
        data = replies.mbox_bytes(replies.draft(outcome, ctx))
        try:
            path = email_file.write_new(
                directory, replies.file_name(number, outcome.pull.tag), data
            )
        except OSError as exc:  # what was applied stands; this reply is said to be missing
            say(f"warning: {outcome.pull.tag}: reply not written: {exc.strerror or exc}")
            continue
        written.append(str(path))
    if written:
        say(f"replies drafted (not sent) in {directory}: {len(written)} ("
            "send them with 'git send-email' or your mail client after reading them)")  # fmt: skip
    else:
        say(f"no reply drafted in {directory}: no pull request came by email and was decided")
    return written
