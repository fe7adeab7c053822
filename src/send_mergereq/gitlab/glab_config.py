"""glab's stored login: the ``hosts:`` map of its ``config.yml``, read without a YAML library.

glab (``glab auth login``) writes ``$GLAB_CONFIG_DIR/config.yml``, else
``~/.config/glab-cli/config.yml``, else ``$XDG_CONFIG_HOME/glab-cli/config.yml``: a
block-style YAML file, comments above the keys, four-space indents, one entry per host
under ``hosts:`` (``127.0.0.1:8080:`` for a host with a port) with ``token``,
``api_host``, ``api_protocol``, ``is_oauth2``, ``user``, ... Only that map is read,
only its first level per host; anything else in the file is skipped, never evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 1 << 20  # a config file larger than this is not glab's


@dataclass(frozen=True)
class GlabHost:
    """One entry of ``hosts:``; ``fields`` as strings ("" for an empty or null value)."""

    name: str  # the key: host or host:port
    fields: Mapping[str, str]

    @property
    def token(self) -> str:
        return self.fields.get("token", "").strip()

    @property
    def oauth2(self) -> bool:
        return self.fields.get("is_oauth2", "").strip().lower() == "true"

    def serves(self, netloc: str) -> bool:
        """Whether this entry is for ``netloc`` (``host[:port]``, lowercase)."""
        names = {self.name.lower(), self.fields.get("api_host", "").strip().lower()}
        return netloc.lower() in names


def config_path(env: Mapping[str, str]) -> Path | None:
    """The file glab reads: ``GLAB_CONFIG_DIR`` wins; then the legacy
    ``~/.config/glab-cli``, then ``$XDG_CONFIG_HOME/glab-cli`` (the first that exists)."""
    if env.get("GLAB_CONFIG_DIR"):
        return Path(env["GLAB_CONFIG_DIR"]).expanduser() / "config.yml"
    candidates = []
    if env.get("HOME"):
        candidates.append(Path(env["HOME"]) / ".config" / "glab-cli" / "config.yml")
    if env.get("XDG_CONFIG_HOME"):
        candidates.append(Path(env["XDG_CONFIG_HOME"]) / "glab-cli" / "config.yml")
    return next((p for p in candidates if p.is_file()), candidates[0] if candidates else None)


def read_hosts(path: Path) -> list[GlabHost] | None:
    """The ``hosts:`` entries of ``path``; None when there is no such file."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if len(data) > MAX_BYTES:
        return []
    return parse_hosts(data.decode("utf-8", errors="replace"))


def parse_hosts(text: str) -> list[GlabHost]:
    """The entries of the top-level ``hosts:`` map, in file order."""
    hosts: list[GlabHost] = []
    in_hosts = False
    host_indent: int | None = None
    field_indent: int | None = None
    fields: dict[str, str] | None = None
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        key, value = split_entry(stripped)
        if indent == 0:
            in_hosts, host_indent, fields = key == "hosts" and value == "", None, None
            continue
        if not in_hosts or key is None:
            continue
        host_indent = indent if host_indent is None else host_indent
        if indent == host_indent:
            field_indent, fields = None, {}
            hosts.append(GlabHost(key, fields))
        elif indent < host_indent:
            fields = None  # not glab's shape: read nothing more for this entry
        elif fields is not None:
            field_indent = indent if field_indent is None else field_indent
            if indent == field_indent:
                fields[key] = value
    return hosts


def split_entry(line: str) -> tuple[str | None, str]:
    """``key: value`` (a comment after the value dropped, quotes undone) -> (key, value);
    ``(None, "")`` for a line that is not a mapping entry (a list item, a flow value)."""
    if line.startswith(("-", "[", "{")):
        return None, ""
    if line[0] in "\"'":
        key, rest = _quoted(line)
        if key is None or not rest.startswith(":"):
            return None, ""
        return key, scalar(rest[1:])
    at = line.find(": ")
    if at < 0:
        return (line[:-1].strip(), "") if line.endswith(":") else (None, "")
    return line[:at].strip(), scalar(line[at + 2 :])


def scalar(text: str) -> str:
    """A YAML plain or quoted scalar as a string; null, ``~`` and tags give ""."""
    text = text.strip()
    if text.startswith("!!"):  # a tag: !!null, !!str VALUE
        tag, _, text = text.partition(" ")
        if tag == "!!null":
            return ""
        text = text.strip()
    if text[:1] in ("'", '"'):
        value, _ = _quoted(text)
        return value or ""
    text = text.split(" #", 1)[0].strip()
    return "" if text in ("~", "null", "Null", "NULL") else text


def _quoted(text: str) -> tuple[str | None, str]:
    """A quoted scalar at the start of ``text`` and what follows it."""
    quote, out, i = text[0], [], 1
    while i < len(text):
        char = text[i]
        if quote == "'" and char == "'":
            if text[i + 1 : i + 2] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out), text[i + 1 :].strip()
        if quote == '"' and char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
            continue
        if quote == '"' and char == '"':
            return "".join(out), text[i + 1 :].strip()
        out.append(char)
        i += 1
    return None, ""
