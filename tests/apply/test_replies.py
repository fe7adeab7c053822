"""Replies drafted, notes recorded, hints for what was not merged: pure, no git (but the
one test that pushes to prove the note stays home)."""

from __future__ import annotations

import email
import email.policy
import os
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from gitrepo import Repo, run_git
from send_mergereq.apply import advice, replies
from send_mergereq.apply.emails import headers_of
from send_mergereq.apply.notes import NOTES_REF, note_text, parse_note, record, recorded
from send_mergereq.apply.outcome import ApplyResult, PullOutcome, Result
from send_mergereq.apply.pulls import MailHeaders, PullRequest
from send_mergereq.checks.finding import Finding, Severity, TagStatus, TagVerification
from send_mergereq.run.push import push_branch

MAIL = MailHeaders(
    message_id="<pull-net@sub.example.org>",
    subject="[PULL 0/3] net queue",
    sender="Jérôme Sous-Mainteneur <jerome@example.org>",
    to="Max Maintainer <max@example.org>",
    cc="qemu-devel@nongnu.org, Ana <ana@example.org>",
    date="Tue, 01 Dec 2026 10:00:00 +0000",
    references="<cover@sub.example.org>",
)
PULL = PullRequest("https://gitlab.com/j/qemu.git", "pull-net", "1" * 40, "2" * 40, "x", MAIL)
CTX = replies.Context("staging", "master", "Max Maintainer <max@example.org>",
                      datetime(2026, 12, 2, 9, 0, tzinfo=UTC))  # fmt: skip


def parsed(message: EmailMessage) -> EmailMessage:
    """The draft as a mail client reads the mbox written for it."""
    data = replies.mbox_bytes(message)
    first, _, rest = data.partition(b"\n")
    assert first.startswith(b"From ")
    read = email.message_from_bytes(rest, policy=email.policy.default)
    assert isinstance(read, EmailMessage)
    return read


def test_an_applied_reply_is_threaded_and_encoded() -> None:
    outcome = PullOutcome(PULL, Result.APPLIED, commits=3, merge_sha="abcdef0123456789" * 2)
    reply = parsed(replies.draft(outcome, CTX))
    assert reply["In-Reply-To"] == "<pull-net@sub.example.org>"
    assert str(reply["References"]) == "<cover@sub.example.org> <pull-net@sub.example.org>"
    assert reply["Subject"] == "Re: [PULL 0/3] net queue"
    assert reply["To"] == MAIL.sender and reply["Cc"] == MAIL.cc
    assert reply["From"] == "Max Maintainer <max@example.org>"
    assert reply["Date"] == "Wed, 02 Dec 2026 09:00:00 +0000"
    assert str(reply["Message-Id"]).endswith("@example.org>")
    assert reply.get_content() == (
        "Hi Jérôme,\n\nApplied, thanks: tag 'pull-net' (3 commits) is merged into staging as "
        "abcdef012345.\n\n-- \nMax Maintainer\n"
    )
    raw = replies.mbox_bytes(replies.draft(outcome, CTX))
    assert b"To: =?utf-8?" in raw  # the name encoded as RFC 2047 says, not raw UTF-8


def test_a_refused_reply_says_each_finding_and_what_to_do() -> None:
    findings = (
        Finding("utf8", Severity.ERROR, "3" * 40, "the message is not valid UTF-8",
                "ask the submaintainer to reword it as UTF-8"),
        Finding("signoff", Severity.WARNING, "4" * 40, "a warning, not a reason"),
        Finding("signed-tags", Severity.ERROR, "5" * 40, "a finding on the merge", "redo"),
    )  # fmt: skip
    subjects = {"3" * 40: "net: fix it", "5" * 40: advice.UNWRITTEN}
    outcome = PullOutcome(PULL, Result.REFUSED, findings=findings, subjects=subjects)
    body = parsed(replies.draft(outcome, CTX)).get_content()
    assert "I did not apply tag 'pull-net': nothing of it was merged into staging." in body
    assert f'- commit {"3" * 12} ("net: fix it"): the message is not valid UTF-8\n' in body
    assert "  What to do: Please reword it as UTF-8\n" in body
    assert "a warning, not a reason" not in body
    assert "- a finding on the merge\n" in body  # the would-be merge's id is never named
    assert "5" * 12 not in body


def test_a_conflict_reply_names_the_files() -> None:
    outcome = PullOutcome(PULL, Result.CONFLICT, conflicts=("net/a.c", "net/b\x1b[2J.c"))
    body = parsed(replies.draft(outcome, CTX)).get_content()
    assert "  net/a.c\n  net/b\\x1b[2J.c\n" in body  # untrusted names escaped


def test_hostile_headers_never_break_the_draft() -> None:
    hostile = MailHeaders(message_id="not an id", subject="Re: x", sender="<<<@>>>", cc=",,,")
    pull = PullRequest("u", "t", "", "", "s", hostile)
    reply = parsed(replies.draft(PullOutcome(pull, Result.APPLIED, merge_sha="a" * 40), CTX))
    assert reply["In-Reply-To"] is None and reply["References"] is None
    assert reply["Subject"] == "Re: x"  # not "Re: Re: x"
    assert "Hi " in reply.get_content()


def test_templates_fill_in_and_leave_unknown_placeholders() -> None:
    templates = replies.Templates(applied="${first}: ${tag} ${merge} $$5 ${odd}\n")
    ctx = replies.Context(CTX.branch, CTX.target, CTX.me, CTX.now, templates)
    outcome = PullOutcome(PULL, Result.APPLIED, merge_sha="b" * 40)
    assert parsed(replies.draft(outcome, ctx)).get_content() == (
        f"Jérôme: pull-net {'b' * 12} $5 ${{odd}}\n"
    )


@pytest.mark.parametrize(
    ("result", "wanted"),
    [(Result.APPLIED, True), (Result.REFUSED, True), (Result.CONFLICT, True),
     (Result.FETCH_FAILED, True), (Result.SKIPPED, False), (Result.ALREADY_APPLIED, False)],
)  # fmt: skip
def test_which_pull_requests_get_a_reply(result: Result, wanted: bool) -> None:
    assert replies.wants_reply(PullOutcome(PULL, result)) is wanted
    by_url = PullRequest("u", "t", "", "", "--url u --tag t")
    assert replies.wants_reply(PullOutcome(by_url, result)) is False


def test_file_names_are_safe() -> None:
    assert replies.file_name(3, "pull-net-2026") == "0003-pull-net-2026.mbox"
    assert replies.file_name(1, "../../etc/x y") == "0001-etc-x-y.mbox"


def test_the_note_round_trips_the_headers() -> None:
    text = note_text(PULL)
    assert text.startswith("send-mergereq apply: the pull request's email\n\nMessage-Id: <pull")
    assert "Pull-Tag: pull-net\n" in text
    assert parse_note(text) == MAIL
    assert parse_note("someone else's note\n") is None


def test_the_unsigned_tag_hint_says_nothing_was_merged() -> None:
    found = Finding("signed-tags", Severity.ERROR, "6" * 40,
                    "tag 'pull-x' is an annotated tag without a signature",
                    "ask the submaintainer to sign it, then redo the merge from the tag",
                    kind="unsigned")  # fmt: skip
    hint = advice.not_merged(found).hint
    assert hint.startswith("nothing was merged: ask the submaintainer to sign the tag ")
    assert "'git tag -s -f pull-x <commit>'" in hint and "redo" not in hint
    other = Finding("signed-tags", Severity.ERROR, "6" * 40, "m", "import the key", kind="x")
    assert advice.not_merged(other).hint == "nothing was merged: import the key"


def test_an_uncertified_key_is_noticed() -> None:
    good = {b"t": TagVerification(TagStatus.GOOD, "ABCD")}
    said = "gpg: Good signature\ngpg: WARNING: This key is not certified with a trusted signature!"
    (notice,) = advice.notices(said, good)
    assert "'gpg --lsign-key ABCD'" in notice
    assert advice.notices("gpg: Good signature\n", good) == ()


def test_the_note_is_recorded_and_never_pushed(
    make_repo: Callable[[str], Repo], tmp_path: Path
) -> None:
    """Even with a push refspec for notes in the config: apply's push is one explicit
    SHA:refs/heads/BRANCH refspec."""
    repo = make_repo("notes")
    head = repo.head()
    record(repo.path, head, PULL)
    assert recorded(repo.path, head) == MAIL
    bare = tmp_path / "remote.git"
    run_git(tmp_path, "init", "-q", "--bare", str(bare))
    repo.git("remote", "add", "origin", str(bare))
    repo.git("config", "remote.origin.push", "refs/notes/*:refs/notes/*")
    push_branch(repo.path, remote="origin", branch="staging", sha=head, env=dict(os.environ))
    refs = run_git(bare, "for-each-ref", "--format=%(refname)")
    assert refs == "refs/heads/staging"
    assert repo.git("for-each-ref", "--format=%(refname)", "refs/notes") == NOTES_REF


@pytest.mark.parametrize(
    "sender",
    [
        "=8:\\Q@=;DHSwjYb\tS-=?rbDxofb?c",  # the email package's parser: AttributeError
        "éT??Llt.:guk\x00YU\\Svtoldjw?V",
        '"unterminated <sue@example.org>',
        "=?utf-8?q?J=C3=A9r=C3=B4me?= <jerome@example.org>",
    ],
)
def test_hostile_from_headers_are_read_and_replied_to(sender: str) -> None:
    raw = f"From: {sender}\nTo: {sender}\nCc: {sender}\nSubject: x\n\nbody\n".encode()
    headers = headers_of(raw)
    pull = PullRequest("u", "t", "", "", "s", headers)
    reply = parsed(replies.draft(PullOutcome(pull, Result.APPLIED, merge_sha="a" * 40), CTX))
    assert reply["Subject"] == "Re: x"
    if sender.startswith("=?utf-8?"):
        assert headers.sender == "Jérôme <jerome@example.org>" == reply["To"]


def test_the_senders_words_in_the_body_are_escaped() -> None:
    hostile = MailHeaders(message_id="<a@b>", subject="x", sender="Eve\x1b[2J <eve@example.org>")
    pull = PullRequest("u", "t", "", "", "s", hostile)
    body = parsed(replies.draft(PullOutcome(pull, Result.APPLIED, merge_sha="a" * 40), CTX))
    text = body.get_content()
    assert text.startswith("Hi Eve\\x1b") and "\x1b" not in text


@pytest.mark.parametrize(
    ("results", "code"),
    [
        ((Result.APPLIED, Result.ALREADY_APPLIED, Result.SKIPPED), 0),
        ((Result.FETCH_FAILED, Result.CONFLICT), 8),
        ((Result.CONFLICT, Result.FETCH_FAILED, Result.REFUSED), 3),
        ((Result.FETCH_FAILED, Result.APPLIED), 6),
    ],
)
def test_the_exit_code_says_a_refusal_first(results: tuple[Result, ...], code: int) -> None:
    done = ApplyResult("staging", "master", None, None,
                       tuple(PullOutcome(PULL, r) for r in results), dry_run=False)  # fmt: skip
    assert int(done.exit_code) == code
