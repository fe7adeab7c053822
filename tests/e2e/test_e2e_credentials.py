"""Credentials and remotes as a maintainer meets them: glab's login is used, a missing
remote is said before the checks run, a GitHub remote is not a GitLab remote."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from e2e_helpers import MakeMaintainer, api_calls

pytestmark = pytest.mark.e2e

GLAB = Path(__file__).parent.parent / "forge" / "data" / "glab-config.yml"


def test_glab_login_supplies_the_token(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")
    hostport = urlsplit(who.sandbox.url).netloc
    config = Path(who.demo.env["HOME"]) / ".config" / "glab-cli" / "config.yml"
    config.parent.mkdir(parents=True, exist_ok=True)
    text = GLAB.read_text().replace("HOSTPORT", hostport).replace("TOKEN", who.sandbox.token)
    config.write_text(text)
    config.chmod(0o600)

    rc, out, err = who.run("staging", token="")  # no GITLAB_TOKEN: glab's login

    assert rc == 0, err
    assert "opened merge request !1" in out
    assert who.remote_sha("staging") == who.git("rev-parse", "staging")
    assert all(r.authenticated for r in api_calls(who.sandbox.request_log))
    assert who.sandbox.token not in out + err


def test_no_remote_is_said_before_the_checks(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")
    who.git("remote", "remove", "origin")
    who.commit("hw/misc: no sign-off", trailer=False)  # the checks would fail (exit 3)

    rc, out, err = who.run("staging")

    assert rc == 2, out + err
    assert "no git remote to push staging to" in err
    assert "signoff" not in out + err  # said first: the checks did not run


def test_a_github_remote_is_not_a_gitlab_remote(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")
    who.git("remote", "set-url", "origin", "https://github.com/qemu/qemu.git")

    rc, _, err = who.run("staging", token="")

    assert rc == 2
    assert "is not a GitLab remote: github.com is GitHub" in err
    assert "personal_access_tokens" not in err and "GITLAB_TOKEN" not in err


def test_status_of_a_missing_merge_request(maintainer: MakeMaintainer) -> None:
    who = maintainer("green")

    rc, out, err = who.run("status", "!99")

    assert rc == 2, out + err
    assert err.splitlines()[0] == "send-mergereq: no merge request !99 in qemu-project/qemu"
    assert "404" not in err.replace(who.sandbox.url, "")  # no status code (the port may hold one)
