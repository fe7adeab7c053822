"""MIME bombs: an email nested deeper than the parser can recurse, or of more parts than it
reads in reasonable time, is refused from its raw bytes (exit 2, naming the file) before
Python's email parser sees it; a pull request mailed as a real multipart still reads."""

from __future__ import annotations

import email
import email.policy
import io
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from pulls_helpers import mail, mbox
from test_emails import BLOCK

from gitrepo import Repo
from send_mergereq.apply.command import read_emails
from send_mergereq.apply.emails import read_pulls
from send_mergereq.apply.mime_limits import MAX_DEPTH, MAX_PARTS
from send_mergereq.cli import run as cli_run
from send_mergereq.errors import ConfigError

HEAD = b"From: Sue <sue@example.org>\nSubject: [PULL] x\nMIME-Version: 1.0\n"


def nested(depth: int, param: str = 'boundary="b{n}"') -> bytes:
    out = HEAD + b"Content-Type: multipart/mixed; " + param.format(n=0).encode() + b"\n\n"
    for n in range(1, depth):
        out += b"--b%d\nContent-Type: multipart/mixed;\n " % (n - 1)
        out += param.format(n=n).encode() + b"\n\n"
    out += b"--b%d\nContent-Type: text/plain\n\n" % (depth - 1)
    out += BLOCK.format(ref="pull-x").encode() + b"\n"
    return out + b"".join(b"--b%d--\n" % n for n in reversed(range(depth)))


def wide(parts: int) -> bytes:
    out = HEAD + b'Content-Type: multipart/mixed; boundary="b"\n\n--b\n\n'
    out += BLOCK.format(ref="pull-x").encode() + b"\n"
    out += b"".join(b"--b\nContent-Type: text/plain\n\n%d\n" % n for n in range(parts - 1))
    return out + b"--b--\n"


def attached(depth: int) -> bytes:
    return HEAD + b"Content-Type: message/rfc822\n\nSubject: x\n" * depth + b"\nhi\n"


def read(tmp_path: Path, data: bytes) -> list[object]:
    path = tmp_path / "bomb.eml"
    path.write_bytes(data)
    return list(read_emails([str(path)], io.BytesIO()).pulls)


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (nested(1000), f"nested more than {MAX_DEPTH} deep"),
        (nested(MAX_DEPTH + 1), f"nested more than {MAX_DEPTH} deep"),
        (nested(1000, "BOUNDARY = b{n}"), f"nested more than {MAX_DEPTH} deep"),
        (nested(1000, "boundary*0*=us-ascii''b{n}"), f"nested more than {MAX_DEPTH} deep"),
        (attached(1000), f"nested more than {MAX_DEPTH} deep"),
        (wide(200_000), f"more than {MAX_PARTS:,} MIME parts"),
        (wide(MAX_PARTS + 1), f"more than {MAX_PARTS:,} MIME parts"),
    ],
    ids=["1000-deep", "21-deep", "spelled", "rfc2231", "messages", "200000-parts", "1001-parts"],
)
def test_a_mime_bomb_is_refused_naming_the_file(tmp_path: Path, data: bytes, said: str) -> None:
    with pytest.raises(ConfigError) as refused:
        read(tmp_path, data)
    assert refused.value.exit_code == 2
    assert refused.value.message.startswith(f"{tmp_path / 'bomb.eml'}: ")
    assert said in refused.value.message


def test_an_mbox_names_the_message(tmp_path: Path) -> None:
    data = mbox(mail(BLOCK.format(ref="pull-a"))) + b"From x\n" + nested(100)
    with pytest.raises(ConfigError) as refused:
        read(tmp_path, data)
    assert f"{tmp_path / 'bomb.eml'}, message 2: MIME parts nested" in refused.value.message


def test_at_the_limits_the_pull_request_is_read(tmp_path: Path) -> None:
    assert len(read(tmp_path, nested(MAX_DEPTH))) == 1
    assert len(read(tmp_path, wide(MAX_PARTS))) == 1


def test_a_signed_multipart_pull_request_is_read(tmp_path: Path) -> None:
    """A pull request as a mail client sends it: text, an HTML alternative, a signature."""
    message = EmailMessage()
    message["Subject"] = "[PULL] x"
    message.set_content(BLOCK.format(ref="pull-x"))
    message.add_alternative("<p>see the text part</p>", subtype="html")
    message.add_attachment(b"sig", maintype="application", subtype="pgp-signature")
    (pull,) = read(tmp_path, message.as_bytes())
    assert pull.tag == "pull-x"  # type: ignore[attr-defined]


def test_the_command_says_it_in_one_line(
    main_repo: Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bomb.eml"
    path.write_bytes(nested(1000))
    code = cli_run(["apply", "-C", str(main_repo.path), "--target", "master", str(path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"send-mergereq: {path}: MIME parts nested more than 20 deep" in err
    assert "Traceback" not in err


def folded_wide(parts: int, content_type: bytes) -> bytes:
    """``wide`` with the top-level Content-Type header spelled as ``content_type``."""
    out = HEAD + b"Content-Type: " + content_type + b"\n\n--BB\n\n"
    out += BLOCK.format(ref="pull-x").encode() + b"\n"
    out += b"".join(b"--BB\nContent-Type: text/plain\n\n%d\n" % n for n in range(parts - 1))
    return out + b"--BB--\n"


# Spellings of one boundary ("BB") Python's parser reads: RFC 5322 folding anywhere
# whitespace may go, comments, an unquoted value, a lone CR as the line end, RFC 2231.
SPELLINGS = [
    b'multipart/mixed;\n\tboundary=\n\t"BB"',
    b'multipart/mixed;\r\n boundary\r\n =\r\n "BB"',
    b'multipart/mixed; boundary=(a comment)"BB"',
    b"multipart/mixed; (c) boundary = (c)\n BB (c)",
    b"multipart/mixed; boundary*0*=us-ascii''B;\n\tboundary*1=B",
    b'=?utf-8?q?multipart?=/mixed; BOUNDARY="BB"',
]


@pytest.mark.parametrize("content_type", SPELLINGS)
def test_every_spelling_of_a_boundary_is_read_as_python_reads_it(
    tmp_path: Path, content_type: bytes
) -> None:
    assert (
        email.message_from_bytes(
            folded_wide(3, content_type), policy=email.policy.default
        ).get_boundary()
        == "BB"
    )
    with pytest.raises(ConfigError) as refused:
        read(tmp_path, folded_wide(MAX_PARTS + 1, content_type))
    assert f"more than {MAX_PARTS:,} MIME parts" in refused.value.message
    assert len(read(tmp_path, folded_wide(MAX_PARTS, content_type))) == 1


def test_lone_carriage_returns_end_lines_as_for_python(tmp_path: Path) -> None:
    data = wide(MAX_PARTS + 1).replace(b"\n", b"\r")
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert len(message.get_payload()) == MAX_PARTS + 1  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=f"more than {MAX_PARTS:,} MIME parts"):
        read(tmp_path, data)


@pytest.mark.parametrize(
    "content_type", [b"\n message/rfc822", b"=?utf-8?q?message?=/rfc822", b"MESSAGE/RFC822"]
)
def test_attached_messages_are_counted_however_spelled(tmp_path: Path, content_type: bytes) -> None:
    data = (HEAD + b"Content-Type: " + content_type + b"\n\nSubject: x\n") * 1000 + b"\nhi\n"
    with pytest.raises(ConfigError, match=f"nested more than {MAX_DEPTH} deep"):
        read(tmp_path, data)


def test_200000_parts_behind_a_folded_boundary_are_refused_at_once(tmp_path: Path) -> None:
    """The black-box tester's bomb: it ran past two minutes before."""
    data = folded_wide(200_001, b'multipart/mixed;\n\tboundary=\n\t"BB"')
    started = time.monotonic()
    with pytest.raises(ConfigError) as refused:
        read(tmp_path, data)
    assert time.monotonic() - started < 20
    assert refused.value.message.startswith(f"{tmp_path / 'bomb.eml'}: more than")


def test_nesting_behind_folded_boundaries_is_refused_before_the_parser(tmp_path: Path) -> None:
    data = nested(1000, 'boundary=\n\t"b{n}"')
    with pytest.raises(ConfigError, match=f"nested more than {MAX_DEPTH} deep"):
        read(tmp_path, data)


def test_the_parser_s_own_limit_names_the_file_and_message() -> None:
    """The last wall, behind the pre-scan: Python's parser recursing too deep."""
    data = mbox(mail(BLOCK.format(ref="pull-a"))) + b"From x\n" + nested(1000)
    with pytest.raises(ConfigError) as refused:
        read_pulls(data, "deep.mbox")
    assert refused.value.exit_code == 2
    assert refused.value.message.startswith("deep.mbox, message 2: MIME parts nested too deep")
    assert refused.value.hint is not None and "git request-pull" in refused.value.hint
