"""glab's stored login supplies the token, right after GITLAB_TOKEN in the chain; a
remote that is not GitLab is said so, not answered with a token hint."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses

from send_mergereq.gitlab.client import answers_as_gitlab, client
from send_mergereq.gitlab.credentials import MissingToken, find_token
from send_mergereq.gitlab.glab_config import parse_hosts, split_entry

CANARY = "glpat-CANARY-glab-0123456789"
DATA = Path(__file__).parent / "data" / "glab-config.yml"


def glab_config(directory: Path, hostport: str, token: str = CANARY, extra: str = "") -> Path:
    """glab's config.yml as glab writes it, logged in to ``hostport``."""
    text = DATA.read_text().replace("HOSTPORT", hostport).replace("TOKEN", token)
    if extra:
        text = text.replace("        user: maintainer\n", f"        user: maintainer\n{extra}")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.yml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_the_token_glab_stored_for_the_host(hermetic_env: Path) -> None:
    path = glab_config(hermetic_env / ".config" / "glab-cli", "gitlab.example.org")
    token = find_token("https://gitlab.example.org")
    assert token.secret.reveal() == CANARY
    assert token.source == f"{path} (glab, host gitlab.example.org)"
    assert not token.oauth2
    assert CANARY not in repr(token)


def test_a_host_with_a_port_and_glab_config_dir(
    hermetic_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    glab_config(hermetic_env / "elsewhere", "127.0.0.1:8929")
    monkeypatch.setenv("GLAB_CONFIG_DIR", str(hermetic_env / "elsewhere"))
    assert find_token("http://127.0.0.1:8929").secret.reveal() == CANARY
    with pytest.raises(MissingToken):
        find_token("http://127.0.0.1:9999")  # another port: another GitLab


def test_gitlab_com_without_a_token_is_no_login(hermetic_env: Path) -> None:
    glab_config(hermetic_env / ".config" / "glab-cli", "gitlab.example.org")
    with pytest.raises(MissingToken, match="glab's config"):
        find_token("https://gitlab.com")


def test_gitlab_token_comes_first_then_glab_then_python_gitlab(
    hermetic_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "https://gitlab.example.org"
    glab_config(hermetic_env / ".config" / "glab-cli", "gitlab.example.org")
    (hermetic_env / ".python-gitlab.cfg").write_text(f"[x]\nurl = {url}\nprivate_token = cfg\n")
    assert find_token(url).secret.reveal() == CANARY
    monkeypatch.setenv("GITLAB_TOKEN", "from-env")
    assert find_token(url).source == "GITLAB_TOKEN"


def test_gitlab_host_names_whose_login_is_used(
    hermetic_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "https://gitlab.example.org"
    glab_config(hermetic_env / ".config" / "glab-cli", "gitlab.example.org")
    monkeypatch.setenv("GITLAB_HOST", "https://gitlab.example.org/")
    assert find_token(url).secret.reveal() == CANARY
    monkeypatch.setenv("GITLAB_HOST", "GitLab.Example.org")
    assert find_token(url).secret.reveal() == CANARY
    monkeypatch.setenv("GITLAB_HOST", "gitlab.com")  # another GitLab: not this one's login
    with pytest.raises(MissingToken):
        find_token(url)


def test_an_oauth2_login_is_sent_as_a_bearer_token(hermetic_env: Path) -> None:
    extra = '        is_oauth2: "true"\n        oauth2_refresh_token: r\n'
    glab_config(hermetic_env / ".config" / "glab-cli", "gitlab.example.org", extra=extra)
    token = find_token("https://gitlab.example.org")
    assert token.oauth2
    with responses.RequestsMock() as rsps:
        rsps.get("https://gitlab.example.org/api/v4/user", json={"id": 1})
        client("https://gitlab.example.org", token).http_get("/user")
        sent = rsps.calls[0].request.headers
    assert sent["Authorization"] == f"Bearer {CANARY}"
    assert "PRIVATE-TOKEN" not in sent


def test_the_hosts_map_reader() -> None:
    text = DATA.read_text().replace("HOSTPORT", "127.0.0.1:8080").replace("TOKEN", CANARY)
    hosts = parse_hosts(text)
    assert [h.name for h in hosts] == ["gitlab.com", "127.0.0.1:8080"]
    assert hosts[0].token == "" and hosts[1].token == CANARY
    assert hosts[1].fields["api_protocol"] == "http"
    assert "ci" not in {h.name for h in hosts}  # aliases: is not hosts:
    assert hosts[1].serves("127.0.0.1:8080") and not hosts[1].serves("127.0.0.1")


def test_quoting_comments_and_nesting() -> None:
    text = (
        "hosts:\n"
        "  'gitlab.example.org':\n"
        '    token: "glpat-a\\"b" # a comment\n'
        "    custom_headers:\n"
        "      - name: token\n"
        "        value: not-this\n"
        "    user: it's\n"
        "  keyring.example.org:\n"
        "    token: !!null\n"
        "    use_keyring: true\n"
        "other:\n"
        "  stray.example.org:\n"
        "    token: nope\n"
    )
    hosts = {h.name: h for h in parse_hosts(text)}
    assert set(hosts) == {"gitlab.example.org", "keyring.example.org"}
    assert hosts["gitlab.example.org"].token == 'glpat-a"b'
    assert hosts["gitlab.example.org"].fields["user"] == "it's"
    assert hosts["keyring.example.org"].token == ""
    assert split_entry("- item") == (None, "")
    assert split_entry("key: 'it''s' # c") == ("key", "it's")
    assert split_entry("10.0.0.1:8443:") == ("10.0.0.1:8443", "")


@responses.activate
def test_what_answers_as_gitlab() -> None:
    responses.get("https://gitlab.example.org/api/v4/version",
                  json={"message": "401 Unauthorized"}, status=401)  # fmt: skip
    responses.get("https://plain.example.org/api/v4/version", body="<html>404</html>",
                  status=404, content_type="text/html")  # fmt: skip
    responses.get("https://json.example.org/api/v4/version", json={"message": "Not Found"},
                  status=404)  # fmt: skip
    assert answers_as_gitlab("https://gitlab.example.org")
    assert not answers_as_gitlab("https://plain.example.org")
    assert not answers_as_gitlab("https://json.example.org")
    assert not answers_as_gitlab("https://nothing.example.org")  # no answer at all
    assert all("PRIVATE-TOKEN" not in c.request.headers for c in responses.calls)
