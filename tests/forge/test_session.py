"""gitlab/session.py: the token found once, handed to git only for its own GitLab."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import responses

from gitrepo import Repo, run_git
from send_mergereq.config import Flags, load_settings
from send_mergereq.errors import ConfigError
from send_mergereq.gitlab.credentials import MissingToken, Secret, Token
from send_mergereq.gitlab.location import GitLabLocation
from send_mergereq.gitlab.session import Session, auth_env, locate, remote_url

CANARY = "glpat-CANARY-session-0123456789"
TOKEN = Token(Secret(CANARY), "test")


@pytest.fixture
def pair(make_repo, tmp_path: Path) -> tuple[Repo, Path]:  # type: ignore[no-untyped-def]
    repo: Repo = make_repo()
    bare = tmp_path / "origin.git"
    run_git(tmp_path, "init", "-q", "--bare", str(bare))
    repo.git("remote", "add", "origin", f"file://{bare}")
    return repo, bare


def test_unknown_remote_is_config_error(pair: tuple[Repo, Path]) -> None:
    repo, _ = pair
    with pytest.raises(ConfigError, match="no git remote named 'gitlab'"):
        remote_url(repo.path, "gitlab")


def test_auth_env_header_carries_token_for_http_only() -> None:
    env = auth_env("https://max@gitlab.example.org:8443/g/p.git?x=1", TOKEN, {"A": "1"})
    assert env["GIT_CONFIG_COUNT"] == "4"
    assert env["GIT_CONFIG_KEY_0"] == "http.https://gitlab.example.org:8443/.extraHeader"
    # never a redirect with the token: plainly, for the origin and for the remote itself
    follow = {env[f"GIT_CONFIG_KEY_{n}"]: env[f"GIT_CONFIG_VALUE_{n}"] for n in (1, 2, 3)}
    assert follow == {
        "http.followRedirects": "false",
        "http.https://gitlab.example.org:8443/.followRedirects": "false",
        "http.https://gitlab.example.org:8443/g/p.git.followRedirects": "false",
    }
    scheme, _, value = env["GIT_CONFIG_VALUE_0"].partition(": ")[2].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(value).decode() == f"oauth2:{CANARY}"
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert "GIT_CONFIG_COUNT" not in auth_env("git@gitlab.example.org:g/p.git", TOKEN, {})


def test_auth_env_appends_to_existing_git_config_env() -> None:
    base = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "a.b", "GIT_CONFIG_VALUE_0": "c"}
    env = auth_env("http://127.0.0.1:9/g/p.git", TOKEN, base)
    assert env["GIT_CONFIG_COUNT"] == "5"
    assert env["GIT_CONFIG_KEY_0"] == "a.b"
    assert env["GIT_CONFIG_KEY_1"] == "http.http://127.0.0.1:9/.extraHeader"
    assert env["GIT_CONFIG_KEY_2"] == "http.followRedirects"


def test_git_env_carries_the_token_only_to_its_own_gitlab(make_repo) -> None:  # type: ignore[no-untyped-def]
    repo: Repo = make_repo()
    token = Token(Secret(CANARY), "test")
    repo.git("remote", "add", "origin", "http://127.0.0.1:9/group/proj.git")
    repo.git("remote", "add", "mirror", "http://127.0.0.2:9/group/proj.git")
    repo.git("remote", "add", "ssh", "git@127.0.0.1:group/proj.git")
    here = GitLabLocation("http://127.0.0.1:9", "group/proj")
    own = Session(repo.path, "origin", here, token).git_env()
    assert own["GIT_CONFIG_KEY_0"] == "http.http://127.0.0.1:9/.extraHeader"
    encoded = base64.b64encode(f"oauth2:{CANARY}".encode()).decode()
    assert own["GIT_CONFIG_VALUE_0"] == f"Authorization: Basic {encoded}"
    for other in ("mirror", "ssh"):
        env = Session(repo.path, other, here, token).git_env()
        assert CANARY not in str(env) and encoded not in str(env)
        assert "GIT_CONFIG_COUNT" not in env
        assert env["GIT_TERMINAL_PROMPT"] == "0"


def test_open_finds_the_token_once_and_the_forge_connects_once(
    make_repo,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    from send_mergereq.gitlab import forge as forge_module
    from send_mergereq.gitlab import session as session_module

    repo: Repo = make_repo()
    repo.git("remote", "add", "origin", "http://127.0.0.1:9/group/proj.git")
    settings = load_settings(repo.path, "staging", Flags(target="master"), {})
    lookups: list[str] = []
    real = session_module.find_token

    def counting(url: str, **kw: object) -> Token:
        lookups.append(url)
        return real(url, env={"GITLAB_TOKEN": CANARY})  # type: ignore[arg-type]

    connects: list[str] = []
    monkeypatch.setattr(session_module, "find_token", counting)
    monkeypatch.setattr(
        forge_module.Forge,
        "connect",
        classmethod(lambda cls, *a, **k: connects.append(a[0]) or object()),
    )
    session = Session.open(settings)
    assert session.location == GitLabLocation("http://127.0.0.1:9", "group/proj")
    session.git_env(), session.git_env()
    session.forge, session.forge  # noqa: B018
    assert lookups == ["http://127.0.0.1:9"]
    assert connects == ["http://127.0.0.1:9"]


def test_location_from_remote_or_flags(make_repo) -> None:  # type: ignore[no-untyped-def]
    repo: Repo = make_repo()
    repo.git("remote", "add", "origin", "git@gitlab.com:qemu-project/qemu.git")

    def located(**flags: str) -> GitLabLocation:
        return locate(load_settings(repo.path, "staging", Flags(target="master", **flags), {}))

    assert located() == GitLabLocation("https://gitlab.com", "qemu-project/qemu")
    assert located(project="me/qemu") == GitLabLocation("https://gitlab.com", "me/qemu")
    assert located(gitlab_url="http://127.0.0.1:8080/", project="g/p") == (
        GitLabLocation("http://127.0.0.1:8080", "g/p")
    )
    repo.git("remote", "add", "nowhere", "git@gitlab.com:x/y.git")
    repo.git("config", "remote.nowhere.pushurl", "")
    with pytest.raises(ConfigError, match="no git remote named 'nowhere'"):
        located(remote="nowhere")


def test_gitlab_location_layers_flags_env_git_config(make_repo) -> None:  # type: ignore[no-untyped-def]
    repo: Repo = make_repo()
    repo.git("remote", "add", "origin", "git@gitlab.com:qemu-project/qemu.git")
    repo.git("config", "sendmergereq.gitlabUrl", "https://from-config.example")
    repo.git("config", "sendmergereq.project", "config/proj")
    settings = load_settings(repo.path, "origin/staging", Flags(target="origin/master"), {})
    assert (settings.source_branch, settings.target_branch) == ("staging", "master")
    assert (settings.gitlab_url, settings.project) == ("https://from-config.example", "config/proj")
    env = {"SEND_MERGEREQ_PROJECT": "env/proj"}
    flags = Flags(target="master", gitlab_url="http://127.0.0.1:9")
    settings = load_settings(repo.path, "staging", flags, env)
    assert (settings.gitlab_url, settings.project) == ("http://127.0.0.1:9", "env/proj")
    assert locate(settings) == GitLabLocation("http://127.0.0.1:9", "env/proj")


def _settings_for(repo: Repo, url: str):  # type: ignore[no-untyped-def]
    repo.git("remote", "add", "forge", url)
    flags = Flags(target="master", remote="forge")
    return load_settings(repo.path, "HEAD", flags, {})


@responses.activate
def test_a_github_remote_is_not_a_gitlab_remote(make_repo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GITLAB_TOKEN", CANARY)  # even with a token: nothing is asked
    settings = _settings_for(make_repo(), "git@github.com:qemu/qemu.git")
    with pytest.raises(ConfigError, match=r"is not a GitLab remote: github.com is GitHub") as exc:
        Session.open(settings)
    assert "personal_access_tokens" not in (exc.value.hint or "")
    assert not responses.calls


@responses.activate
def test_a_host_that_does_not_answer_as_gitlab(make_repo) -> None:  # type: ignore[no-untyped-def]
    responses.get("https://git.example.org/api/v4/version", status=404, body="nope")
    settings = _settings_for(make_repo(), "https://git.example.org/qemu/qemu.git")
    with pytest.raises(ConfigError, match=r"not a GitLab remote: its /api/v4/version"):
        Session.open(settings)


@responses.activate
def test_a_gitlab_without_a_token_gets_the_token_hint(make_repo) -> None:  # type: ignore[no-untyped-def]
    responses.get("https://gitlab.example.org/api/v4/version", status=401,
                  json={"message": "401 Unauthorized"})  # fmt: skip
    settings = _settings_for(make_repo(), "https://gitlab.example.org/qemu/qemu.git")
    with pytest.raises(MissingToken) as exc:
        Session.open(settings)
    assert "personal_access_tokens" in (exc.value.hint or "")
    assert "glab auth login" in (exc.value.hint or "")


def test_only_a_redirect_git_did_not_follow_is_said_as_one(make_repo) -> None:  # type: ignore[no-untyped-def]
    from send_mergereq import git

    repo: Repo = make_repo()
    repo.git("remote", "add", "origin", "http://127.0.0.1:9/group/proj.git")
    session = Session(
        repo.path, "origin", GitLabLocation("http://127.0.0.1:9", "group/proj"), TOKEN
    )
    fatal = "fatal: unable to access 'http://127.0.0.1:9/group/proj.git/': "
    for other in ("The requested URL returned error: 403", "Could not resolve host: x"):
        failed = git.Completed(128, b"", (fatal + other + "\n").encode())
        assert session.redirect_refused(failed, push=True) is None
    redirected = git.Completed(
        128, b"", (fatal + "The requested URL returned error: 308\n").encode()
    )
    assert git.refused_redirect(redirected) == 308
    # nothing answers on port 9 now: where it was sent is not known, and said so
    refused = session.redirect_refused(redirected, push=False)
    assert refused is not None and refused.exit_code == 6
    assert refused.message == (
        "git fetch: origin at http://127.0.0.1:9 redirected (308) to another location "
        "(it did not say again where): not followed, the token goes only to http://127.0.0.1:9"
    )
