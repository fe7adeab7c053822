"""``send-mergereq apply`` on real repositories, real signed tags (gpg and ssh) and emails
made by real ``git request-pull``: what is applied carries a mergetag git verifies, and
every refusal leaves the maintainer's work tree, index, HEAD, config and branches as
they were, byte for byte."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from pulls_helpers import Submaintainer, eml, mail, mbox, snapshot

from gitrepo import Repo, run_git
from keys import Keys
from send_mergereq.cli import run as cli_run
from send_mergereq.history import parse_commit


def apply(
    repo: Repo,
    *args: str,
    email: bytes | None = None,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str]:
    """Run ``send-mergereq -C REPO apply --target master --allow-local ARGS`` in-process
    (the submaintainers' repositories are local paths); the email, if given, is written to
    a file next to the repository and passed as the last argument."""
    extra: list[str] = []
    if email is not None:
        path = repo.path.parent / f"email-{len(list(repo.path.parent.glob('email-*')))}.eml"
        path.write_bytes(email)
        extra.append(str(path))
    argv = ["apply", "-C", str(repo.path), "--target", "master", "--allow-local"]
    code = cli_run([*argv, *args, *extra])
    out, err = capsys.readouterr()
    return code, out + err


def merge_of(repo: Repo, ref: str = "staging") -> bytes:
    return run_git(repo.path, "cat-file", "commit", ref).encode()


def verify_mergetag(repo: Repo, ref: str = "staging") -> str:
    """Write the merge's mergetag back as a tag object and ``git verify-tag`` it."""
    raw = run_git(repo.path, "cat-file", "commit", ref).encode() + b"\n"
    commit = parse_commit("0" * 40, raw)
    assert len(commit.mergetags) == 1, raw
    tag = commit.mergetags[0] + b"\n"
    sha = run_git(repo.path, "hash-object", "-t", "tag", "-w", "--stdin", input=tag)
    return run_git(repo.path, "verify-tag", sha)


def test_signed_pull_is_applied_with_a_mergetag_git_verifies(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    email = eml(sub.signed_pull("one", keys.good, commits=2))
    before = main_repo.head()
    code, out = apply(main_repo, email=email, capsys=capsys)
    assert code == 0, out
    assert "applied pull-one: 2 commits, signed by Sue Submaintainer" in out
    verify_mergetag(main_repo)
    merge = parse_commit("x", merge_of(main_repo))
    assert merge.parents == (before, sub.repo.git("rev-parse", "pr/one"))
    assert merge.message.decode().startswith(
        f"Merge tag 'pull-one' of {sub.url} into staging\n\nPull request pull-one\n\n"
        "# -----BEGIN PGP SIGNATURE-----\n#\n"
    )
    assert '# gpg: Good signature from "Sue Submaintainer <sue@example.org>"' in (
        merge.message.decode()
    )
    # staging is checked out and was clean: its work tree and index follow, as git merge's
    assert (main_repo.path / "one.txt").read_text() == "one 1\n"
    assert main_repo.git("status", "--porcelain") == ""
    assert main_repo.git("rev-parse", "HEAD") == main_repo.git("rev-parse", "staging")
    assert "remote." not in (main_repo.path / ".git" / "config").read_text()


def test_a_pull_staging_already_contains_is_not_merged_again(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    """As ``git pull`` says "Already up to date": no second, empty merge commit."""
    email = eml(sub.signed_pull("one", keys.good))
    code, out = apply(main_repo, email=email, capsys=capsys)
    assert code == 0, out
    state = snapshot(main_repo.path)
    for args in ((), ("--dry-run",)):
        code, out = apply(main_repo, *args, email=email, capsys=capsys)
        assert code == 0, out
        assert "already applied pull-one: staging already contains" in out
        assert snapshot(main_repo.path) == state


def test_a_refused_pull_says_what_it_adds_and_json_has_no_empty_signer(
    main_repo: Repo, sub: Submaintainer, capsys: pytest.CaptureFixture[str]
) -> None:
    email = eml(sub.signed_pull("one", None, commits=2))  # unsigned
    code, out = apply(main_repo, "--json", email=email, capsys=capsys)
    assert code == 3, out
    doc = json.loads(out[: out.rindex("}") + 1][out.index("{") :])
    (pull,) = doc["pulls"]
    assert (pull["result"], pull["commits"], pull["signer"]) == ("refused", 2, None)


@pytest.mark.parametrize("key", ["good", "ssh"])
def test_the_merge_is_the_one_git_pull_writes(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str],
    tmp_path: Path, key: str,
) -> None:  # fmt: skip
    """What apply-pullreq (``git pull --no-ff URL tag TAG``) would have written, byte for byte
    (same identities and dates: the test environment pins them)."""
    email = eml(sub.signed_pull("one", getattr(keys, key)))
    by_hand = tmp_path / "by-hand"
    run_git(tmp_path, "clone", "-q", "-b", "staging", str(main_repo.path), str(by_hand))
    run_git(by_hand, "pull", "-q", "--no-ff", "--no-edit", sub.url, "tag", "pull-one")
    code, out = apply(main_repo, email=email, capsys=capsys)
    assert code == 0, out
    assert merge_of(main_repo) == run_git(by_hand, "cat-file", "commit", "HEAD").encode()
    assert main_repo.git("rev-parse", "staging") == run_git(by_hand, "rev-parse", "HEAD")
    verify_mergetag(main_repo)


def test_ssh_signed_pull_is_applied(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = apply(main_repo, email=eml(sub.signed_pull("one", keys.ssh)), capsys=capsys)
    assert code == 0, out
    assert "signed by sue@example.org" in out
    verify_mergetag(main_repo)


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (None, "is an annotated tag without a signature"),
        ("stranger", "which is not in your keyring"),
        ("ssh_stranger", "which your allowed signers file does not list"),
        ("revoked", "that key has been revoked"),
    ],
)
def test_unsigned_or_unknown_signer_is_refused_and_nothing_changes(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str],
    key: str | None, says: str,
) -> None:  # fmt: skip
    email = eml(sub.signed_pull("one", getattr(keys, key) if key else None))
    state = snapshot(main_repo.path)
    code, out = apply(main_repo, email=email, capsys=capsys)
    assert code == 3, out
    assert says in out
    assert "refused pull-one" in out
    assert snapshot(main_repo.path) == state


def test_a_key_outside_trusted_signers_is_refused(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    """trusted-signers from the target's .send-mergereq.toml, as for the signed-tags check."""
    main_repo.git("checkout", "-q", "master")
    (main_repo.path / ".send-mergereq.toml").write_text(
        f'trusted-signers = ["{keys.ssh.fingerprint}"]\n'
    )
    main_repo.git("add", ".send-mergereq.toml")
    main_repo.git("commit", "-q", "-m", "policy")
    main_repo.git("checkout", "-q", "staging")
    main_repo.git("merge", "-q", "--ff-only", "master")
    sub.repo.git("pull", "-q", "origin", "master")
    email = eml(sub.signed_pull("one", keys.good))
    state = snapshot(main_repo.path)
    code, out = apply(main_repo, email=email, capsys=capsys)
    assert code == 3, out
    assert "who is not among this project's trusted signers" in out
    assert snapshot(main_repo.path) == state
    code, out = apply(main_repo, email=eml(sub.signed_pull("two", keys.ssh)), capsys=capsys)
    assert code == 0, out


def test_a_tag_moved_after_the_email_is_refused(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    email = eml(sub.signed_pull("one", keys.good))
    sub.repo.git("checkout", "-q", "pr/one")
    sub.repo.commit("one: sneaked in after the email", filename="sneaky.txt")
    sub.repo.git(*keys.good.git_config(), "tag", "-f", "-s", "-m", "Pull request one",
                 "pull-one", env={"GNUPGHOME": str(keys.good.home)})  # fmt: skip
    state = snapshot(main_repo.path)
    code, out = apply(main_repo, email=email, capsys=capsys)
    assert code == 3, out
    assert "it was moved after the email was sent" in out
    assert snapshot(main_repo.path) == state
    head = sub.repo.git("rev-parse", "pull-one^{commit}")
    code, out = apply(main_repo, "--url", sub.url, "--tag", "pull-one", "--expect", head,
                      capsys=capsys)  # fmt: skip
    assert code == 0, out


def test_a_bad_utf8_commit_is_refused_before_anything_is_merged(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two pull requests: the first adds a commit whose message is Latin-1; nothing of
    it is merged, and the run stops before the second."""
    tree = sub.repo.git("rev-parse", "master^{tree}")
    parent = sub.repo.git("rev-parse", "master")
    raw = (
        f"tree {tree}\nparent {parent}\n"
        "author Ada Author <ada@example.org> 1700000000 +0000\n"
        "committer Ada Author <ada@example.org> 1700000000 +0000\n\n"
    ).encode() + b"Caf\xe9 fix\n\nSigned-off-by: Ada Author <ada@example.org>\n"
    bad = sub.repo.raw_commit(raw, branch="pr/bad")
    from keys import sign_tag

    sign_tag(sub.repo.path, "pull-bad", keys.good, bad)
    first = mail(sub.request_pull("master", "pull-bad"))
    second = mail(sub.signed_pull("two", keys.good))
    state = snapshot(main_repo.path)
    code, out = apply(main_repo, "--json", email=mbox(first, second), capsys=capsys)
    assert code == 3, out
    assert "[utf8]" in out
    assert snapshot(main_repo.path) == state
    doc = json.loads(out[: out.rindex("}") + 1][out.index("{") :])
    assert [p["result"] for p in doc["pulls"]] == ["refused", "skipped"]
    assert doc["pulls"][0]["findings"][0]["check"] == "utf8"
    assert doc["branch_before"] == doc["branch_after"] == main_repo.head()
    assert doc["exit_code"] == 3


def test_a_conflict_leaves_staging_untouched(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    email = eml(sub.signed_pull("one", keys.good))
    main_repo.commit("staging: its own one.txt", filename="one.txt")
    state = snapshot(main_repo.path)
    code, out = apply(main_repo, email=email, capsys=capsys)
    assert code == 8, out
    assert "conflicts in one.txt" in out
    assert "git pull --no-ff" in out
    assert snapshot(main_repo.path) == state


def test_two_pulls_in_one_mbox_are_applied_in_order(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    first = mail(sub.signed_pull("one", keys.good), "[PULL 1/2] one")
    second = mail(sub.signed_pull("two", keys.ssh), "[PULL 2/2] two")
    code, out = apply(main_repo, email=mbox(first, second), capsys=capsys)
    assert code == 0, out
    subjects = main_repo.git("log", "--format=%s", "--merges", "staging").splitlines()
    assert subjects == [
        f"Merge tag 'pull-two' of {sub.url} into staging",
        f"Merge tag 'pull-one' of {sub.url} into staging",
    ]
    verify_mergetag(main_repo, "staging")
    verify_mergetag(main_repo, "staging^1")


def test_an_mbox_of_plain_quoted_printable_and_base64_messages(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    messages = [
        mail(sub.signed_pull("one", keys.good)),
        mail(sub.signed_pull("two", keys.good), cte="quoted-printable"),
        mail(sub.signed_pull("three", keys.ssh), cte="base64"),
    ]
    assert b"Content-Transfer-Encoding: base64" in messages[2].as_bytes()
    code, out = apply(main_repo, "--json", email=mbox(*messages), capsys=capsys)
    assert code == 0, out
    doc = json.loads(out[out.index("{") : out.rindex("}") + 1])
    assert [p["tag"] for p in doc["pulls"]] == ["pull-one", "pull-two", "pull-three"]
    assert [p["result"] for p in doc["pulls"]] == ["applied"] * 3
    assert doc["branch_after"] == main_repo.git("rev-parse", "staging")
    assert doc["pulls"][2]["merge_sha"] == doc["branch_after"]
    assert doc["pulls"][0]["commits"] == 1


def test_standard_input(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    email = eml(sub.signed_pull("one", keys.good), cte="base64")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(email)))
    code, out = apply(main_repo, "-", capsys=capsys)
    assert code == 0, out


def test_dry_run_writes_nothing(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    email = mbox(mail(sub.signed_pull("one", keys.good)), mail(sub.signed_pull("two", keys.ssh)))
    state = snapshot(main_repo.path)
    code, out = apply(main_repo, "--dry-run", "--json", email=email, capsys=capsys)
    assert code == 0, out
    assert snapshot(main_repo.path) == state
    doc = json.loads(out[out.index("{") : out.rindex("}") + 1])
    assert [p["result"] for p in doc["pulls"]] == ["applied", "applied"]
    would_be = doc["branch_after"]
    assert would_be == doc["pulls"][1]["merge_sha"] != doc["branch_before"]
    missing = main_repo.path / ".git"
    assert not any(missing.glob(f"objects/{would_be[:2]}/{would_be[2:]}"))


def test_keep_going_skips_a_refused_pull(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    email = mbox(mail(sub.signed_pull("one", None)), mail(sub.signed_pull("two", keys.good)))
    code, out = apply(main_repo, "--keep-going", email=email, capsys=capsys)
    assert code == 3, out
    assert "refused pull-one" in out
    assert "applied pull-two" in out
    assert main_repo.git("log", "-1", "--format=%s", "staging").startswith("Merge tag 'pull-two'")


def test_staging_is_created_from_the_target(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    main_repo.git("checkout", "-q", "master")
    main_repo.git("branch", "-D", "staging")
    state = snapshot(main_repo.path)
    code, out = apply(main_repo, email=eml(sub.signed_pull("one", keys.good)), capsys=capsys)
    assert code == 0, out
    assert main_repo.git("rev-parse", "staging^1") == main_repo.git("rev-parse", "master")
    after = snapshot(main_repo.path)
    assert {k: v for k, v in after.items() if k != "refs"} == {
        k: v for k, v in state.items() if k != "refs"
    }


def test_dirty_checked_out_staging_is_refused(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    email = eml(sub.signed_pull("one", keys.good))
    (main_repo.path / "README").write_text("edited\n")
    state = snapshot(main_repo.path)
    code, out = apply(main_repo, email=email, capsys=capsys)
    assert code == 2, out
    assert "uncommitted changes" in out
    assert snapshot(main_repo.path) == state


def test_not_a_pull_request_email_is_a_usage_error(
    main_repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = apply(main_repo, email=eml("Hi,\n\nplease pull.\n"), capsys=capsys)
    assert code == 2
    assert "no 'git request-pull' block" in out


def test_a_failed_fetch_is_one_line_and_exit_6(
    main_repo: Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = snapshot(main_repo.path)
    gone = tmp_path / "gone"
    code, out = apply(main_repo, "--url", str(gone), "--tag", "pull-x", capsys=capsys)
    assert code == 6, out
    assert "fetch-failed pull-x: fetch of tag 'pull-x'" in out
    # git's whole reason on the one line, not only its last ("and the repository exists.")
    line = next(x for x in out.splitlines() if "fetch-failed pull-x" in x)
    assert (
        f"from {gone} failed: git said: fatal: '{gone}' does not appear to be a git "
        "repository; fatal: Could not read from remote repository. Please make sure you "
        "have the correct access rights and the repository exists." in line
    )
    assert "hint (pull-x): the tag may not be pushed yet" in out
    assert snapshot(main_repo.path) == state


def test_signs_the_merge_when_the_config_signs_commits(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    email = eml(sub.signed_pull("one", keys.good))
    main_repo.git("config", "commit.gpgsign", "true")
    main_repo.git("config", "gpg.format", "ssh")
    main_repo.git("config", "user.signingkey", str(keys.ssh.private))
    code, out = apply(main_repo, email=email, capsys=capsys)
    assert code == 0, out
    main_repo.git("verify-commit", "staging")
    verify_mergetag(main_repo)


def test_a_lightweight_tag_is_refused_as_the_signed_tags_check_says(
    main_repo: Repo, sub: Submaintainer, capsys: pytest.CaptureFixture[str]
) -> None:
    from keys import pull_request

    pull_request(sub.repo.path, "light", "master")
    sub.repo.git("tag", "pull-light", "pr/light")
    email = eml(sub.request_pull("master", "pull-light"))
    state = snapshot(main_repo.path)
    code, out = apply(main_repo, email=email, capsys=capsys)
    assert code == 3, out
    assert "merged tag 'pull-light'" in out and "which is not signed" in out
    assert snapshot(main_repo.path) == state


def test_a_tag_name_that_is_no_ref_is_a_usage_error(
    main_repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = apply(main_repo, "--url", "/nowhere", "--tag", "a:b", capsys=capsys)
    assert code == 2
    assert "'a:b' is not a valid tag name" in out


def test_the_summary_names_the_signer_by_key_and_the_tagger_where_someone_else(
    main_repo: Repo,
    sub: Submaintainer,
    keys: Keys,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sue's key on a tag Carol made: both are said; Sue tagging with her own key: only Sue."""
    good = keys.good
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Carol Tagger")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "carol@example.org")
    carols = eml(sub.signed_pull("one", good))
    code, out = apply(main_repo, email=carols, capsys=capsys)
    assert code == 0, out
    assert (
        f"signed by {good.uid} (key {good.fingerprint}), tagged by Carol Tagger "
        "<carol@example.org> on 20" in out
    )
    name, _, email = good.uid.rpartition(" <")
    monkeypatch.setenv("GIT_COMMITTER_NAME", name)
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", email.rstrip(">"))
    sues = eml(sub.signed_pull("two", good))
    code, out = apply(main_repo, email=sues, capsys=capsys)
    assert code == 0, out
    assert f"signed by {good.uid} (key {good.fingerprint}), tagged 20" in out
    assert "tagged by" not in out
