"""A red gate's triage, end to end: three submaintainers publish signed tags on their own
sandbox project and mail ``git request-pull``; the installed ``send-mergereq apply``
merges the three into a fresh staging (recording each email on its merge); in the
``culprit`` scenario the net pull request breaks ``cross-arm64-system``. ``send-mergereq
staging --wait`` closes red and names pull-net from the job's log, ``--json`` carries it,
``--reply DIR`` drafts the reply in the thread of pull-net's email; ``status`` says the
same on a re-attach, and ``--emails`` threads a reply when apply recorded nothing."""

from __future__ import annotations

import email
import json
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from e2e_helpers import FAST, Maintainer, MakeMaintainer

from send_mergereq.sandbox import Sandbox

pytestmark = pytest.mark.e2e

PULLS = (  # tag, who, files
    ("pull-block", ("Bea Block", "bea@block.example.org"), {"block/qcow2.c": "block: fix\n"}),
    ("pull-net", ("Nils Net", "nils@net.example.org"), {"net/tap.c": "net: tidy\n"}),
    ("pull-arm", ("Alex Arm", "alex@arm.example.org"), {"hw/arm/virt.c": "arm: virt\n"}),
)


def publish_pull(who: Maintainer, sub_url: str, tag: str, person: tuple[str, str],
                 files: dict[str, str]) -> EmailMessage:  # fmt: skip
    """A submaintainer's signed tag on origin/master, pushed to their project; the email
    with ``git request-pull``'s text."""
    name, address = person
    tree = who.demo.root / f"wt-{tag}"
    who.git("worktree", "add", "-q", "-b", f"{tag}-branch", str(tree), "origin/master")
    ident = {"GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": address}
    for path, text in files.items():
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_text(text)
        who.git("-C", str(tree), "add", path)
    message = f"{tag}: a change\n\nSigned-off-by: {name} <{address}>"
    who.git("-C", str(tree), "commit", "-q", "--no-gpg-sign", f"--author={name} <{address}>",
            "-m", message, env=ident)  # fmt: skip
    who.git("-C", str(tree), "tag", "-s", "-m", f"{tag} patches", tag, env=ident)
    who.git("push", "-q", sub_url, f"{tag}-branch", tag, env=who.token_env())
    body = who.git("request-pull", "origin/master", sub_url, tag) + "\n"
    who.git("worktree", "remove", str(tree))
    who.git("branch", "-D", f"{tag}-branch")
    who.git("tag", "-d", tag)
    mail = EmailMessage()
    mail["From"] = f"{name} <{address}>"
    mail["To"] = "qemu-devel@nongnu.org"
    mail["Cc"] = "Peter Maydell <peter.maydell@example.org>"
    mail["Subject"] = f"[PULL 0/1] {tag}"
    mail["Message-Id"] = f"<{tag}@example.org>"
    mail.set_content(body)
    return mail


def staging_of_three(who: Maintainer, sandbox: Sandbox) -> tuple[list[Path], list[str]]:
    """A fresh staging of the three pull requests, applied from their emails by the CLI;
    the email files and the three merges, oldest first."""
    sub = sandbox.create_project("subs/qemu", visibility="public")
    who.git("checkout", "-q", "-B", "staging", "origin/master")
    files = []
    for tag, person, changed in PULLS:
        path = who.demo.root / f"{tag}.eml"
        path.write_bytes(publish_pull(who, sub.http_url_to_repo, tag, person, changed).as_bytes())
        files.append(path)
    rc, out, err = who.run("apply", *map(str, files))
    assert rc == 0, out + err
    merges = who.git("rev-list", "--first-parent", "--reverse", "origin/master..staging")
    return files, merges.split()


def read_mbox(path: Path) -> email.message.EmailMessage:
    raw = path.read_bytes().split(b"\n", 1)[1]  # past the mbox From line
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def test_a_red_gate_names_the_pull_request_its_log_points_at(
    maintainer: MakeMaintainer, sandbox: Sandbox
) -> None:
    who = maintainer("culprit")
    _, merges = staging_of_three(who, sandbox)
    assert len(merges) == 3
    sandbox.set_time_scale(FAST)
    replies = who.demo.root / "replies"
    (replies / "pull-net.mbox").parent.mkdir()
    (replies / "pull-net.mbox").write_text("an earlier draft, edited\n")

    rc, out, err = who.run("staging", "--wait", "--json", "--reply", str(replies),
                           "--interval", "0.2", timeout=120)  # fmt: skip

    assert rc == 1, err
    doc = json.loads(out)
    assert doc["gate"] == "closed" and doc["exit_code"] == 1
    triage = doc["triage"]
    assert [(p["tag"], p["merge"], p["commits"]) for p in triage["pulls"]] == [
        ("pull-block", merges[0], 1), ("pull-net", merges[1], 1), ("pull-arm", merges[2], 1),
    ]  # fmt: skip
    assert triage["pulls"][1]["files"] == ["net/tap.c"]
    assert triage["pulls"][1]["url"].endswith("/subs/qemu.git")
    assert triage["pulls"][1]["signer"]  # the tag's signature verified: its key's user id
    assert triage["error"] is None
    assert triage["next"].startswith("send-mergereq bisect staging --target ")
    (failed,) = doc["failed_jobs"]
    assert failed["name"] == "cross-arm64-system" and failed["basis"] == "log"
    (suspect,) = failed["suspects"]
    assert (suspect["tag"], suspect["merge"]) == ("pull-net", merges[1])
    assert any("net/tap.c" in line and "error:" in line for line in suspect["evidence"])
    # the human text (stderr under --json): after the failing job, the triage, the verdict last
    assert "likely culprits:" in err
    assert f"  cross-arm64-system: pull-net ({merges[1][:12]}): its log names its files" in err
    assert err.index("likely culprits:") < err.index("gate closed")
    # the reply: next to the earlier draft (kept), in the thread of pull-net's email
    assert (replies / "pull-net.mbox").read_text() == "an earlier draft, edited\n"
    assert triage["replies"] == [str(replies / "pull-net-2.mbox")]
    reply = read_mbox(replies / "pull-net-2.mbox")
    assert reply["In-Reply-To"] == "<pull-net@example.org>"
    assert reply["References"] == "<pull-net@example.org>"
    assert reply["To"] == "Nils Net <nils@net.example.org>"
    assert reply["Subject"] == "Re: [PULL 0/1] pull-net"
    assert reply["Cc"] == "Peter Maydell <peter.maydell@example.org>"
    body = reply.get_content()
    assert "cross-arm64-system  http" in body and "    > ../net/tap.c:" in body
    assert sorted(p.name for p in replies.iterdir()) == ["pull-net-2.mbox", "pull-net.mbox"]

    # status re-attaches (no push) and says the same on a plain stream; a third draft
    rc, out, err = who.run("status", "staging", "--interval", "0.2", "--reply", str(replies),
                           timeout=120)  # fmt: skip
    assert rc == 1, out + err
    assert f"reply drafted (not sent): {replies / 'pull-net-3.mbox'}" in out
    assert read_mbox(replies / "pull-net-3.mbox")["In-Reply-To"] == "<pull-net@example.org>"
    lines = out.splitlines()
    start = lines.index("pull requests in staging, oldest first:")
    assert lines[start + 1].startswith(f"  1. pull-block  {merges[0][:12]}  1 commit, signed by ")
    assert lines[start + 2] == "       block/qcow2.c"
    assert f"  cross-arm64-system: pull-net ({merges[1][:12]}): its log names its files" in lines
    assert any(line.startswith("next: send-mergereq bisect staging --target ") for line in lines)
    assert "gate closed" in lines[-1]


def test_without_apply_s_record_emails_thread_the_reply(
    maintainer: MakeMaintainer, sandbox: Sandbox
) -> None:
    who = maintainer("culprit", branch_pipelines=True)
    files, merges = staging_of_three(who, sandbox)
    who.git("update-ref", "-d", "refs/notes/send-mergereq")  # no record: only the emails
    sandbox.set_time_scale(FAST)
    replies = who.demo.root / "replies"
    mbox = who.demo.root / "thread.mbox"
    mbox.write_bytes(b"".join(b"From sub@example.org Sat Jan  1 00:00:00 2022\n"
                              + f.read_bytes() + b"\n" for f in files))  # fmt: skip

    rc, out, err = who.run("staging", "--wait", "--no-mr", "--reply", str(replies),
                           "--emails", str(mbox), "--interval", "0.2", timeout=120)  # fmt: skip

    assert rc == 1, out + err
    assert f"reply drafted (not sent): {replies / 'pull-net.mbox'}" in out
    reply = read_mbox(replies / "pull-net.mbox")
    assert reply["In-Reply-To"] == "<pull-net@example.org>"
    assert merges[1][:12] in reply.get_content()


def test_reply_wants_a_wait_and_emails_want_a_reply(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")
    rc, _, err = who.run("staging", "--reply", str(who.demo.root / "r"))
    assert rc == 2 and "--reply drafts replies when the gate closes" in err
    rc, _, err = who.run("staging", "--wait", "--emails", "x.mbox")
    assert rc == 2 and "--emails is read for --reply" in err
    assert not (who.demo.root / "r").exists()
    assert who.remote_sha("staging") is None  # refused before anything was sent


def test_land_on_a_red_gate_lands_nothing_and_says_the_triage(maintainer: MakeMaintainer) -> None:
    who = maintainer("culprit", branch_pipelines=True)  # the demo's staging: block, then net
    who.sandbox.set_time_scale(FAST)
    master = who.remote_sha("master")

    rc, out, err = who.run("staging", "--land", "--no-mr", "--interval", "0.2", timeout=120)

    assert rc == 1, out + err
    assert who.remote_sha("master") == master
    lines = out.splitlines()
    culprit = [line for line in lines if line.startswith("  cross-arm64-system: pull-net-")]
    assert len(culprit) == 1 and culprit[0].endswith(": its log names its files")
    net = who.git("rev-parse", "staging")  # the net pull request is the last merge
    assert f"({net[:12]})" in culprit[0]
    verdict = next(n for n, line in enumerate(lines) if "gate closed" in line)
    assert lines.index("likely culprits:") < verdict
