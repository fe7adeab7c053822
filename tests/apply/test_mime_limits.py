"""MIME bombs: an email nested deeper than the parser can recurse, or of more parts than it
reads in reasonable time, is refused from its raw bytes (exit 2, naming the file) before
Python's email parser sees it; a pull request mailed as a real multipart still reads."""

from __future__ import annotations

import io
from email.message import EmailMessage
from pathlib import Path

import pytest
from pulls_helpers import mail, mbox
from test_emails import BLOCK

from gitrepo import Repo
from send_mergereq.apply.command import read_emails
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
