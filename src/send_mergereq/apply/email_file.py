"""An email file read within bounds, before any parser sees it: at most ``MAX_BYTES``
read, at most ``MAX_MESSAGES`` messages in an mbox, and each message's MIME structure
within ``mime_limits``. ``apply`` reads its pull request emails this way, and so does
``--emails`` (the original pull request emails a reply threads to)."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from send_mergereq.apply import mime_limits
from send_mergereq.apply.emails import split_messages
from send_mergereq.errors import ConfigError

MAX_BYTES = 64 << 20  # a pull request email is small; an mbox of them too
MAX_MESSAGES = 10_000  # in one file: a thread, a week of a list, not its whole archive


def read(name: str, stdin: IO[bytes] | None = None) -> bytes:
    """The bytes of the file ``name`` (``-``: ``stdin``), at most ``MAX_BYTES``.

    :raises ConfigError: it cannot be read, or it is larger.
    """
    try:
        if name == "-" and stdin is not None:
            data = stdin.read(MAX_BYTES + 1)
        else:
            with Path(name).open("rb") as f:
                data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read the email: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{name}: larger than {MAX_BYTES >> 20} MiB, not an email")
    return data


def check(data: bytes, where: str) -> list[bytes]:
    """The file's messages, once they are known to be few enough and each within the MIME
    bounds.

    :raises ConfigError: naming ``where`` (and the message, for a MIME bound).
    """
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{where}: larger than {MAX_BYTES >> 20} MiB, not an email")
    messages = split_messages(data)
    if len(messages) > MAX_MESSAGES:
        raise ConfigError(
            f"{where}: more than {MAX_MESSAGES:,} messages ({len(messages):,}), not read",
            hint="pass the pull request emails themselves, or the thread that holds them",
        )
    mime_limits.check(messages, where)
    return messages


def write_new(directory: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to a new file: an earlier draft (perhaps edited) is kept, and this
    one is ``NAME-2.mbox`` beside it."""
    stem, _, suffix = name.rpartition(".")
    for attempt in range(1, 1000):
        path = directory / (name if attempt == 1 else f"{stem}-{attempt}.{suffix}")
        try:
            with path.open("xb") as out:
                out.write(data)
        except FileExistsError:
            continue
        return path
    raise OSError(f"{directory}: a thousand drafts named {stem}*")


def writable_dir(directory: Path) -> None:
    """``--reply DIR`` exists (made if need be) and can be written to: said before any
    work is done, not when the first draft is written.

    :raises ConfigError: it cannot be made or written to.
    """
    import tempfile

    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise ConfigError(
            f"--reply {directory}: cannot write the replies there: {exc.strerror or exc}",
            hint="pass a directory you can write to",
        ) from None
