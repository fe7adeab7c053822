"""``send-mergereq bisect`` and ``eject`` end to end: the INSTALLED CLI against the sandbox
over real HTTP with real pushes, on the flow a maintainer runs. ``apply`` merges three
signed pull requests from ``git request-pull`` emails (block, net, arm); in the
``culprit`` scenario cross-arm64-system fails whenever the tree has a ``net/`` file, so
the net pull request breaks the gate; ``bisect`` names it, drafts the reply in its
thread, and ``--eject`` rebuilds staging without it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest
from e2e_helpers import CLI, FAST, PROJECT, Maintainer, MakeMaintainer, interrupt_when, run_cli

from send_mergereq.sandbox import Sandbox

pytestmark = pytest.mark.e2e

TAGS = ("pull-block-20261125", "pull-net-20261125", "pull-arm-20261125")
ARM = ("Alex Arm", "alex@arm.example.org")


def _arm_pull_request(who: Maintainer) -> None:
    """A third submaintainer's signed tag off master, as the demo makes the other two."""
    name, email = ARM
    who.git("checkout", "-q", "-b", "arm-next", "master")
    path = who.repo / "hw" / "arm" / "virt.c"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("arm: a board fix\n")
    who.git("add", "hw/arm/virt.c")
    message = (
        f"hw/arm: fix the board\n\nA change from the arm tree.\n\nSigned-off-by: {name} <{email}>"
    )
    who.git("commit", "-q", "--no-gpg-sign", f"--author={name} <{email}>", "-m", message)
    tagger = {"GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}
    who.git("tag", "-s", "-m", "arm patches", TAGS[2], env=tagger)
    who.git("checkout", "-q", "master")


def applied_staging(who: Maintainer, sandbox: Sandbox) -> Path:
    """Three pull requests published on a submaintainers' project, mailed, and applied to
    a fresh ``staging`` by the installed ``apply``; the mbox."""
    who.git("checkout", "-q", "master")
    who.git("branch", "-D", "staging")
    _arm_pull_request(who)
    subs = sandbox.create_project("subs/qemu", visibility="public")
    who.git("push", "-q", subs.http_url_to_repo, "master", *TAGS, env=who.token_env())
    senders = {
        TAGS[0]: "Bea Block <bea@block.example.org>",
        TAGS[1]: "Nils Net <nils@net.example.org>",
        TAGS[2]: f"{ARM[0]} <{ARM[1]}>",
    }
    mbox = who.demo.root / "pulls.mbox"
    with mbox.open("wb") as out:
        for tag in TAGS:
            message = EmailMessage()
            message["From"] = senders[tag]
            message["To"] = "Max Maintainer <max@example.org>"
            message["Cc"] = "qemu-devel@nongnu.example.org"
            message["Subject"] = f"[PULL 0/2] {tag.split('-')[1]} patches"
            message["Message-Id"] = f"<{tag}@example.org>"
            message.set_content(who.git("request-pull", "master", subs.http_url_to_repo, tag))
            out.write(b"From sender Wed Nov 25 00:00:00 2026\n")
            out.write(message.as_bytes().replace(b"\nFrom ", b"\n>From ") + b"\n")
    for tag in TAGS:
        who.git("tag", "-d", tag)
    for area in ("block", "net", "arm"):
        who.git("branch", "-D", f"{area}-next")
    rc, out_text, err = who.run("apply", str(mbox))
    assert rc == 0, out_text + err
    who.git("checkout", "-q", "staging")  # the maintainer works on it
    who.git("config", "sendmergereq.bisectPipelineWait", "0.3")
    return mbox


def red_gate(who: Maintainer, *flags: str) -> str:
    """``staging --wait`` closes the gate; staging's sha."""
    who.sandbox.set_time_scale(FAST)
    rc, out, err = who.run("staging", "--wait", "--interval", "0.2", *flags)
    assert rc == 1, out + err
    return who.git("rev-parse", "staging")


def temp_branches(who: Maintainer) -> list[str]:
    listed = who.git("--git-dir", str(who.project.repo_path), "for-each-ref",
                     "--format=%(refname:short)", "refs/heads/")  # fmt: skip
    return [b for b in listed.split() if "-bisect-" in b]


def pipelines_of(who: Maintainer) -> list[object]:
    return list(who.api_project().pipelines.list(get_all=True))


def test_bisect_names_the_culprit_and_leaves_nothing_behind(
    maintainer: MakeMaintainer, sandbox: Sandbox
) -> None:
    who = maintainer("culprit")
    applied_staging(who, sandbox)
    staging = red_gate(who)
    master = who.remote_sha("master")
    before = len(pipelines_of(who))
    replies = who.demo.root / "replies"

    rc, out, err = who.run("bisect", "--json", "--reply", str(replies), "--interval", "0.2")

    assert rc == 0, out + err
    doc = json.loads(out)
    net = who.git("rev-parse", "staging~1")  # block, net, arm: the net merge is second
    assert doc["result"] == "culprit"
    assert doc["jobs"] == ["cross-arm64-system"]
    assert doc["culprit"]["tag"] == TAGS[1]
    assert doc["culprit"]["merge"] == net
    assert "Demo Submaintainers" in doc["culprit"]["signer"]
    passing, failing = (doc["culprit"]["pipelines"][k] for k in ("passing", "failing"))
    assert passing and failing and passing != failing
    by_k = {p["k"]: p for p in doc["prefixes"]}
    assert by_k[1]["jobs_result"] == "passed" and by_k[2]["jobs_result"] == "failed"
    assert by_k[3]["reused"] is True  # staging's own failed pipeline, not run again
    # every temporary branch gone; the target and staging unchanged, here and there
    assert temp_branches(who) == []
    assert sorted(doc["branches_deleted"]) == sorted(doc["branches_pushed"])
    assert who.remote_sha("master") == master
    assert who.remote_sha("staging") == staging
    assert who.git("rev-parse", "staging") == staging
    # bounded: one pipeline per prefix below staging (3), none for staging itself
    started = len(pipelines_of(who)) - before
    assert started == doc["pipelines_started"] == len(doc["branches_pushed"]) <= 3
    for pipeline in pipelines_of(who)[:started]:
        assert pipeline.status in ("canceled", "failed", "success")  # type: ignore[attr-defined]
    # the reply, in the net pull request's thread
    reply = (replies / f"{TAGS[1]}.mbox").read_text()
    assert f"In-Reply-To: <{TAGS[1]}@example.org>" in reply
    assert "To: Nils Net <nils@net.example.org>" in reply
    assert "Subject: Re: [PULL 0/2] net patches" in reply
    assert "cross-arm64-system" in reply and failing in reply and passing in reply
    assert "> ../net/change-0.c:" in reply  # the log line that names its file, quoted
    assert "Cc: qemu-devel@nongnu.example.org" in reply
    assert "culprit: pull-net-20261125" in err


def test_bisect_eject_leaves_staging_with_the_other_two_merges(
    maintainer: MakeMaintainer, sandbox: Sandbox
) -> None:
    who = maintainer("culprit")
    mbox = applied_staging(who, sandbox)
    red_gate(who)
    # no record of the emails (apply's notes gone): --emails gives them back
    who.git("update-ref", "-d", "refs/notes/send-mergereq")
    replies = who.demo.root / "replies"

    rc, out, err = who.run("bisect", "--eject", "--interval", "0.2", "--parallel", "1",
                           "--reply", str(replies), "--emails", str(mbox))  # fmt: skip

    assert rc == 0, out + err
    reply = (replies / f"{TAGS[1]}.mbox").read_text()
    assert f"In-Reply-To: <{TAGS[1]}@example.org>" in reply
    assert "round 2:" in out  # one at a time: halving over three prefixes
    merges = who.git("rev-list", "--first-parent", "master..staging").split()
    assert len(merges) == 2
    tags = []
    for merge in merges:
        raw = who.git("cat-file", "commit", merge)
        assert "\nmergetag object " in raw
        tags.append(raw.split("\n tag ", 1)[1].split("\n", 1)[0])
    assert sorted(tags) == sorted([TAGS[0], TAGS[2]])
    assert (who.repo / "hw" / "arm" / "virt.c").exists()
    assert not (who.repo / "net").exists()  # the checked-out staging followed, clean
    assert who.git("status", "--porcelain") == ""
    assert temp_branches(who) == []

    rc, out, err = who.run("staging", "--wait", "--interval", "0.2")  # send again: green
    assert rc == 0, out + err


def test_a_flaky_failure_is_not_reproduced(maintainer: MakeMaintainer, sandbox: Sandbox) -> None:
    who = maintainer("flaky")
    applied_staging(who, sandbox)
    red_gate(who)

    rc, out, err = who.run("bisect", "--json", "--interval", "0.2")

    assert rc == 9, out + err
    doc = json.loads(out)
    assert doc["result"] == "not_reproduced" and doc["jobs"] == ["check-unit"]
    assert doc["culprit"] is None and doc["rerun"]["jobs_result"] == "passed"
    assert "flaky" in err and "--retry-failed" in err
    assert temp_branches(who) == []


def test_a_target_that_fails_alone_blames_no_pull_request(
    maintainer: MakeMaintainer, sandbox: Sandbox
) -> None:
    who = maintainer("culprit")
    who.git("checkout", "-q", "master")
    who.commit("net: an old file", path="net/legacy.c")
    who.git("push", "-q", "origin", "master", env=who.token_env())
    who.git("fetch", "-q", "origin", env=who.token_env())
    applied_staging(who, sandbox)
    red_gate(who)
    from send_mergereq.sandbox.past import parse_history

    story = [{"name": "cross-arm64-system", "story": "sssssssfff"}]
    sandbox.seed_history(PROJECT, parse_history({"pipelines": 10, "jobs": story}, "test"))

    rc, out, err = who.run("bisect", "--json", "--interval", "0.2")

    assert rc == 1, out + err
    doc = json.loads(out)
    assert doc["result"] == "target" and doc["culprit"] is None
    assert "no pull request to blame" in err
    # how often it failed there lately (the job history of issue 23)
    assert "cross-arm64-system: also failing on master: " in err
    assert doc["history"]["cross-arm64-system"]["verdict"] == "broken_on_target"
    assert temp_branches(who) == []


def test_ctrl_c_in_the_middle_leaves_no_branch_behind(
    maintainer: MakeMaintainer, sandbox: Sandbox
) -> None:
    who = maintainer("culprit")
    applied_staging(who, sandbox)
    red_gate(who)
    sandbox.set_time_scale(1.0)  # the prefixes' pipelines take their (virtual) time

    run, _ = interrupt_when(
        ["bisect", "--interval", "0.2"], env=who.env(), cwd=who.repo, marker="pipeline #"
    )

    assert run.rc == 130, run.output
    assert temp_branches(who) == []
    assert all(
        p.status in ("canceled", "failed", "success")  # type: ignore[attr-defined]
        for p in pipelines_of(who)
        if "-bisect-" in p.ref
    )  # type: ignore[attr-defined]
    # a run killed outright (SIGKILL) would leave its branches: the next run removes them,
    # those it would push itself only (prefix 0 holds master); another is left, and said
    who.git("push", "-q", "origin", "master:refs/heads/staging-bisect-0", env=who.token_env())
    who.git("push", "-q", "origin", "master:refs/heads/staging-bisect-7", env=who.token_env())
    sandbox.set_time_scale(FAST)
    rc, out, err = who.run("bisect", "--interval", "0.2")
    assert rc == 0, out + err
    assert "removed 1 temporary branch an earlier bisect left: staging-bisect-0" in out
    assert "left staging-bisect-7 on origin: not a prefix of this staging" in out
    assert temp_branches(who) == ["staging-bisect-7"]


def test_sigterm_and_a_timeout_leave_no_branch_behind(
    maintainer: MakeMaintainer, sandbox: Sandbox
) -> None:
    who = maintainer("culprit")
    applied_staging(who, sandbox)
    red_gate(who)
    sandbox.set_time_scale(1.0)  # the prefixes' pipelines take their (virtual) time

    proc = subprocess.Popen(
        [str(CLI), "bisect", "--interval", "0.2"], cwd=who.repo, env=who.env(),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if "pipeline #" in line and "-bisect-" in line:
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "SIGTERM received, stopped" in err
    assert temp_branches(who) == []

    rc, out, err = who.run("bisect", "--interval", "0.2", "--timeout", "2")
    assert rc == 4, out + err
    assert temp_branches(who) == []
    assert "pushed" in out  # the clean-up's count was still said
    # under --json, one document with what was done until then (it had only the error)
    rc, out, err = who.run("bisect", "--interval", "0.2", "--timeout", "2", "--json")
    assert rc == 4, out + err
    doc = json.loads(out)
    assert doc["result"] == "timed_out" and doc["exit_code"] == 4
    assert doc["branches_pushed"] and sorted(doc["branches_deleted"]) == sorted(
        doc["branches_pushed"]
    )
    assert err.count("send-mergereq: ") == 1 and temp_branches(who) == []


def test_push_only_reuses_the_pipelines_that_exist(
    maintainer: MakeMaintainer, sandbox: Sandbox
) -> None:
    """QEMU's flow: branch pipelines, no merge request. The target's own pipeline (prefix
    0) and staging's failed one are reused; only the two prefixes between them run, each
    on the pipeline its push started."""
    who = maintainer("culprit", branch_pipelines=True)
    applied_staging(who, sandbox)
    red_gate(who, "--no-mr")
    before = len(pipelines_of(who))

    rc, out, err = who.run("bisect", "--json", "--interval", "0.2")

    assert rc == 0, out + err
    doc = json.loads(out)
    assert doc["culprit"]["tag"] == TAGS[1]
    reused = [p["k"] for p in doc["prefixes"] if p["reused"]]
    assert reused == [0, 3]
    assert len(pipelines_of(who)) - before == 2 == len(doc["branches_pushed"])
    assert "starting them through the API" not in err
    assert temp_branches(who) == []


def test_the_culprit_demo_bisects_ejects_and_lands(hermetic_env: Path) -> None:
    """``send-mergereq demo --scenario culprit``: three pull requests applied, a red gate,
    ``bisect --eject`` names the net one and rebuilds staging, sent again: green, landed."""
    rc, out, err = run_cli(
        "demo", "--scenario", "culprit", "--time-scale", "3000", "--", "--interval", "0.2",
        env=os.environ, cwd=hermetic_env, timeout=180,
    )  # fmt: skip

    assert rc == 0, out + err
    assert "3 pull requests: 3 applied" in out
    assert "gate closed: test/cross-arm64-system failed" in out
    assert "demo: running  send-mergereq bisect --eject --interval 1" in err
    assert "culprit: pull-net-20261125 (merge " in out
    assert "ejected pull-net-20261125" in out
    assert "gate open: pipeline passed" in out
    assert re.search(r"landed [0-9a-f]{12} \(merged the MR\)", out)


def test_a_gate_that_did_not_close_is_a_usage_error(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")
    rc, out, err = who.run("bisect")  # nothing sent yet: no pipeline to explain
    assert rc == 2, out + err
    assert "no open merge request and no pipeline for staging" in err
    who.sandbox.set_time_scale(FAST)
    rc, out, err = who.run("staging", "--wait", "--interval", "0.2")
    assert rc == 0, out + err

    rc, out, err = who.run("bisect", "--json")

    assert rc == 2, out + err
    assert "did not fail: nothing to bisect" in err
    assert json.loads(out)["exit_code"] == 2
    assert temp_branches(who) == []
    # the target, or a branch there is not, is named as what it is
    rc, out, err = who.run("bisect", "master")
    assert (rc, err.splitlines()[0]) == (
        2,
        "send-mergereq: master is the target: nothing to bisect",
    )
    rc, out, err = who.run("bisect", "nosuch")
    assert (rc, err.splitlines()[0]) == (2, "send-mergereq: no branch nosuch here")
    rc, out, err = who.run("bisect", "--target", "nosuch")
    assert rc == 2 and "the target 'nosuch' is not a commit here" in err.splitlines()[0]


def test_eject_by_tag_from_the_command_line(maintainer: MakeMaintainer, sandbox: Sandbox) -> None:
    who = maintainer("culprit")
    applied_staging(who, sandbox)
    old = who.git("rev-parse", "staging")
    (who.repo / "README").write_text("edited\n")  # staging is checked out: a dirty tree

    rc, out, err = who.run("eject", TAGS[1])
    assert rc == 2, out + err
    assert err.startswith("send-mergereq: staging is checked out in ")
    assert who.git("rev-parse", "staging") == old
    # bisect --eject asks first, before a single pipeline (it ran the whole bisection)
    rc, out, err = who.run("bisect", "--eject", "--interval", "0.2")
    assert rc == 2 and err.startswith("send-mergereq: staging is checked out in "), out + err
    assert "bisecting" not in err and temp_branches(who) == []
    who.git("checkout", "--", "README")

    rc, out, err = who.run("eject", TAGS[1], "staging", "--json")

    assert rc == 0, out + err
    doc = json.loads(out)
    assert doc["old"] == old and doc["new"] == who.git("rev-parse", "staging") != old
    assert [e["tag"] for e in doc["ejected"]] == [TAGS[1]]
    assert [k["tag"] for k in doc["kept"]] == [TAGS[0], TAGS[2]] and doc["left_out"] == []
    assert who.remote_sha("staging") is None  # nothing pushed
    assert who.git("status", "--porcelain") == ""


def test_a_target_moved_since_staging_was_built_is_refused_not_called_flaky(
    maintainer: MakeMaintainer, sandbox: Sandbox
) -> None:
    """The merged-results pipeline tested staging merged into a newer master than the
    one staging is built on: no prefix holds the tree that failed (a bisection would call a
    failure the new master brings "flaky"). Refused, exit 2, nothing pushed."""
    who = maintainer("culprit")
    applied_staging(who, sandbox)
    staging = who.git("rev-parse", "staging")
    who.git("checkout", "-q", "master")
    who.commit("docs: an unrelated change on master", path="docs/moved.txt")
    who.git("push", "-q", "origin", "master", env=who.token_env())
    who.git("checkout", "-q", "staging")
    red_gate(who)

    rc, out, err = who.run("bisect", "--json", "--interval", "0.2")

    assert rc == 2, out + err
    assert "the target moved since" in err and "Traceback" not in err
    assert temp_branches(who) == []
    assert who.git("rev-parse", "staging") == staging
