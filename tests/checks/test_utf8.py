from __future__ import annotations

from collections.abc import Callable

import pytest

from send_mergereq.checks import utf8
from send_mergereq.checks.encodings import describe, guess_encoding
from send_mergereq.checks.finding import CheckContext, Finding, Severity
from send_mergereq.history import RawCommit

Plant = Callable[..., RawCommit]
SOB = b"\n\nSigned-off-by: Ada Author <ada@example.org>\n"


def findings(commit: RawCommit, opts: utf8.Options | None = None) -> list[Finding]:
    return list(utf8.check(commit, CheckContext(), opts or utf8.Options()))


def test_clean_commit_with_real_utf8_passes(plant: Plant) -> None:
    commit = plant(
        "Fix “quotes” — naïve café 日本\n\nBody: Ünïcödé".encode() + SOB,
        author="Jérôme Glisse <jglisse@example.org>".encode(),
    )
    assert findings(commit) == []


def test_latin1_author_name_is_named_shown_and_guessed(plant: Plant) -> None:
    commit = plant(author="Jérôme Glisse <jglisse@example.org>".encode("latin-1"))
    (found,) = findings(commit)
    assert found.check == "utf8" and found.severity is Severity.ERROR
    assert found.commit == commit.sha
    assert found.message.startswith('author name is not valid UTF-8: "J\\xe9r\\xf4me Glisse"')
    assert 'looks like ISO-8859-1: "Jérôme Glisse"' in found.message
    assert "resend" in found.hint


def test_latin1_committer_name_is_reported_as_committer(plant: Plant) -> None:
    commit = plant(committer="Max Müller <max@example.org>".encode("latin-1"))
    (found,) = findings(commit)
    assert found.message.startswith("committer name is not valid UTF-8")


def test_bad_email_is_its_own_field(plant: Plant) -> None:
    commit = plant(author=b"Ada <ad\xe4@example.org>")
    assert [f.message.split(" is ")[0] for f in findings(commit)] == ["author email"]


def test_windows_1252_bytes_in_message_body(plant: Plant) -> None:
    message = b"Fix parser\n\nThis handles \x93things\x94 better.\n" + SOB[2:]
    (found,) = findings(plant(message))
    assert found.message.startswith("message line 3 is not valid UTF-8")
    assert "\\x93things\\x94" in found.message
    assert "looks like windows-1252" in found.message and "“things”" in found.message


def test_bad_subject_and_more_lines_are_counted(plant: Plant) -> None:
    message = b"Caf\xe9 fix\n\nna\xefve\nand \xe0 la\n"
    (found,) = findings(plant(message))
    assert found.message.startswith("message subject is not valid UTF-8 (and 2 more lines)")


def test_long_line_is_shown_in_context_with_ellipses(plant: Plant) -> None:
    message = b"S\n\n" + b"a" * 100 + b"\xe9" + b"b" * 100 + b"\n"
    (found,) = findings(plant(message))
    assert '…"aaaa' in found.message and 'bbbb"…' in found.message
    assert len(found.message) < 250


def test_legacy_encoding_header_alone_is_a_warning(plant: Plant) -> None:
    (found,) = findings(plant(headers=b"encoding ISO-8859-1\n"))
    assert found.severity is Severity.WARNING
    assert "'ISO-8859-1'" in found.message and "encoding" in found.message


def test_encoding_header_severity_is_configurable(plant: Plant) -> None:
    commit = plant(headers=b"encoding ISO-8859-1\n")
    assert findings(commit, utf8.Options(encoding_header=Severity.OFF)) == []
    (found,) = findings(commit, utf8.Options(encoding_header=Severity.ERROR))
    assert found.severity is Severity.ERROR


@pytest.mark.parametrize("name", [b"UTF-8", b"utf8", b"utf-8"])
def test_utf8_encoding_header_is_fine(plant: Plant, name: bytes) -> None:
    assert findings(plant(headers=b"encoding " + name + b"\n")) == []


def test_declared_legacy_encoding_with_its_bytes_reports_both(plant: Plant) -> None:
    commit = plant(b"Caf\xe9\n" + SOB[1:], headers=b"encoding ISO-8859-1\n")
    bad, header = findings(commit)
    assert bad.severity is Severity.ERROR and header.severity is Severity.WARNING
    assert 'looks like ISO-8859-1: "Café"' in bad.message
    assert "declares encoding ISO-8859-1" in bad.message


def test_guess_cyrillic_from_chardet() -> None:
    guess = guess_encoding("Привет Иванов".encode("cp1251"))
    assert guess is not None and guess[1] == "Привет Иванов"


def test_guess_falls_back_to_latin1_for_western_names() -> None:
    assert guess_encoding("Müller".encode("latin-1")) == ("ISO-8859-1", "Müller")


def test_a_latin_guess_is_latin_however_chardet_spells_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """chardet says ``iso8859-15`` as well as ``ISO-8859-15``: either is a Latin guess,
    and a Latin guess gives way to ISO-8859-1 (it was trusted when spelled without the
    dash: u-boot's ``fwrite\xb4`` read as ``fwriteŽ``)."""
    from send_mergereq.checks import encodings

    asked = []
    for spelled in ("iso8859-15", "ISO-8859-15", "iso-8859-16", "MacRoman", "Windows-1252"):
        monkeypatch.setattr(
            encodings, "_detect", lambda sample, name=spelled: asked.append(name) or name
        )
        assert guess_encoding(b"fwrite\xb4\xb4") == ("ISO-8859-1", "fwrite\u00b4\u00b4"), spelled
    assert len(asked) == 5  # chardet was asked each time (two bytes not ASCII in a row)
    monkeypatch.setattr(encodings, "_detect", lambda sample: "KOI8-R")
    assert guess_encoding(b"\xf0\xd2") == ("KOI8-R", "\u041f\u0440")


def test_bytes_not_ascii_each_alone_are_latin_without_asking_chardet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name's accented letters, each between ASCII ones: no script but Latin writes so
    (Cyrillic or Greek words are runs of such bytes, a multibyte encoding pairs them), and
    chardet, slow to load, guesses poorly on them (u-boot: 157 of its 159 samples)."""
    from send_mergereq.checks import encodings

    def never(sample: bytes) -> str:
        raise AssertionError(f"chardet asked about {sample!r}")

    monkeypatch.setattr(encodings, "_detect", never)
    assert guess_encoding(b"Klotzb\xfccher") == ("ISO-8859-1", "Klotzbücher")
    message = "Signed-off-by: Lo\u00efc Minier\nCc: K\u00e1ri Dav\u00eddsson".encode("latin-1")
    assert guess_encoding(b"Lo\xefc", message) == ("ISO-8859-1", "Loïc")
    assert guess_encoding(b"\x93quoted\x94") == ("windows-1252", "\u201cquoted\u201d")


def test_a_guess_that_does_not_read_ascii_as_ascii_is_no_guess(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """chardet said EBCDIC (cp500) for u-boot's "Markus Klotzb\xfcmk@pollux" and the
    finding showed "(/\u00ca,\u00cd\u00cb…": a commit's encoding reads ASCII as ASCII."""
    from send_mergereq.checks import encodings

    for said in ("cp500", "cp037", "utf-16-le"):
        monkeypatch.setattr(encodings, "_detect", lambda sample, name=said: name)
        assert guess_encoding(b"Klotzb\xfc\xfcmk@pol") == ("ISO-8859-1", "Klotzbüümk@pol"), said
    monkeypatch.setattr(encodings, "_detect", lambda sample: "EUC-JP")
    assert guess_encoding("日本".encode("euc_jp")) == ("EUC-JP", "日本")


def test_chardet_reads_a_bounded_sample_of_the_lines_not_ascii() -> None:
    from send_mergereq.checks.encodings import _SAMPLE, _sample

    message = b"ascii line\n" * 500 + "Jérôme\n".encode("latin-1") + b"more\n" * 500
    assert _sample(message) == "Jérôme".encode("latin-1")
    assert len(_sample(b"\xe9" * 10 * _SAMPLE)) == _SAMPLE
    assert _sample(b"short \xe9") == b"short \xe9"


def test_describe_binary_junk_never_raises() -> None:
    text = describe(bytes(range(256)), bytes(range(256)))
    assert text.startswith('…"')


def test_binary_junk_author_never_writes_control_characters(plant: Plant) -> None:
    """The guess is shown decoded: a NUL or an escape byte must not reach the terminal raw."""
    commit = plant(author=b"\xff\xfe\x00\x01junk\x1b[2J\x80 <ada@example.org>")
    (found,) = findings(commit)
    assert found.message.startswith('author name is not valid UTF-8: "\\xff\\xfe\\x00\\x01junk')
    assert not any(ch < " " or "\x7f" <= ch <= "\x9f" for ch in found.message)
    assert "\\x00\\x01junk\\x1b[2J€" in found.message.split("looks like")[1]


def test_a_nul_byte_in_the_message_is_reported(plant: Plant) -> None:
    """git shows a message only up to a NUL (git log, %(trailers)): what follows, a
    sign-off included, is invisible to everyone but this check."""
    commit = plant(b"Subject\n\nBody \x00 hidden\n" + SOB[1:])
    (found,) = findings(commit)
    assert found.severity is Severity.ERROR
    assert found.message.startswith("message line 3 contains a NUL byte")
    assert "reword" in found.hint
    assert utf8.clean(*commit.raw.split(b"\n\n", 1), CheckContext(), utf8.Options()) is False


def test_a_nul_byte_in_the_author_name_is_reported(plant: Plant) -> None:
    (found,) = findings(plant(author=b"Ada\x00Evil <ada@example.org>"))
    assert found.message.startswith('author name contains a NUL byte: "Ada\\x00Evil"')


@pytest.mark.parametrize("declared", [b"ISO-8859-1", b"latin1", b"iso8859-1"])
def test_windows_1252_quotes_declared_as_iso_8859_1_are_shown_as_quotes(
    plant: Plant, declared: bytes
) -> None:
    """0x93 and 0x94 are C1 controls in ISO-8859-1: a message declared ISO-8859-1 holding
    them was written in windows-1252, and the reader must see the quotes, not escapes."""
    commit = plant(b"fix the \x93things\x94" + SOB, headers=b"encoding " + declared + b"\n")
    bad = [f for f in findings(commit) if "not valid UTF-8" in f.message]
    (found,) = bad
    assert 'looks like windows-1252: "fix the “things”"' in found.message, found.message
    assert "\\x93things\\x94" in found.message  # the raw bytes, shown as bytes
    assert f"declares encoding {declared.decode()}" in found.message
    assert "looks like ISO-8859-1" not in found.message.lower()


def test_declared_iso_8859_1_without_c1_bytes_stays_iso_8859_1() -> None:
    text = describe(b"J\xe9r\xf4me", b"J\xe9r\xf4me", b"ISO-8859-1")
    assert text.endswith('looks like ISO-8859-1: "Jérôme"')
