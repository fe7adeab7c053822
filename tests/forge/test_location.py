from __future__ import annotations

import pytest

from send_mergereq.errors import ConfigError
from send_mergereq.gitlab.location import (
    GitLabLocation,
    normalize_base_url,
    parse_remote_url,
    same_server,
    sanitize_url,
)


@pytest.mark.parametrize(
    ("url", "base", "project"),
    [
        ("git@gitlab.com:qemu-project/qemu.git", "https://gitlab.com", "qemu-project/qemu"),
        ("git@gitlab.com:group/sub/proj.git", "https://gitlab.com", "group/sub/proj"),
        ("gitlab.example.org:group/proj", "https://gitlab.example.org", "group/proj"),
        ("git@gitlab.com:/group/proj.git/", "https://gitlab.com", "group/proj"),
        ("ssh://git@gitlab.com/group/sub/proj.git", "https://gitlab.com", "group/sub/proj"),
        (
            "ssh://git@gitlab.example.org:2222/group/proj.git",
            "https://gitlab.example.org",
            "group/proj",
        ),
        ("ssh://gitlab.example.org/group/proj", "https://gitlab.example.org", "group/proj"),
        ("git+ssh://git@host.example/a/b.git", "https://host.example", "a/b"),
        ("https://gitlab.com/group/sub/proj.git", "https://gitlab.com", "group/sub/proj"),
        ("https://gitlab.com/group/sub/proj", "https://gitlab.com", "group/sub/proj"),
        ("https://gitlab.com/group/proj/", "https://gitlab.com", "group/proj"),
        ("https://max:s3cret@gitlab.com/group/proj.git", "https://gitlab.com", "group/proj"),
        (
            "https://oauth2@gitlab.example.org:8443/g/p.git",
            "https://gitlab.example.org:8443",
            "g/p",
        ),
        ("http://127.0.0.1:38211/group/proj.git", "http://127.0.0.1:38211", "group/proj"),
        ("http://[::1]:8080/group/proj.git", "http://[::1]:8080", "group/proj"),
        ("HTTPS://GitLab.COM/Group/Proj.git", "https://gitlab.com", "Group/Proj"),
    ],
)
def test_remote_urls_map_to_base_and_project(url: str, base: str, project: str) -> None:
    assert parse_remote_url(url) == GitLabLocation(base, project)


def test_gitlab_url_override_strips_its_path_prefix() -> None:
    loc = parse_remote_url(
        "https://example.com/gitlab/group/sub/proj.git", gitlab_url="https://example.com/gitlab/"
    )
    assert loc == GitLabLocation("https://example.com/gitlab", "group/sub/proj")
    assert loc.project_url == "https://example.com/gitlab/group/sub/proj"


def test_gitlab_url_override_for_ssh_remote_keeps_path() -> None:
    loc = parse_remote_url("git@ssh.example.com:g/p.git", gitlab_url="http://127.0.0.1:9000")
    assert loc == GitLabLocation("http://127.0.0.1:9000", "g/p")


@pytest.mark.parametrize(
    "url",
    [
        "/srv/git/proj.git",
        "./relative/proj",
        "file:///srv/git/group/proj.git",
        "C:\\repos\\proj",
        "ftp://host/group/proj.git",
        "https://gitlab.com/onlyone.git",
        "git@gitlab.com:proj.git",
    ],
)
def test_unmappable_remote_is_config_error_naming_remote(url: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_remote_url(url, remote="upstream")
    assert "'upstream'" in err.value.message
    assert err.value.hint is not None
    assert "--gitlab-url" in err.value.hint
    assert "sendmergereq.gitlabUrl" in err.value.hint
    assert err.value.exit_code == 2


def test_error_message_does_not_show_password() -> None:
    with pytest.raises(ConfigError) as err:
        parse_remote_url("https://max:glpat-SENTINEL@gitlab.com/onlyone.git")
    assert "glpat-SENTINEL" not in err.value.message
    assert "********@gitlab.com" in err.value.message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@host/g/p.git", "https://********@host/g/p.git"),
        ("https://oauth2:glpat-abc@host:8443/g/p", "https://********@host:8443/g/p"),
        ("https://host/api/v4/projects?private_token=glpat-x&page=2", None),
        ("https://host/g/p.git", "https://host/g/p.git"),
        ("git@host:g/p.git", "git@host:g/p.git"),
    ],
)
def test_sanitize_url(url: str, shown: str | None) -> None:
    result = sanitize_url(url)
    if shown is not None:
        assert result == shown
    else:
        assert "glpat-x" not in result
        assert "private_token=********" in result
        assert "page=2" in result


def test_normalize_base_url() -> None:
    assert normalize_base_url("https://u:p@Host.example/gl/?x=1") == "https://host.example/gl"
    with pytest.raises(ConfigError):
        normalize_base_url("gitlab.com")


def test_same_server_decides_where_the_token_may_go() -> None:
    assert same_server("https://oauth2@gitlab.com/g/p.git", "https://gitlab.com")
    assert same_server("https://gitlab.com:443/g/p.git", "https://gitlab.com")
    assert same_server("http://127.0.0.1:8080/g/p.git", "http://127.0.0.1:8080")
    assert not same_server("https://evil.example/g/p.git", "https://gitlab.com")
    assert not same_server("http://gitlab.com/g/p.git", "https://gitlab.com")
    assert not same_server("http://127.0.0.1:8081/g/p.git", "http://127.0.0.1:8080")
    assert not same_server("git@gitlab.com:g/p.git", "https://gitlab.com")
    assert not same_server("file:///srv/g/p.git", "https://gitlab.com")
