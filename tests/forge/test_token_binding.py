"""``GITLAB_TOKEN`` goes only to the host it is for, when something says which (issue 25
§7): ``GITLAB_HOST`` (glab's variable), or glab's config holding this very token as its
login for other hosts. Unbound, it goes to the GitLab the run uses, as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitrepo import Repo
from send_mergereq.config import Flags, load_settings
from send_mergereq.gitlab.credentials import MissingToken, find_token
from send_mergereq.gitlab.glab_config import parse_hosts
from send_mergereq.gitlab.session import Session

FOR_GITLAB_COM = "glpat-FOR-gitlab-com-0123456789"
URL = "https://gitlab.example.org"


def glab(home: Path, hosts: dict[str, str]) -> Path:
    """glab's config.yml with one login per host (``host: token``)."""
    rows = "".join(
        f"    {host}:\n        api_protocol: https\n        api_host: {host}\n"
        f"        token: {token}\n"
        for host, token in hosts.items()
    )
    path = home / ".config" / "glab-cli" / "config.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"host: gitlab.com\nhosts:\n{rows}")
    assert [h.name for h in parse_hosts(path.read_text())] == list(hosts)
    return path


def test_unbound_gitlab_token_goes_to_the_gitlab_of_the_run(
    hermetic_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", FOR_GITLAB_COM)
    token = find_token(URL)
    assert (token.secret.reveal(), token.source, token.note) == (FOR_GITLAB_COM, "GITLAB_TOKEN", "")


def test_gitlab_host_naming_another_host_keeps_gitlab_token_from_this_one(
    hermetic_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", FOR_GITLAB_COM)
    monkeypatch.setenv("GITLAB_HOST", "gitlab.com")
    with pytest.raises(MissingToken) as refused:
        find_token(URL)
    cfg = hermetic_env / ".python-gitlab.cfg"
    assert refused.value.message == (
        f"no GitLab token for {URL}: GITLAB_TOKEN is for gitlab.com (GITLAB_HOST), not for "
        "gitlab.example.org, so it is not sent there; looked in glab's config, "
        f"{cfg} (no section with url = {URL}), and git credential fill"
    )
    assert refused.value.hint is not None
    assert "export GITLAB_HOST=gitlab.example.org" in refused.value.hint

    # another source for this host is used, and the note says whom GITLAB_TOKEN is for
    (hermetic_env / ".python-gitlab.cfg").write_text(f"[me]\nurl = {URL}\nprivate_token = mine\n")
    token = find_token(URL)
    assert token.secret.reveal() == "mine"
    assert token.note == (
        "GITLAB_TOKEN is for gitlab.com (GITLAB_HOST), not for gitlab.example.org: "
        f"using {hermetic_env / '.python-gitlab.cfg'} [me]"
    )

    # GITLAB_HOST naming this host says GITLAB_TOKEN is for it
    monkeypatch.setenv("GITLAB_HOST", URL)
    assert find_token(URL).source == "GITLAB_TOKEN"


def test_glab_login_of_another_host_binds_the_same_token(
    hermetic_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = glab(hermetic_env, {"gitlab.com": FOR_GITLAB_COM, "gitlab.example.org": "mine"})
    monkeypatch.setenv("GITLAB_TOKEN", FOR_GITLAB_COM)

    token = find_token(URL)  # glab's own login for this host, not GITLAB_TOKEN

    assert token.secret.reveal() == "mine"
    assert token.note == (
        f"GITLAB_TOKEN is glab's login for gitlab.com ({path}), not for gitlab.example.org: "
        f"using {path} (glab, host gitlab.example.org)"
    )
    assert find_token("https://gitlab.com").source == "GITLAB_TOKEN"  # its own host
    glab(hermetic_env, {"gitlab.com": FOR_GITLAB_COM})
    with pytest.raises(MissingToken, match=r"GITLAB_TOKEN is glab's login for gitlab\.com"):
        find_token(URL)
    monkeypatch.setenv("GITLAB_HOST", "gitlab.example.org")  # said outright: it is for this one
    assert find_token(URL).source == "GITLAB_TOKEN"


def test_the_session_says_whom_the_token_is_for_once(
    make_repo, hermetic_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    repo: Repo = make_repo()
    repo.git("remote", "add", "origin", "https://mirror.example.net/group/proj.git")
    monkeypatch.setenv("GITLAB_TOKEN", FOR_GITLAB_COM)
    settings = load_settings(repo.path, "staging", Flags(target="master", gitlab_url=URL), {})

    session = Session.open(settings)

    assert session.notes == (
        f"the token is for {URL}; remote 'origin' (https://mirror.example.net/group/proj.git) "
        "is on another host: git pushes there without it, with your own credentials",
    )
    assert "GIT_CONFIG_COUNT" not in session.git_env()
    repo.git("remote", "set-url", "origin", f"{URL}/group/proj.git")
    assert Session.open(settings).notes == ()
    repo.git("remote", "set-url", "origin", "git@mirror.example.net:group/proj.git")
    assert Session.open(settings).notes == ()  # SSH: the user's keys, never a token
