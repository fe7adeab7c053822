"""``GITLAB_TOKEN`` does not go to a remote on another host than the one it is for
(issue 25 §7), run through the installed CLI: the remote is a recording loopback origin in
front of the sandbox, so every header that reaches it is seen."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from e2e_helpers import PROJECT, MakeMaintainer, api_calls

from hostile_http import proxy

pytestmark = pytest.mark.e2e

FOR_GITLAB_COM = "glpat-FORgitlabCOMe2e0123456"


def _forms(token: str) -> list[str]:
    return [token, base64.b64encode(f"oauth2:{token}".encode()).decode()]


def test_gitlab_host_elsewhere_keeps_gitlab_token_from_the_remote(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer()
    who.extra_env["GITLAB_HOST"] = "gitlab.com"
    hostport = urlsplit(who.sandbox.url).netloc

    rc, out, err = who.run("staging")  # GITLAB_TOKEN: the sandbox's own, which would work

    assert rc == 2, out + err
    cfg = Path(who.demo.env["HOME"]) / ".python-gitlab.cfg"
    assert err.splitlines()[0] == (
        f"send-mergereq: no GitLab token for {who.sandbox.url}: GITLAB_TOKEN is for "
        f"gitlab.com (GITLAB_HOST), not for {hostport}, so it is not sent there; looked in "
        f"glab's config, {cfg} (no section with url = {who.sandbox.url}), and git "
        "credential fill"
    )
    assert f"export GITLAB_HOST={hostport}" in err
    assert not any(r.authenticated for r in who.sandbox.request_log)
    assert who.remote_sha("staging") is None


def test_glab_login_of_the_remote_is_used_and_gitlab_token_is_said_to_be_for_another(
    maintainer: MakeMaintainer,
) -> None:
    who = maintainer()
    with proxy(who.sandbox.url) as front:
        hostport = urlsplit(front.url).netloc
        config = Path(who.demo.env["HOME"]) / ".config" / "glab-cli" / "config.yml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            "host: gitlab.com\nhosts:\n"
            f"    gitlab.com:\n        api_host: gitlab.com\n        token: {FOR_GITLAB_COM}\n"
            f"    {hostport}:\n        api_host: {hostport}\n        api_protocol: http\n"
            f"        token: {who.sandbox.token}\n"
        )
        who.git("remote", "set-url", "origin", f"{front.url}/{PROJECT}.git")

        rc, out, err = who.run("staging", token=FOR_GITLAB_COM)

    assert rc == 0, out + err
    note = (
        f"GITLAB_TOKEN is glab's login for gitlab.com ({config}), not for {hostport}: "
        f"using {config} (glab, host {hostport})"
    )
    assert (out + err).splitlines().count(note) == 1  # said once
    for secret in _forms(FOR_GITLAB_COM):
        assert front.carrying(secret) == []
    assert all(r.authenticated for r in api_calls(who.sandbox.request_log))
    assert who.remote_sha("staging") == who.git("rev-parse", "staging")
