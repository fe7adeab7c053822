"""triage/mail.py: the email a reply answers, from apply's note or from --emails."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

from triage_helpers import pull

from gitrepo import Repo
from send_mergereq.apply import notes
from send_mergereq.apply.pulls import MailHeaders, PullRequest
from send_mergereq.triage.mail import mail_for, mail_in


def request_email(repo: Repo, tag: str, message_id: str, gone: bool = False) -> EmailMessage:
    """The email a submaintainer sends: real ``git request-pull`` output (the tag only:
    a branch ending in the same name would make it ambiguous)."""
    if not gone:
        repo.git("branch", "-q", "-D", f"pr/{tag}")
    message = EmailMessage()
    message["From"] = "Sue Submaintainer <sue@example.org>"
    message["To"] = "qemu-devel@nongnu.org"
    message["Subject"] = f"[PULL 0/1] {tag}"
    message["Message-Id"] = message_id
    message.set_content(repo.git("request-pull", "master", str(repo.path), tag) + "\n")
    return message


def mbox(*messages: EmailMessage) -> bytes:
    return b"".join(b"From sue@example.org Sat Jan  1 00:00:00 2022\n" + m.as_bytes() + b"\n"
                    for m in messages)  # fmt: skip


def test_from_the_emails_by_tag_else_none(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo()
    a = pull(repo, "pull-a", {"a.c": "a"})
    pull(repo, "pull-b", {"b.c": "b"})
    data = mbox(
        request_email(repo, "pull-a", "<a@example.org>"),
        request_email(repo, "pull-b", "<b1@example.org>"),
        request_email(repo, "pull-b", "<b2@example.org>", gone=True),  # sent again
    )
    files = [("notes.txt", b"not an email at all\n"), ("pulls.mbox", data)]
    found = mail_in(files, "pull-b")
    assert found is not None
    assert (found.message_id, found.subject) == ("<b2@example.org>", "[PULL 0/1] pull-b")
    assert mail_in(files, "pull-c") is None
    assert mail_for(repo.path, a, "pull-a", files).message_id == "<a@example.org>"  # type: ignore[union-attr]
    assert mail_for(repo.path, a, "pull-a") is None


def test_apply_record_comes_first(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo()
    a = pull(repo, "pull-a", {"a.c": "a"})
    recorded = MailHeaders(message_id="<recorded@example.org>", subject="[PULL] a")
    notes.record(repo.path, a, PullRequest("u", "pull-a", "0" * 40, "1" * 40, "x", recorded))
    files = [("pulls.mbox", mbox(request_email(repo, "pull-a", "<other@example.org>")))]
    found = mail_for(repo.path, a, "pull-a", files)
    assert found is not None and found.message_id == "<recorded@example.org>"
