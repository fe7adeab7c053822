"""A commit's own ``encoding`` header names a codec that reads escapes or encodes Unicode
itself (``unicode_escape``, ``punycode``, ``utf-7``): its bytes are never decoded with it,
and every report (``--json``, JUnit, Code Quality, the terminal) stays valid Unicode.
It was exit 70 (UnicodeEncodeError) with a 0-byte report, and ``--json`` held ``\\ud800``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from send_mergereq.checks.encodings import describe, is_charset, valid_text
from send_mergereq.checks.finding import Finding, Severity
from test_ci_reports import invoke

SOB = b"\n\nSigned-off-by: Ada Author <ada@example.org>\n"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _valid(text: str) -> bool:
    return not any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def _hostile(repo: Any, encoding: bytes, message: bytes) -> str:
    raw = b"tree %s\nparent %s\n" % (repo.tree().encode(), repo.head().encode())
    raw += b"author Ada Author <ada@example.org> 1700000000 +0000\n"
    raw += b"committer Max Maintainer <max@example.org> 1700000000 +0000\n"
    raw += b"encoding " + encoding + b"\n\n" + message + SOB
    return str(repo.raw_commit(raw, branch="staging"))


@pytest.mark.parametrize(
    ("encoding", "message"),
    [
        (b"unicode_escape", b"bad \\ud800 \xff here"),
        (b"raw_unicode_escape", b"bad \\udfff\xe9 here"),
        (b"punycode", b"bad \xff-\xfe here"),
        (b"utf-7", b"bad +2AA- \xff here"),
        (b"UTF7", b"+2AA-\x93quoted\x94"),
    ],
)
def test_a_hostile_encoding_header_is_exit_3_with_valid_unicode_reports(
    make_repo: Any, tmp_path: Path, encoding: bytes, message: bytes
) -> None:
    repo = make_repo()
    sha = _hostile(repo, encoding, message)
    junit, cq = tmp_path / "junit.xml", tmp_path / "cq.json"
    args = ["check", "master..staging", "--json", "--report", f"junit={junit}",
            "--report", f"codequality={cq}"]  # fmt: skip
    code, out, err = invoke(repo, *args)
    assert code == 3, err
    doc = json.loads(out)
    assert doc["exit_code"] == 3
    assert all(_valid(s) for s in _strings(doc)), doc
    utf8 = [f for f in doc["findings"] if f["check"] == "utf8" and f["commit"] == sha]
    assert any(f["severity"] == "error" and "not valid UTF-8" in f["message"] for f in utf8)
    assert any(
        f"declares the legacy encoding {encoding.decode()!r}" in f["message"]
        and "not a character set" in f["message"]
        for f in utf8
    ), utf8
    assert "\\ud8" not in out.replace("\\\\ud8", "")  # no surrogate escaped into the JSON
    ET.parse(junit)  # well-formed XML (a lone surrogate cannot even be written)
    assert all(_valid(s) for s in _strings(json.loads(cq.read_text())))
    code, text, err = invoke(repo, "check", "master..staging")  # the terminal report too
    assert code == 3, err
    assert _valid(text)


def test_only_character_sets_decode() -> None:
    for name in ("utf-8", "latin1", "ISO-8859-15", "windows-1252", "koi8-r", "shift_jis",
                 "euc-jp", "gb18030", "big5", "utf-16le", "iso2022_jp", "mac-roman"):  # fmt: skip
        assert is_charset(name), name
    for name in ("unicode_escape", "raw_unicode_escape", "punycode", "utf-7", "idna",
                 "base64", "rot13", "charmap", "undefined", "nonsense", ""):  # fmt: skip
        assert not is_charset(name), name
    said = describe(b"bad \\ud800 \xff", b"bad \\ud800 \xff", b"unicode_escape")
    assert _valid(said) and "unicode_escape" not in said


def test_a_finding_never_holds_a_lone_surrogate() -> None:
    finding = Finding("x", Severity.ERROR, "0" * 40, "a \ud800 b", "c \udfff", about="\ud83d")
    assert (finding.message, finding.hint, finding.about) == ("a \ufffd b", "c \ufffd", "\ufffd")
    assert valid_text("plain") == "plain" and valid_text("Jérôme") == "Jérôme"
