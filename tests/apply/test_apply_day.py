"""A maintainer's day with the installed ``send-mergereq apply``, on real ``git
request-pull`` emails: apply after a landing, an mbox re-run after an earlier pull
request was applied, a thread mbox, and replies drafted in each pull request's thread."""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from pulls_helpers import Submaintainer, mail, mbox, snapshot

from gitrepo import Repo
from keys import Keys, pull_request, stop_agents
from send_mergereq.apply.notes import NOTES_REF, parse_note

CLI = Path(sys.executable).parent / "send-mergereq"


def cli(repo: Repo, *args: str, email: bytes | None = None) -> tuple[int, str]:
    """The installed CLI, ``apply -C REPO --target master ARGS [EMAIL FILE]``, as the
    maintainer (the fixtures' keyring and allowed signers are in this environment)."""
    extra: list[str] = []
    if email is not None:
        path = repo.path.parent / f"day-{len(list(repo.path.parent.glob('day-*')))}.mbox"
        path.write_bytes(email)
        extra.append(str(path))
    done = subprocess.run(
        [str(CLI), "apply", "-C", str(repo.path), "--target", "master", "--allow-local",
         *args, *extra],
        capture_output=True, text=True, env=dict(os.environ), stdin=subprocess.DEVNULL,
        timeout=120, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def threaded(body: str, subject: str, msgid: str, **headers: str) -> EmailMessage:
    message = mail(body, subject)
    message["Message-Id"] = msgid
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return message


def quoted(text: str) -> str:
    return "".join(f"> {line}\n" for line in text.splitlines())


def land_as_gitlab_does(repo: Repo, branch: str = "staging") -> str:
    """What GitLab's merge of the MR writes on master: a plain merge commit, "Merge branch
    'staging' into 'master'" (no mergetag), made without touching the work tree."""
    master, tip = repo.git("rev-parse", "master"), repo.git("rev-parse", branch)
    tree = repo.git("merge-tree", "--write-tree", master, tip)
    message = f"Merge branch '{branch}' into 'master'\n\nSee merge request sue/qemu!1"
    sha = repo.git("commit-tree", tree, "-p", master, "-p", tip, "-m", message)
    repo.git("update-ref", "refs/heads/master", sha, master)
    return sha


def test_after_a_landing_apply_starts_staging_afresh_from_the_target(
    main_repo: Repo, sub: Submaintainer, keys: Keys
) -> None:
    code, out = cli(main_repo, email=mail(sub.signed_pull("one", keys.good)).as_bytes())
    assert code == 0, out
    old_staging = main_repo.git("rev-parse", "staging")
    landed = land_as_gitlab_does(main_repo)
    # the next pull request is based on the new master, GitLab's merge commit included
    sub.repo.git("pull", "-q", "--no-rebase", "origin", "master")
    email = mail(sub.signed_pull("two", keys.good, commits=2)).as_bytes()

    code, out = cli(main_repo, email=email)

    assert code == 0, out
    assert f"master contains staging ({old_staging[:12]}): it landed; staging starts afresh " \
           f"from master ({landed[:12]})" in out  # fmt: skip
    assert "applied pull-two: 2 commits" in out  # not GitLab's merge commit
    assert "without a signed tag" not in out
    assert main_repo.git("rev-parse", "staging^1") == landed
    assert "(started afresh from master)" in out
    # staging is checked out: the work tree moved from the old staging, cleanly
    assert main_repo.git("status", "--porcelain") == ""
    assert main_repo.git("rev-parse", "HEAD") == main_repo.git("rev-parse", "staging")
    assert (main_repo.path / "two.txt").read_text() == "two 1\n"
    assert (main_repo.path / "one.txt").read_text() == "one 0\n"


def test_staging_ahead_of_a_moved_target_is_built_on_and_the_target_not_counted(
    main_repo: Repo, sub: Submaintainer, keys: Keys
) -> None:
    """staging holds a merge master lacks, and master moved (another branch landed with
    GitLab's plain merge commit): apply builds on staging, and the pull request based on
    the new master adds only its own commit, not master's merge."""
    code, out = cli(main_repo, email=mail(sub.signed_pull("one", keys.good)).as_bytes())
    assert code == 0, out
    staging = main_repo.git("rev-parse", "staging")
    pull_request(main_repo.path, "docs", "master")
    landed = land_as_gitlab_does(main_repo, "pr/docs")
    sub.repo.git("pull", "-q", "--no-rebase", "origin", "master")
    email = mail(sub.signed_pull("two", keys.good)).as_bytes()

    code, out = cli(main_repo, email=email)

    assert code == 0, out
    assert "afresh" not in out
    assert "applied pull-two: 1 commit," in out
    assert main_repo.git("rev-parse", "staging^1") == staging
    assert main_repo.git("merge-base", "--is-ancestor", landed, "staging") == ""


def test_an_mbox_whose_first_pull_is_already_applied_applies_the_rest(
    main_repo: Repo, sub: Submaintainer, keys: Keys
) -> None:
    first = mail(sub.signed_pull("one", keys.good), "[PULL 1/3] one")
    code, out = cli(main_repo, email=mbox(first))
    assert code == 0, out
    second = mail(sub.signed_pull("two", keys.ssh), "[PULL 2/3] two")
    third = mail(sub.signed_pull("three", keys.good), "[PULL 3/3] three")

    code, out = cli(main_repo, email=mbox(first, second, third))

    assert code == 0, out
    assert "already applied pull-one: staging already contains" in out
    assert "applied pull-two" in out and "applied pull-three" in out
    assert "skipped" not in out.split("pull requests:")[0]
    assert "3 pull requests: 2 applied, 1 already applied, 0 refused, 0 conflict, 0 skipped" in (
        out
    )
    subjects = main_repo.git("log", "--format=%s", "--merges", "staging").splitlines()
    assert [s.split("'")[1] for s in subjects] == ["pull-three", "pull-two", "pull-one"]


def test_the_exit_code_says_a_refusal_even_after_a_conflict(
    main_repo: Repo, sub: Submaintainer, keys: Keys
) -> None:
    conflicting = mail(sub.signed_pull("one", keys.good))
    main_repo.commit("staging: its own one.txt", filename="one.txt")
    unsigned = mail(sub.signed_pull("two", None))
    code, out = cli(main_repo, "--keep-going", email=mbox(conflicting, unsigned))
    assert code == 3, out
    assert "2 pull requests: 0 applied, 0 already applied, 1 refused, 1 conflict, 0 skipped" in (
        out
    )


def test_a_thread_mbox_is_applied(main_repo: Repo, sub: Submaintainer, keys: Keys) -> None:
    """Pull requests and the replies quoting them, as a list archive or 'b4 mbox' saves
    them: the replies are passed over with one line each; a quoted block is no pull."""
    one = sub.signed_pull("one", keys.good, commits=2)
    two = sub.signed_pull("two", keys.ssh)
    thread = mbox(
        threaded(one, "[PULL 1/2] one", "<one@example.org>"),
        threaded(
            "Hi Sue,\n\nOn Mon, Sue wrote:\n" + quoted(one) + "\nLooks fine.\n",
            "Re: [PULL 1/2] one",
            "<re-one@example.org>",
            In_Reply_To="<one@example.org>",
        ),
        threaded(two, "[PULL 2/2] two", "<two@example.org>"),
        threaded(
            "Acked-by: Ana <ana@example.org>\n\n" + quoted(quoted(two)),
            "Re: Re: [PULL 2/2] two",
            "<re-two@example.org>",
        ),
        threaded(  # top-posted: the request repeated as it was, unquoted
            "Thanks!\n\n-----Original Message-----\n" + two,
            "RE: [PULL 2/2] two",
            "<top-two@example.org>",
        ),
    )

    code, out = cli(main_repo, "--json", email=thread)

    assert code == 0, out
    assert "message 2 ('Re: [PULL 1/2] one'): no 'git request-pull' block, passed over" in out
    assert "message 4 ('Re: Re: [PULL 2/2] two'): no 'git request-pull' block, passed over" in out
    assert "message 5 ('RE: [PULL 2/2] two'): repeats " in out
    assert "2 pull requests: 2 applied, 0 already applied" in out
    doc = json.loads(out[out.index("{") : out.rindex("}") + 1])
    assert len(doc["passed_over"]) == 3
    assert doc["counts"]["applied"] == 2 and doc["exit_code"] == 0
    assert [p["message_id"] for p in doc["pulls"]] == ["<one@example.org>", "<two@example.org>"]
    assert main_repo.git("log", "-1", "--format=%s", "staging").startswith("Merge tag 'pull-two'")


def test_replies_are_drafted_in_each_pull_requests_thread(
    main_repo: Repo, sub: Submaintainer, keys: Keys, tmp_path: Path
) -> None:
    conflicting = sub.signed_pull("one", keys.good)
    main_repo.commit("staging: its own one.txt", filename="one.txt")
    emails = [
        threaded(
            conflicting, "[PULL 1/3] one", "<one@sub.example.org>", Cc="qemu-devel@nongnu.org"
        ),
        threaded(
            sub.signed_pull("two", None),
            "[PULL 2/3] two",
            "<two@sub.example.org>",
            Cc="qemu-devel@nongnu.org, Ana <ana@example.org>",
        ),
        threaded(
            sub.signed_pull("three", keys.good, commits=2),
            "[PULL 3/3] three",
            "<three@sub.example.org>",
            Cc="Jérôme Relecteur <jerome@example.org>",
            References="<cover@sub.example.org>",
        ),
    ]
    drafts = tmp_path / "replies"
    state = snapshot(main_repo.path)

    code, out = cli(main_repo, "--keep-going", "--reply", str(drafts), email=mbox(*emails))

    assert code == 3, out  # a refusal is said by the exit code, over the conflict
    assert f"replies drafted (not sent) in {drafts}: 3" in out
    names = sorted(p.name for p in drafts.iterdir())
    assert names == ["0001-pull-one.mbox", "0002-pull-two.mbox", "0003-pull-three.mbox"]
    replies = {name: _read_mbox(drafts / name) for name in names}
    for name, sent in zip(names, emails, strict=True):
        reply = replies[name]
        assert reply["In-Reply-To"] == sent["Message-Id"]
        assert str(reply["References"]).split()[-1] == sent["Message-Id"]
        assert reply["Subject"] == f"Re: {sent['Subject']}"
        assert reply["To"] == "Sue Submaintainer <sue@example.org>"
        assert reply["Cc"] == sent["Cc"]
        assert reply["From"] == "Max Maintainer <max@example.org>"  # the committer identity
        assert reply["Message-Id"] and reply["Message-Id"] != sent["Message-Id"]
    conflict = replies["0001-pull-one.mbox"].get_content()
    assert "does not merge cleanly into staging" in conflict and "  one.txt\n" in conflict
    assert "note:" not in out.split("conflict pull-one")[1].splitlines()[1]
    refused = replies["0002-pull-two.mbox"].get_content()
    assert "tag 'pull-two' is an annotated tag without a signature" in refused
    assert "What to do: Please sign the tag ('git tag -s -f pull-two <commit>')" in refused
    assert "send the pull request again" in refused and "redo the merge" not in refused
    applied = replies["0003-pull-three.mbox"]
    merge = main_repo.git("rev-parse", "--short=12", "staging")
    assert f"Applied, thanks: tag 'pull-three' (2 commits) is merged into staging as {merge}." in (
        applied.get_content()
    )
    assert str(applied["References"]).split() == ["<cover@sub.example.org>",
                                                  "<three@sub.example.org>"]  # fmt: skip
    raw = (drafts / "0003-pull-three.mbox").read_bytes()
    assert b"Cc: =?utf-8?" in raw and "Jérôme".encode() not in raw.split(b"\n\n")[0]
    assert applied["Cc"] == "Jérôme Relecteur <jerome@example.org>"
    # the applied pull request's email is a note on its merge, never on a branch or tag
    note = main_repo.git("notes", "--ref", NOTES_REF, "show", "staging")
    headers = parse_note(note + "\n")
    assert headers is not None and headers.message_id == "<three@sub.example.org>"
    assert headers.subject == "[PULL 3/3] three"
    assert headers.cc == "Jérôme Relecteur <jerome@example.org>"
    after = snapshot(main_repo.path)
    assert after["refs"] != state["refs"]  # staging moved ...
    assert "refs/notes" not in after["refs"].decode()  # ... the note is under refs/notes only


def test_reply_templates_come_from_the_maintainers_git_config(
    main_repo: Repo, sub: Submaintainer, keys: Keys, tmp_path: Path
) -> None:
    template = tmp_path / "applied.txt"
    template.write_text("Merged ${tag} as ${merge}, ${first}. Cheers, ${me}\n")
    main_repo.git("config", "sendmergereq.replyApplied", str(template))
    email = threaded(sub.signed_pull("one", keys.good), "[PULL] one", "<one@example.org>")
    code, out = cli(main_repo, "--reply", str(tmp_path / "out"), email=mbox(email))
    assert code == 0, out
    reply = _read_mbox(tmp_path / "out" / "0001-pull-one.mbox")
    merge = main_repo.git("rev-parse", "--short=12", "staging")
    assert reply.get_content() == f"Merged pull-one as {merge}, Sue. Cheers, Max Maintainer\n"
    main_repo.git("config", "sendmergereq.replyApplied", str(tmp_path / "missing.txt"))
    code, out = cli(main_repo, "--reply", str(tmp_path / "out"), email=mbox(email))
    assert code == 2, out
    assert "git config sendmergereq.replyapplied: cannot read the template" in out


def test_reply_with_dry_run_is_a_usage_error(main_repo: Repo, tmp_path: Path) -> None:
    code, out = cli(main_repo, "--dry-run", "--reply", str(tmp_path), "--url", "/x", "--tag", "t")
    assert code == 2, out
    assert "--reply drafts what was done: with --dry-run nothing is" in out


def _read_mbox(path: Path) -> EmailMessage:
    data = path.read_bytes()
    assert data.startswith(b"From ")
    message = email.message_from_bytes(data.partition(b"\n")[2], policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_a_failed_fetch_gives_the_url_gits_whole_reason_and_a_hint(
    main_repo: Repo, sub: Submaintainer, keys: Keys
) -> None:
    """The tag is not pushed yet: git's every line (escaped, on one line), the URL, and
    what to do."""
    email = mail(sub.signed_pull("one", keys.good)).as_bytes()
    sub.repo.git("tag", "-d", "pull-one")
    state = snapshot(main_repo.path)
    code, out = cli(main_repo, email=email)
    assert code == 6, out
    line = next(x for x in out.splitlines() if x.startswith("  fetch-failed pull-one"))
    assert f"fetch of tag 'pull-one' from {sub.url} failed: git said: " in line
    assert "couldn't find remote ref refs/tags/pull-one" in line
    assert f"hint (pull-one): the tag may not be pushed yet (ask the submaintainer to 'git " \
           f"push {sub.url} tag pull-one'), or the URL is mistyped" in out  # fmt: skip
    assert "1 fetch failed" in out
    assert snapshot(main_repo.path) == state


def test_a_refused_pull_is_said_once_with_its_hint_and_names_no_merge(
    main_repo: Repo, sub: Submaintainer
) -> None:
    email = mail(sub.signed_pull("one", None)).as_bytes()
    code, out = cli(main_repo, email=email)
    assert code == 3, out
    said = "tag 'pull-one' is an annotated tag without a signature"
    assert out.count(said) == 1, out
    assert out.count("ask the submaintainer to sign the tag") == 1, out
    hint = (
        "hint (pull-one): nothing was merged: ask the submaintainer to sign the tag "
        "('git tag -s -f pull-one <commit>'), push it and send the pull request again"
    )
    assert hint in out
    assert "redo the merge" not in out
    assert "Merge tag" not in out  # no id of a merge commit that was never written


def test_a_key_in_the_keyring_but_not_certified_is_noted_in_the_summary(
    main_repo: Repo, sub: Submaintainer, keys: Keys, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    home = tmp_path / "gnupg"  # the session's keyring stays as it is: trust changes a copy
    shutil.copytree(keys.verify_home, home, ignore=shutil.ignore_patterns("S.*", "*.lock"))
    monkeypatch.setenv("GNUPGHOME", str(home))
    code, out = cli(main_repo, email=mail(sub.signed_pull("one", keys.good)).as_bytes())
    assert code == 0, out
    recorded = main_repo.git("log", "-1", "--format=%B", "staging")
    assert "# gpg: WARNING: This key is not certified with a trusted signature!" in recorded
    assert "    note: the signing key is in your keyring but not certified: gpg warns " \
           f"\"This key is not certified with a trusted signature!\" (recorded in the merge " \
           f"message); check its fingerprint with the submaintainer, then certify it: " \
           f"'gpg --lsign-key {keys.good.fingerprint}'" in out  # fmt: skip
    # once the maintainer trusts it, nothing to say
    ownertrust = f"{keys.good.fingerprint}:6:\n".encode()
    subprocess.run(["gpg", "--batch", "--import-ownertrust"], input=ownertrust, check=True,
                   capture_output=True, env=dict(os.environ))  # fmt: skip
    try:
        code, out = cli(main_repo, email=mail(sub.signed_pull("two", keys.good)).as_bytes())
    finally:
        stop_agents(home)
    assert code == 0, out
    assert "not certified" not in out


def test_a_hostile_url_reaches_the_terminal_escaped(main_repo: Repo, tmp_path: Path) -> None:
    hostile = str(tmp_path / "gone\x1b[2J\x1b]0;owned\x07")
    code, out = cli(main_repo, "--url", hostile, "--tag", "pull-x")
    assert code == 2, out  # a URL with control characters is refused before git runs
    assert "\x1b" not in out and "\x07" not in out
    assert "gone\\x1b[2J\\x1b]0;owned" in out


def test_a_draft_of_an_earlier_run_is_kept(
    main_repo: Repo, sub: Submaintainer, tmp_path: Path
) -> None:
    email = threaded(sub.signed_pull("one", None), "[PULL] one", "<one@example.org>")
    drafts = tmp_path / "drafts"
    for _ in range(2):
        code, out = cli(main_repo, "--reply", str(drafts), email=mbox(email))
        assert code == 3, out
    (drafts / "0001-pull-one.mbox").write_text("edited by hand\n")
    code, out = cli(main_repo, "--reply", str(drafts), email=mbox(email))
    assert code == 3, out
    assert sorted(p.name for p in drafts.iterdir()) == [
        "0001-pull-one-2.mbox", "0001-pull-one-3.mbox", "0001-pull-one.mbox",
    ]  # fmt: skip
    assert (drafts / "0001-pull-one.mbox").read_text() == "edited by hand\n"


def test_a_reply_directory_that_cannot_be_written_is_said_before_anything_is_applied(
    main_repo: Repo, sub: Submaintainer, keys: Keys, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    email = threaded(sub.signed_pull("one", keys.good), "[PULL] one", "<one@example.org>")
    state = snapshot(main_repo.path)
    code, out = cli(main_repo, "--reply", str(blocker / "replies"), email=mbox(email))
    assert code == 2, out
    assert f"--reply {blocker / 'replies'}: cannot write the replies there" in out
    assert snapshot(main_repo.path) == state


def test_a_pull_based_on_a_target_newer_than_yours_says_to_fetch_it(
    main_repo: Repo, sub: Submaintainer, keys: Keys
) -> None:
    """Landed on GitLab, but this master was not updated: the email's base is unknown
    here, and the hint says to fetch the target before blaming the submaintainer."""
    sub.repo.commit("master: landed elsewhere", filename="landed.txt")
    email = mail(sub.signed_pull("two", keys.good)).as_bytes()
    code, out = cli(main_repo, email=email)
    assert code == 3, out
    assert "is not in the history of master" in out
    assert "hint (pull-two): nothing was merged: if your master is behind" in out
    assert "fetch it ('git fetch') and rerun" in out


def test_many_messages_without_a_pull_request_are_summed_up(
    main_repo: Repo, sub: Submaintainer, keys: Keys
) -> None:
    """A list archive of one pull request among 40 other messages: a few lines, a count."""
    one = sub.signed_pull("one", keys.good)
    chatter = [mail(f"message {n}\n", subject=f"chat {n}") for n in range(40)]
    code, out = cli(main_repo, "--dry-run", email=mbox(mail(one), *chatter))
    assert code == 0, out
    assert out.count("no 'git request-pull' block, passed over") == 5
    assert "… and 35 more messages passed over" in out
    assert "would apply" in out


def test_an_mbox_of_too_many_messages_is_refused_unread(main_repo: Repo, tmp_path: Path) -> None:
    path = tmp_path / "archive.mbox"
    path.write_bytes(b"From x\nSubject: hi\n\nhi\n" * 200_000)
    started = time.monotonic()
    code, out = cli(main_repo, "--dry-run", str(path))
    assert time.monotonic() - started < 20
    assert code == 2, out
    assert f"send-mergereq: {path}: more than 10,000 messages" in out
