"""The transport an email's URL picks: only https, http, git and ssh are fetched; a local
path or file:// only with --allow-local; anything else (``fd::0``, ``ext::``, an unknown
scheme) is refused before git runs; and git itself is held to the same list."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulls_helpers import Submaintainer, eml, snapshot

from gitrepo import Repo
from keys import Keys
from send_mergereq import git
from send_mergereq.apply.transport import allowed_protocols, refusal, transport
from send_mergereq.cli import run as cli_run
from send_mergereq.errors import GitError


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://gitlab.com/sue/qemu.git", "https"),
        ("HTTP://127.0.0.1:8080/sue/qemu.git", "http"),
        ("git://git.kernel.org/pub/scm/qemu.git", "git"),
        ("ssh://git@gitlab.com/sue/qemu.git", "ssh"),
        ("git+ssh://gitlab.com/sue/qemu.git", "ssh"),
        ("git@gitlab.com:sue/qemu.git", "ssh"),
        ("[git@gitlab.com:22]:sue/qemu.git", "ssh"),
        ("file:///srv/qemu.git", "file"),
        ("../sub", "file"),
        ("/srv/git/qemu.git", "file"),
        ("./a:b", "file"),
        ("fd::0", "helper fd"),
        ("ext::sh -c touch% /tmp/pwned", "helper ext"),
        ("https::https://gitlab.com/x", "helper https"),
        ("ftp://example.org/qemu.git", "scheme ftp"),
        ("persistent-https://example.org/x", "scheme persistent-https"),
    ],
)
def test_the_transport_is_read_as_git_reads_it(url: str, kind: str) -> None:
    assert transport(url) == kind


def test_what_is_refused_and_what_is_not() -> None:
    assert refusal("https://gitlab.com/sue/qemu.git", allow_local=False) is None
    assert refusal("git@gitlab.com:sue/qemu.git", allow_local=False) is None
    assert refusal("../sub", allow_local=True) is None
    local = refusal("file:///srv/qemu.git", allow_local=False)
    assert local is not None and "--allow-local" in local[1]
    hostile = ("fd::0", "ext::sh", "ftp://x/y", "-oProxyCommand=x", "", "https://a\r/b",
               "ssh://-oProxyCommand=x/y", "ssh://u@-oProxyCommand=x/y", "-u@h:p",
               "u@-oProxyCommand=x:y", "[-oProxyCommand=x:22]:y", "git+ssh://-x/y")  # fmt: skip
    for url in hostile:
        assert refusal(url, allow_local=True) is not None, url
    assert allowed_protocols(False) == "https:http:git:ssh"
    assert allowed_protocols(True) == "https:http:git:ssh:file"


def _run(repo: Repo, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli_run(["apply", "-C", str(repo.path), "--target", "master", *args])
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize("url", ["fd::0", "ext::sh", "ftp://example.org/x"])
def test_a_foreign_transport_in_an_email_is_refused_before_git_runs(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str],
    tmp_path: Path, url: str,
) -> None:  # fmt: skip
    text = sub.signed_pull("one", keys.good).replace(f"  {sub.url} ", f"  {url} ")
    assert f"  {url} " in text
    path = tmp_path / "pull.eml"
    path.write_bytes(eml(text))
    state = snapshot(main_repo.path)
    code, out = _run(main_repo, "--allow-local", str(path), capsys=capsys)
    assert code == 2, out
    kind = url.split(":", maxsplit=1)[0]
    assert f"transport '{kind}' is not allowed (https, http, git, ssh)" in out
    assert out.count("\n") == 2, out  # the line and its hint
    assert snapshot(main_repo.path) == state
    assert main_repo.git("for-each-ref", "refs/send-mergereq") == ""  # nothing fetched


@pytest.mark.parametrize("how", ["path", "relative", "file-url", "own"])
def test_a_local_repository_needs_allow_local(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str],
    how: str,
) -> None:  # fmt: skip
    sub.signed_pull("one", keys.good)
    url = {
        "path": sub.url,
        "relative": "../sub",
        "file-url": f"file://{sub.url}",
        "own": str(main_repo.path),
    }[how]
    state = snapshot(main_repo.path)
    code, out = _run(main_repo, "--url", url, "--tag", "pull-one", capsys=capsys)
    assert code == 2, out
    assert f"{url} is a local repository" in out
    assert "hint: pass --allow-local" in out
    assert snapshot(main_repo.path) == state
    if how != "own":
        code, out = _run(main_repo, "--allow-local", "--url", url, "--tag", "pull-one",
                         capsys=capsys)  # fmt: skip
        assert code == 0, out
        assert "applied pull-one" in out


def test_git_itself_refuses_what_the_list_leaves_out(main_repo: Repo, sub: Submaintainer) -> None:
    """The second wall: were the reading above ever wrong, GIT_ALLOW_PROTOCOL still holds."""
    canary = main_repo.path.parent / "pwned"
    with pytest.raises(GitError, match="not allowed"):
        git.fetch_tag(main_repo.path, f"ext::sh -c touch% {canary}", "t", "refs/x/t",
                      protocols=allowed_protocols(True))  # fmt: skip
    assert not canary.exists()
    with pytest.raises(GitError, match="not allowed"):
        git.fetch_tag(main_repo.path, sub.url, "t", "refs/x/t", protocols=allowed_protocols(False))
