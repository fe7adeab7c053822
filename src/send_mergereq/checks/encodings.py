"""Show bytes that are not UTF-8 in context, and guess what encoding they are in.

chardet guesses poorly on a name or one line, so: bytes in 0x80-0x9F that
decode as windows-1252 are windows-1252 (curly quotes, dashes), even when the
commit declares ISO-8859-1 (0x80-0x9F are only C1 controls there); otherwise,
when bytes not ASCII come two in a row, a non-Latin guess from chardet is trusted
(Cyrillic, CJK…) if it reads ASCII as ASCII; otherwise the bytes are read as
ISO-8859-1. chardet is imported only when it is asked.
"""

from __future__ import annotations

import codecs
import functools
import re

from send_mergereq.terminal import CONTROLS, visible

_CONTEXT = 24
_LATIN_GUESSES = {
    "ascii", "windows-1250", "windows-1252", "windows-1254", "windows-1257",
    "iso-8859-1", "iso-8859-2", "iso-8859-9", "iso-8859-15", "iso-8859-16",
    "macroman", "maclatin2", "macturkish", "maciceland", "cp850", "cp437", "utf-8",
}  # fmt: skip


def bad_utf8_at(data: bytes) -> int | None:
    """Offset of the first byte that is not valid UTF-8, or None when ``data`` is valid."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def _window(data: bytes, at: int) -> tuple[bytes, str]:
    """The bytes around offset ``at``, and them shown as text with … where cut."""
    start, end = max(0, at - _CONTEXT), min(len(data), at + _CONTEXT)
    window = data[start:end]
    return window, f"{'…' if start else ''}{shown_bytes(window)}{'…' if end < len(data) else ''}"


def shown_bytes(data: bytes) -> str:
    """``data`` as quoted text: UTF-8 read as such, every other byte and every control
    character escaped as ``\\xNN`` (a backslash or quote as ``\\\\``, ``\\"``), so the
    bytes can be read back from it: ``"J\\xe9r\\xf4me"`` for Latin-1 ``Jérôme``."""
    text = data.decode("utf-8", errors="surrogateescape")
    return '"' + text.translate(_SHOWN) + '"'


# Character sets, by the name Python's codecs give them: never a codec that reads escapes
# or encodings of Unicode itself (unicode_escape, raw_unicode_escape, punycode, utf-7,
# idna: a commit's own ``encoding`` header could name them, and their "text" can hold lone
# surrogates that no output can write), nor a bytes-to-bytes one (base64, rot13).
_CHARSETS = re.compile(
    r"(ascii|utf-8(-sig)?|utf-(16|32)(-[bl]e)?|iso8859-[0-9]+|latin-1|cp[0-9]+|mac-[a-z]+"
    r"|koi8-[a-z]+|kz1048|ptcp154|tis-620|big5(hkscs)?|gb2312|gbk|gb18030|hz|johab"
    r"|euc_[a-z0-9_]+|shift_jis[a-z0-9_]*|iso2022_[a-z0-9_]+)"
)
_SURROGATES = re.compile("[\ud800-\udfff]")


def is_charset(name: str) -> bool:
    """Whether ``name`` is a character set text may be decoded with (see ``_CHARSETS``)."""
    try:
        found = codecs.lookup(name.strip())
    except (LookupError, ValueError):
        return False
    return _CHARSETS.fullmatch(found.name) is not None


def valid_text(text: str) -> str:
    """``text`` with any lone surrogate replaced by U+FFFD: what every output can write."""
    return text if text.isascii() else _SURROGATES.sub("\ufffd", text)


def _decode(data: bytes, encoding: str) -> str | None:
    if not is_charset(encoding):
        return None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    return None if _SURROGATES.search(text) else text


_SAMPLE = 1024  # bytes of a sample chardet reads: its cost grows with them (u-boot's 55
# guesses: 0.3 s on whole messages), and the lines with bytes not ASCII are what it goes by


def _sample(data: bytes) -> bytes:
    """The lines of ``data`` with bytes that are not ASCII, up to ``_SAMPLE`` bytes."""
    if len(data) <= _SAMPLE:
        return data
    lines = (line for line in data.split(b"\n") if not line.isascii())
    return b"\n".join(lines)[:_SAMPLE] or data[:_SAMPLE]


@functools.lru_cache(maxsize=1024)
def _detect(sample: bytes) -> str | None:
    """chardet's guess for ``sample``, asked once per distinct sample (a name repeats over a
    history; each call costs milliseconds, the first one its models' load)."""
    import chardet

    detected = chardet.detect(sample).get("encoding")
    return str(detected) if detected else None


# Two bytes not ASCII in a row: what a script that is not Latin writes (a word of Cyrillic
# or Greek in a single-byte set, every character of a multibyte one but the few whose
# second byte is ASCII). A sample without any is Latin (a name's accented letters, each
# between ASCII ones): chardet is not asked (on u-boot it was 157 times of 159, each
# process paying 0.17 s to load it; and it answered EBCDIC for "Klotzb\xfcmk@pol").
_PAIRED = re.compile(rb"[\x80-\xff]{2}")
_ASCII_TEXT = bytes(range(0x20, 0x7F))


@functools.lru_cache(maxsize=64)
def _reads_ascii(encoding: str) -> bool:
    """Whether ``encoding`` reads ASCII as ASCII, as every encoding of a commit does (git
    writes its headers in ASCII): chardet may name EBCDIC (cp500) or UTF-16, which do not."""
    try:
        return _ASCII_TEXT.decode(encoding) == _ASCII_TEXT.decode("ascii")
    except (UnicodeDecodeError, LookupError, ValueError):
        return False


def guess_encoding(data: bytes, sample: bytes | None = None) -> tuple[str, str] | None:
    """``(encoding, text)`` that ``data`` probably is; ``sample`` (more text) helps chardet."""
    if any(0x80 <= byte <= 0x9F for byte in data):
        text = _decode(data, "cp1252")
        if text is not None:
            return "windows-1252", text
    sampled = _sample(sample or data)
    detected = _detect(sampled) if _PAIRED.search(sampled) else None
    if detected and not _latin(detected) and not detected.lower().startswith("utf"):
        text = _decode(data, detected) if _reads_ascii(detected) else None
        if text is not None:
            return detected, text
    if not any(0x80 <= byte <= 0x9F for byte in data):
        return "ISO-8859-1", data.decode("latin-1")
    return None


@functools.cache
def _latin_codecs() -> frozenset[str]:
    """``_LATIN_GUESSES`` as Python's codecs name them (each lookup imports its codec)."""
    return frozenset(codecs.lookup(name).name for name in _LATIN_GUESSES)


def _latin(name: str) -> bool:
    """Whether chardet's ``name`` is one of the Latin guesses, however it spells it
    (``iso8859-16`` and ``ISO-8859-16`` alike)."""
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return name.lower() in _LATIN_GUESSES
    return canonical in _latin_codecs()


def describe(data: bytes, sample: bytes, declared: bytes | None = None) -> str:
    """``"J\\xe9r\\xf4me" — looks like ISO-8859-1: "Jérôme"`` for the first bad spot in data."""
    at = bad_utf8_at(data) or 0
    window, shown = _window(data, at)
    guess = _declared(window, declared) or guess_encoding(window, sample)
    if guess is None:
        return f"{shown} (encoding unknown)"
    encoding, text = guess
    return f'{shown} — looks like {encoding}: "{visible(text.strip())}"'


_SHOWN = {
    **CONTROLS,
    ord("\\"): "\\\\",
    ord('"'): '\\"',
    **{0xDC80 + b: f"\\x{0x80 + b:02x}" for b in range(0x80)},  # undecodable bytes
}


def _declared(data: bytes, declared: bytes | None) -> tuple[str, str] | None:
    if not declared:
        return None
    name = declared.decode("ascii", errors="replace").strip()
    text = _decode(data, name)
    if text is not None and any("\x80" <= ch <= "\x9f" for ch in text):
        # C1 controls: what is declared ISO-8859-1 (or read as it) but holds 0x80-0x9F is
        # windows-1252 (curly quotes, dashes), as browsers read it
        return guess_encoding(data) or (name, text)
    return (name, text) if text is not None else None
