"""The maintainer's second day, end to end: ``send-mergereq staging --land`` lands staging
with GitLab's own merge commit, a submaintainer sends the next pull request based on the
new master (published on their own project, fetched over HTTP), and the installed
``send-mergereq apply`` (its default target: origin/master, where the landing left it)
applies it: staging starts afresh from the target."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from e2e_helpers import FAST, MakeMaintainer

from send_mergereq.sandbox import Sandbox

pytestmark = pytest.mark.e2e


def test_after_a_landing_the_next_pull_request_is_applied(
    maintainer: MakeMaintainer, sandbox: Sandbox
) -> None:
    who = maintainer("green")
    who.sandbox.set_time_scale(FAST)
    rc, _, err = who.run("staging", "--land", "--interval", "0.2")
    assert rc == 0, err
    landed = who.remote_sha("master")
    assert landed is not None
    assert who.git("log", "-1", "--format=%s", landed).startswith(
        "Merge branch 'staging' into 'master'"
    )
    old_staging = who.git("rev-parse", "staging")
    # the landing left origin/master at GitLab's merge: apply's default target
    assert who.git("rev-parse", "origin/master") == landed

    # Nils builds on the new master (GitLab's merge commit included) in a work tree of
    # his own, signs a tag, publishes it on his project and mails 'git request-pull'
    sub = sandbox.create_project("nils/qemu", visibility="public")
    tree = who.demo.root / "nils"
    who.git("worktree", "add", "-q", "-b", "net-next-2", str(tree), "origin/master")
    (tree / "net").mkdir(exist_ok=True)
    (tree / "net" / "change-2.c").write_text("net: a second fix\n")
    nils = {"GIT_COMMITTER_NAME": "Nils Net", "GIT_COMMITTER_EMAIL": "nils@net.example.org"}
    who.git("-C", str(tree), "add", "net/change-2.c")
    signed_off = "net: a second fix\n\nSigned-off-by: Nils Net <nils@net.example.org>"
    author = "--author=Nils Net <nils@net.example.org>"
    who.git("-C", str(tree), "commit", "-q", "--no-gpg-sign", author, "-m", signed_off, env=nils)
    who.git("-C", str(tree), "tag", "-s", "-m", "net patches", "pull-net-2", env=nils)
    who.git("push", "-q", sub.http_url_to_repo, "net-next-2", "pull-net-2", env=who.token_env())
    body = who.git("request-pull", "origin/master", sub.http_url_to_repo, "pull-net-2") + "\n"
    who.git("worktree", "remove", str(tree))
    who.git("branch", "-D", "net-next-2")
    who.git("tag", "-d", "pull-net-2")
    message = EmailMessage()
    message["From"] = "Nils Net <nils@net.example.org>"
    message["Subject"] = "[PULL 0/1] net patches"
    message["Message-Id"] = "<pull-net-2@net.example.org>"
    message.set_content(body)
    email = who.demo.root / "net-2.eml"
    email.write_bytes(message.as_bytes())

    replies = who.demo.root / "replies"
    rc, out, err = who.run("apply", "--reply", str(replies), str(email))

    assert rc == 0, out + err
    said = f"origin/master contains staging ({old_staging[:12]}): it landed; staging starts"
    assert f"{said} afresh from origin/master ({landed[:12]})" in out
    assert "applied pull-net-2: 1 commit, signed by" in out
    assert who.git("rev-parse", "staging^1") == landed
    assert who.git("status", "--porcelain") == ""  # staging checked out: its work tree followed
    assert (who.repo / "net" / "change-2.c").read_text() == "net: a second fix\n"
    reply = (replies / "0001-pull-net-2.mbox").read_text()
    assert "In-Reply-To: <pull-net-2@net.example.org>" in reply
    assert "Applied, thanks: tag 'pull-net-2' (1 commit) is merged into staging as " in reply
