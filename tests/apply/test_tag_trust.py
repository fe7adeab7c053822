"""A trusted signed tag sent again under another name, or long after it was signed: the
signature still verifies, so apply holds the tag object's own name and date against the
email (real signed tags, real ``git request-pull`` emails)."""

from __future__ import annotations

import json

import pytest
from pulls_helpers import Submaintainer, eml, snapshot
from test_apply import apply

from gitrepo import IDENTITY, Repo
from keys import Keys, pull_request
from send_mergereq.apply import tag_trust

NOW = int(IDENTITY["GIT_COMMITTER_DATE"].split()[0])  # the merge's committer date in tests
DAY = 86400


def _sign_at(sub: Submaintainer, keys: Keys, name: str, when: int, target: str) -> None:
    env = {"GNUPGHOME": str(keys.good.home), "GIT_COMMITTER_DATE": f"{when} +0100"}
    sub.repo.git(*keys.good.git_config(), "tag", "-s", "-m", f"Pull request {name}", name,
                 target, env=env)  # fmt: skip


def _policy(repo: Repo, text: str) -> None:
    """The target (master) gets a ``.send-mergereq.toml``; staging stays where it is."""
    repo.git("checkout", "-q", "master")
    (repo.path / ".send-mergereq.toml").write_text(text)
    repo.git("add", ".send-mergereq.toml")
    repo.git("commit", "-q", "-m", "policy")
    repo.git("checkout", "-q", "staging")


def test_a_signed_tag_replayed_under_another_name_is_refused(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    sub.signed_pull("one", keys.good)
    replayed = "pull-2026-security-fix"
    sub.repo.git("update-ref", f"refs/tags/{replayed}", sub.repo.git("rev-parse", "pull-one"))
    email = eml(sub.request_pull("master", replayed))
    state = snapshot(main_repo.path)
    code, out = apply(main_repo, "--json", email=email, capsys=capsys)
    assert code == 3, out
    assert f"tag '{replayed}' was signed as 'pull-one'" in out
    assert snapshot(main_repo.path) == state
    doc = json.loads(out[out.index("{") : out.rindex("}") + 1])
    (pull,) = doc["pulls"]
    assert pull["result"] == "refused"
    assert any("replayed tag" in f["message"] for f in pull["findings"])


def test_a_tag_older_than_the_policy_allows_is_refused_unless_allowed(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    pull_request(sub.repo.path, "old", "master")
    _sign_at(sub, keys, "pull-old", NOW - 31 * DAY, "pr/old")
    email = eml(sub.request_pull("master", "pull-old"))
    state = snapshot(main_repo.path)
    code, out = apply(main_repo, email=email, capsys=capsys)
    assert code == 3, out
    assert "tag 'pull-old' was signed on 2023-10-14 23:13 +0100, 31 days ago" in out
    assert "older than the 30 days apply.max-tag-age allows" in out
    assert "--allow-old-tag" in out
    assert snapshot(main_repo.path) == state

    code, out = apply(main_repo, "--allow-old-tag", email=email, capsys=capsys)
    assert code == 0, out
    assert "applied pull-old: 1 commit, signed by Sue Submaintainer" in out
    assert "on 2023-10-14 23:13 +0100" in out  # tagged by the committer, on that day


def test_the_policy_file_sets_the_age_and_the_summary_says_the_date(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    _policy(main_repo, "[apply]\nmax-tag-age = 5\n")
    pull_request(sub.repo.path, "week", "master")
    _sign_at(sub, keys, "pull-week", NOW - 6 * DAY, "pr/week")
    pull_request(sub.repo.path, "new", "master")
    _sign_at(sub, keys, "pull-new", NOW - 4 * DAY, "pr/new")
    code, out = apply(main_repo, email=eml(sub.request_pull("master", "pull-week")),
                      capsys=capsys)  # fmt: skip
    assert code == 3, out
    assert "6 days ago: older than the 5 days apply.max-tag-age allows" in out
    code, out = apply(main_repo, "--json", email=eml(sub.request_pull("master", "pull-new")),
                      capsys=capsys)  # fmt: skip
    assert code == 0, out
    assert "on 2023-11-10 23:13 +0100" in out  # tagged by the committer, on that day
    doc = json.loads(out[out.index("{") : out.rindex("}") + 1])
    assert doc["pulls"][0]["tagged"] == "2023-11-10 23:13 +0100"


@pytest.mark.parametrize("value", ["0", "-1", '"30"', "true", "99999"])
def test_a_bad_max_tag_age_names_the_key(
    main_repo: Repo, sub: Submaintainer, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    _policy(main_repo, f"[apply]\nmax-tag-age = {value}\n")
    code, out = apply(main_repo, "--url", sub.url, "--tag", "pull-x", capsys=capsys)
    assert code == 2, out
    assert "apply.max-tag-age" in out


def test_tag_dates_are_read_from_the_tag_object() -> None:
    tag = b"object 1\ntype commit\ntag t\ntagger A <a@b> 1700000000 -0530\n\nmsg\n"
    assert tag_trust.tagger_date(tag) == (1700000000, "-0530")
    assert tag_trust.shown((1700000000, "-0530")) == "2023-11-14 16:43 -0530"
    assert tag_trust.tagger_date(b"object 1\ntype commit\ntag t\n\nmsg\n") is None
    assert tag_trust.tagger_date(b"object 1\ntag t\ntagger A <a@b> soon +0000\n\n") is None
    problem = tag_trust.age_problem("t", b"object 1\ntag t\n\nm\n", NOW, 30, allow_old=False)
    assert problem is not None and "has no tagger date" in problem[0]
    assert tag_trust.name_problem("t", tag) is None


def test_a_tag_dated_in_the_future_is_refused_even_when_old_tags_are_allowed(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tagger date years ahead would stay "fresh" for years: replayable all that time."""
    pull_request(sub.repo.path, "fut", "master")
    _sign_at(sub, keys, "pull-fut", NOW + 2 * DAY, "pr/fut")
    email = eml(sub.request_pull("master", "pull-fut"))
    state = snapshot(main_repo.path)
    for extra in ((), ("--allow-old-tag",)):
        code, out = apply(main_repo, *extra, email=email, capsys=capsys)
        assert code == 3, out
        assert "tag 'pull-fut' was signed on 2023-11-16 23:13 +0100, after the merge's" in out
        assert "a date in the future" in out
        assert snapshot(main_repo.path) == state


def test_a_tagger_clock_a_little_ahead_is_no_problem() -> None:
    tag = b"object 1\ntag t\ntagger S <s@x> %d +0000\n\nm\n" % (NOW + DAY - 60)
    assert tag_trust.age_problem("t", tag, NOW, 30, allow_old=False) is None
    assert tag_trust.future_problem("t", tag, NOW) is None
    later = tag.replace(b"%d" % (NOW + DAY - 60), b"%d" % (NOW + DAY + 60))
    assert tag_trust.future_problem("t", later, NOW) is not None
