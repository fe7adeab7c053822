"""Which git transports a pull request's URL may use: read as git reads it, before git
runs. Pure.

An email names the URL ``apply`` fetches from, so the email picks the transport, and
git has many: ``fd::0`` reads the pack from a file descriptor (the fetch then hangs),
``ext::CMD`` runs a command, ``file://``, ``../sub`` or the maintainer's own repository
read local files. Only the network transports a submaintainer publishes on are taken:
``https``, ``http``, ``git`` and ``ssh`` (``ssh://`` and scp-like ``host:path``); a local
path or ``file://`` only when the maintainer says so (``--allow-local``). Everything else
is refused here, and ``GIT_ALLOW_PROTOCOL`` (``allowed_protocols``) holds git to the
same list should this reading and git's ever differ.
"""

from __future__ import annotations

import re

NETWORK = ("https", "http", "git", "ssh")
_SCHEMES = {"https": "https", "http": "http", "git": "git", "ssh": "ssh",
            "git+ssh": "ssh", "ssh+git": "ssh", "file": "file"}  # fmt: skip
_HELPER = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")  # git's <transport>::<address>
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
MAX_URL = 2048


def allowed_protocols(allow_local: bool) -> str:
    """``GIT_ALLOW_PROTOCOL`` for the fetch: git refuses any other transport itself."""
    return ":".join([*NETWORK, *(["file"] if allow_local else [])])


def transport(url: str) -> str:
    """The transport git would use for ``url``: ``https``, ``http``, ``git``, ``ssh``,
    ``file`` (a local path too), or what it is when it is none of them (``helper fd``,
    ``scheme ftp``)."""
    helper = _HELPER.match(url)
    if helper:
        return f"helper {helper.group(0)[:-2]}"
    scheme = _URL.match(url)
    if scheme:
        name = scheme.group(1).lower()
        return _SCHEMES.get(name, f"scheme {name}")
    colon, slash = url.find(":"), url.find("/")
    if colon >= 0 and (slash < 0 or colon < slash):
        return "ssh"  # scp-like [user@]host:path, as git's url_is_local_not_ssh reads it
    return "file"


def _ssh_host(url: str) -> str:
    """``[user@]host`` of an ssh URL (``ssh://[user@]host[:port]/path`` or scp-like
    ``[user@]host:path``), with any ``[`` of ``[host:port]`` dropped."""
    scheme = _URL.match(url)
    where = url[scheme.end() :].split("/", 1)[0] if scheme else url.split(":", 1)[0]
    return where.lstrip("[")


def _starts_an_option(where: str) -> bool:
    return any(part.startswith("-") for part in where.split("@"))


def refusal(url: str, allow_local: bool) -> tuple[str, str] | None:
    """Why ``url`` is not fetched (message, hint), or None when it may be."""
    if not url or len(url) > MAX_URL or url.startswith("-"):
        return f"{url[:80]!r} is not a repository URL", _HINT
    if any(ord(c) < 0x20 or c == "\x7f" for c in url):
        return f"{url[:80]!r}: a URL with control characters", _HINT
    return _by_transport(url, allow_local)


def _by_transport(url: str, allow_local: bool) -> tuple[str, str] | None:
    kind = transport(url)
    if kind == "ssh" and _starts_an_option(_ssh_host(url)):
        return f"{url}: an ssh host or user that reads as an option", _HINT
    if kind in NETWORK:
        return None
    if kind == "file":
        if allow_local:
            return None
        return (
            f"{url} is a local repository: apply fetches pull requests from the network "
            "(https, http, git, ssh)",
            "pass --allow-local to fetch from a local path or file:// URL you trust",
        )
    return f"{url}: transport '{kind.split()[-1]}' is not allowed (https, http, git, ssh)", _HINT


_HINT = "ask the submitter for an https, http, git or ssh URL of their repository"
