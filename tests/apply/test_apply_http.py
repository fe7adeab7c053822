"""A pull request whose tag a submaintainer published on a GitLab project (the sandbox,
over git's smart HTTP on loopback): ``git request-pull`` names the HTTP URL, ``apply``
fetches the tag from there anonymously (a public project) and merges it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pulls_helpers import Submaintainer, eml, snapshot

from gitrepo import Repo
from keys import Keys, git_config_env, pull_request, sign_tag
from send_mergereq.cli import run as cli_run
from send_mergereq.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(time_scale=0) as sb:
        yield sb
        assert sb.errors == []


def test_fetch_over_smart_http(
    main_repo: Repo, sub: Submaintainer, keys: Keys, sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    project = sandbox.create_project("sue/qemu", visibility="public")
    url = project.http_url_to_repo
    pull_request(sub.repo.path, "net", "master", 3)
    sign_tag(sub.repo.path, "pull-net", keys.good, "pr/net")
    token = git_config_env(**{"http.extraHeader": f"PRIVATE-TOKEN: {sandbox.token}"})
    sub.repo.git("push", "-q", url, "master", "pull-net", env=token)
    email = eml(sub.request_pull("master", "pull-net", url))
    assert f"  {url} tags/pull-net" in email.decode()
    path = main_repo.path.parent / "net.eml"
    path.write_bytes(email)

    code = cli_run(["apply", "-C", str(main_repo.path), "--target", "master", str(path)])
    out = capsys.readouterr()
    assert code == 0, out
    assert "applied pull-net: 3 commits" in out.out
    subject = main_repo.git("log", "-1", "--format=%s", "staging")
    assert subject == f"Merge tag 'pull-net' of {url.removesuffix('.git')} into staging"
    assert main_repo.git("rev-parse", "refs/send-mergereq/pulls/pull-net^{commit}") == (
        sub.repo.git("rev-parse", "pr/net")
    )
    assert main_repo.git("remote") == ""

    # a tag the project does not have: git's reason, one line, exit 6, nothing changed
    state = snapshot(main_repo.path)
    code = cli_run(["apply", "-C", str(main_repo.path), "--target", "master", "--url", url,
                    "--tag", "pull-none"])  # fmt: skip
    out = capsys.readouterr()
    assert code == 6
    assert "couldn't find remote ref refs/tags/pull-none" in out.out
    assert snapshot(main_repo.path) == state
