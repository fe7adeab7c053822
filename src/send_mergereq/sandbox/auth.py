"""Where a request carries its token, the way GitLab accepts them."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl

FILTERED = "[FILTERED]"
_QUERY_TOKEN_KEYS = ("private_token", "access_token", "job_token")


def header_token(headers: Mapping[str, str]) -> str | None:
    """The token from ``PRIVATE-TOKEN``, ``Authorization: Bearer`` or Basic auth (password).

    ``headers`` has lower-case names.
    """
    private = headers.get("private-token")
    if private:
        return private.strip()
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def query_token(query: str) -> str | None:
    """A token passed in the URL (``?private_token=…``), which GitLab accepts but logs leak."""
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in _QUERY_TOKEN_KEYS and value:
            return value
    return None


def redact_path(raw_path: str, token: str) -> tuple[str, bool]:
    """``raw_path`` with token parameters and the token filtered; whether any was there."""
    pattern = r"((?:" + "|".join(_QUERY_TOKEN_KEYS) + r")=)[^&]*"
    redacted, count = re.subn(pattern, r"\g<1>" + FILTERED, raw_path)
    if token and token in redacted:
        redacted = redacted.replace(token, FILTERED)
        count += 1
    return redacted, count > 0
