"""The token never follows git to another origin (issue 25 §1).

The remote is a loopback origin of its own in front of the sandbox (``hostile_http.proxy``)
that redirects git's first request (``info/refs``) to a second origin on another port,
which forwards to the sandbox too and records every header it gets: were git to follow, the
whole push or fetch would succeed through it, carrying ``http.<origin>.extraHeader``. The
installed CLI must refuse: exit 6, one line naming both origins, and no request of git's,
let alone its token, at the other origin."""

from __future__ import annotations

import base64
import http.client
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from e2e_helpers import PROJECT, Maintainer, MakeMaintainer

from hostile_http import Answer, Server, proxy

pytestmark = pytest.mark.e2e

SERVICES = {"push": "git-receive-pack", "fetch": "git-upload-pack"}


def _forms(token: str) -> list[str]:
    return [token, base64.b64encode(f"oauth2:{token}".encode()).decode()]


@contextmanager
def _other_origin(who: Maintainer) -> Iterator[Server]:
    """Another origin, as an attacker would run it: it answers git's ref advertisement
    itself (asking the sandbox with a token of its own, so git needs no credentials there)
    and forwards the rest, recording every header: a git that followed the redirect would
    send it the next requests with the victim's ``http.<origin>.extraHeader``."""
    sandbox = urlsplit(who.sandbox.url)

    def advertise(method: str, path: str) -> Answer | None:
        if "/info/refs?service=" not in path:
            return None
        conn = http.client.HTTPConnection(sandbox.hostname, sandbox.port, timeout=30)
        conn.request(method, path, headers={"PRIVATE-TOKEN": who.sandbox.token})
        got = conn.getresponse()
        answer = Answer(got.status, got.read(), {"Content-Type": got.getheader("Content-Type", "")})
        conn.close()
        return answer

    with proxy(who.sandbox.url, advertise) as other:
        yield other


def _redirecting(
    other: Server, services: tuple[str, ...], status: int
) -> Callable[..., Answer | None]:
    def divert(method: str, path: str) -> Answer | None:
        if any(path.endswith(f"/info/refs?service={s}") for s in services):
            return Answer(status, b"", {"Location": other.url + path})
        return None

    return divert


def _run_redirected(who: Maintainer, status: int, command: str) -> tuple[int, str, Server, str]:
    """Run ``send-mergereq staging`` with ``origin`` behind a front that redirects the
    ``info/refs`` of ``command`` (push or fetch) to another origin."""
    with _other_origin(who) as other:
        divert = _redirecting(other, (SERVICES[command],), status)
        with proxy(who.sandbox.url, divert) as front:
            who.git("remote", "set-url", "origin", f"{front.url}/{PROJECT}.git")
            rc, out, err = who.run("staging")
            return rc, out + err, other, front.url


@pytest.mark.parametrize("status", [301, 302, 307, 308])
@pytest.mark.parametrize("command", ["push", "fetch"])
def test_a_redirect_of_git_to_another_origin_is_refused_without_the_token(
    maintainer: MakeMaintainer, status: int, command: str
) -> None:
    who = maintainer()
    before = who.remote_sha("staging")

    rc, said, other, front = _run_redirected(who, status, command)

    assert rc == 6, said
    lines = [line for line in said.splitlines() if line.startswith("send-mergereq:")]
    assert lines == [
        f"send-mergereq: git {command}: origin at {front} redirected ({status}) to "
        f"{other.url}, another origin: not followed, the token goes only to {front}"
    ], said
    assert "Traceback" not in said
    assert other.seen == []  # git never went there: no request, no header, no token
    for secret in _forms(who.token):
        assert secret not in said
    assert who.remote_sha("staging") == before  # nothing pushed
    if command == "fetch":
        assert "checks passed" not in said  # refused before the checks ran


def test_the_token_does_not_follow_even_where_the_user_config_follows_redirects(
    maintainer: MakeMaintainer,
) -> None:
    """git's most specific ``http.<url>.followRedirects`` wins: the user's ``true`` for the
    remote's own URL does not send the token along a redirect either."""
    who = maintainer()
    with _other_origin(who) as other:
        divert = _redirecting(other, tuple(SERVICES.values()), 302)
        with proxy(who.sandbox.url, divert) as front:
            url = f"{front.url}/{PROJECT}.git"
            who.git("remote", "set-url", "origin", url)
            who.git("config", f"http.{front.url}/.followRedirects", "true")
            who.git("config", f"http.{url}.followRedirects", "true")
            rc, out, err = who.run("staging")

    assert rc == 6, out + err
    assert other.carrying(_forms(who.token)[1]) == []
    assert all("Authorization" not in record for record in other.seen)


def test_git_through_a_front_that_does_not_redirect_carries_the_token(
    maintainer: MakeMaintainer,
) -> None:
    """The front itself is a faithful origin: without a redirect the same run goes through
    it, token and all (so the refusals above are the redirect's, not the front's)."""
    who = maintainer()
    with proxy(who.sandbox.url) as front:
        who.git("remote", "set-url", "origin", f"{front.url}/{PROJECT}.git")
        rc, out, err = who.run("staging")
    assert rc == 0, out + err
    git_requests = [r for r in front.seen if "/info/refs" in r["path"]]
    assert {r["path"].rsplit("=", 1)[1] for r in git_requests} == set(SERVICES.values())
    assert all(r.get("Authorization", "").startswith("Basic ") for r in git_requests)
