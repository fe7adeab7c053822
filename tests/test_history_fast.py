"""The one-walk reader gives what ``read_raw`` gives, byte for byte, and the two-process
chunked scan gives what one pass gives: on commits git's rendering would alter."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import Keys, make_signed_merge
from send_mergereq.checks import CHECKS, stream
from send_mergereq.checks.finding import CheckContext
from send_mergereq.checks.runner import EnabledCheck, default_verifier, fused_clean, run_checks
from send_mergereq.history import parse_commit, read_raw, resolve_range
from send_mergereq.history_fast import read_fast

SOB = b"\n\nSigned-off-by: Ada Author <ada@example.org>\n"
ODD_MESSAGES = [
    b"Plain" + SOB,
    b"No final newline\n\nSigned-off-by: Ada Author <ada@example.org>",
    b"Trailing spaces   \n\nbody \t\n  \n" + SOB,
    b"Hidden after NUL" + SOB + b"\0Signed-off-by: Ada Author <ada@example.org>\n",
    b"NUL\0 in the subject" + SOB,
    b"\n\nLeading blank lines" + SOB,
    b"",
    b"Indented\n\n    code line\n        deeper\n\tTab" + SOB,
    b"Caf\xe9 latin-1" + SOB,
    b"CRLF\r\n\r\nSigned-off-by: Ada Author <ada@example.org>\r\n",
    b"Trailing blank lines" + SOB + b"\n\n\n",
]


def plant(repo: Any, message: bytes, headers: bytes = b"") -> str:
    raw = b"tree %s\nparent %s\n" % (repo.tree().encode(), repo.head().encode())
    raw += b"author Ada Author <ada@example.org> 1700000000 +0000\n"
    raw += b"committer Max Maintainer <max@example.org> 1700000000 +0000\n" + headers
    return str(repo.raw_commit(raw + b"\n" + message, branch="staging"))


def odd_repo(make_repo: Any, maintainer: Keys | None = None) -> Any:
    repo = make_repo()
    for message in ODD_MESSAGES:
        plant(repo, message)
    plant(repo, b"Latin-1 declared" + SOB, b"encoding ISO-8859-1\n")
    if maintainer is not None:
        make_signed_merge(repo.path, "pull-1", maintainer.good)
    for n in range(30):
        repo.commit(f"Filler {n}", "A body line.\n\nCc: Someone <s@example.org>")
    return repo


def test_read_fast_is_read_raw_byte_for_byte(make_repo: Any, maintainer: Keys) -> None:
    repo = odd_repo(make_repo, maintainer)
    rng = resolve_range(repo.path, "master", "staging")
    raw = list(read_raw(repo.path, rng))
    assert list(read_fast(repo.path, rng)) == raw
    assert any(b"\0" in obj for _, obj in raw) and any(b"\nmergetag " in obj for _, obj in raw)


def test_chunked_two_process_scan_is_one_pass(
    make_repo: Any, maintainer: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from send_mergereq import history_fast

    repo = odd_repo(make_repo, maintainer)
    rng = resolve_range(repo.path, "master", "staging")
    enabled = [EnabledCheck(m, m.Options()) for m in CHECKS.values()]
    ctx, verify = CheckContext(), default_verifier(repo.path)
    one_pass = run_checks(read_raw(repo.path, rng), enabled, ctx, verify)
    monkeypatch.setattr(history_fast, "CHUNK", 700)  # many chunks: the worker takes turns
    monkeypatch.setattr(stream.os, "cpu_count", lambda: 2)
    chunked = stream.scan_range(repo.path, rng, enabled, ctx, verify)
    assert chunked == one_pass
    assert {f.check for f in one_pass.findings} >= {"utf8", "signoff"}
    assert one_pass.merges == 1 and one_pass.commits == len(ODD_MESSAGES) + 1 + 2 + 30


def test_a_walk_git_refuses_falls_back_to_the_plain_reader(make_repo: Any) -> None:
    """``--header`` dies on a malformed parent line; the plain reader takes over."""
    from send_mergereq.history_fast import FastReadFailedError

    repo = make_repo()
    repo.commit("A")
    head = repo.head()
    raw = b"tree %s\nparent %s\nparent %s\n" % (repo.tree().encode(), head.encode(), head.encode())
    raw += b"author A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\nTwice the same parent\n"
    repo.raw_commit(raw, branch="staging")
    rng = resolve_range(repo.path, "master", "staging")
    try:
        fast = list(read_fast(repo.path, rng))
    except FastReadFailedError:
        fast = None
    assert fast is None or fast == list(read_raw(repo.path, rng))


def test_shallow_boundary_reads_as_a_root_as_read_raw_does(make_repo: Any, tmp_path: Any) -> None:
    repo = make_repo()
    repo.commit("A")
    repo.git("checkout", "-q", "-b", "side", "master")
    repo.commit("B")
    repo.git("checkout", "-q", "staging")
    repo.git("merge", "-q", "--no-ff", "--no-edit", "side")
    repo.commit("C")
    clone = tmp_path / "shallow"
    git = ["git", "-C", str(clone)]
    url = f"file://{repo.path}"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "2", "-b", "staging", url, str(clone)], check=True
    )
    subprocess.run([*git, "fetch", "-q", "--depth", "1", "origin", "master:master"], check=True)
    rng = resolve_range(clone, "master", "staging")
    assert list(read_fast(clone, rng)) == list(read_raw(clone, rng))


PLAIN = b"tree " + b"1" * 40 + b"\nparent " + b"2" * 40 + b"\n"
WHO = b"author Ada Author <ada@example.org> 1 +0000\ncommitter M <m@x> 1 +0000\n\n"
FUSED_CORPUS = [
    PLAIN + WHO + b"Subject\n\nBody.\n\nSigned-off-by: Ada Author <ADA@example.org>\nCc: x\n",
    PLAIN + WHO + b"Subject\n\nSigned-off-by: Ada Author <ada@example.org>\n\nlate\n",
    PLAIN + WHO + b"Subject\nSigned-off-by: Ada Author <ada@example.org>\n",
    PLAIN + WHO + b"S\n\nSigned-off-by: Other <o@x>\nReviewed-by: <ada@example.org>\n",
    PLAIN
    + WHO.replace(b"Ada Author", b"Ada via Qemu-devel")
    + b"S\n\nSigned-off-by: A <ada@example.org>\n",
    PLAIN + WHO + b"Caf\xc3\xa9\n\nSigned-off-by: Ada Author <ada@example.org>  \n\n",
]


@settings(max_examples=300)
@given(st.sampled_from(FUSED_CORPUS), st.binary(max_size=40))
def test_fused_clean_never_hides_a_finding(base: bytes, noise: bytes) -> None:
    ctx = CheckContext(list_addresses=("qemu-*@nongnu.org",), list_name_suffixes=("via X",))
    for candidate in (base, base + noise, noise + base, base.replace(b"Body", noise)):
        if fused_clean(candidate, ctx):
            commit = parse_commit("c" * 40, candidate)
            for module in CHECKS.values():
                assert list(module.check(commit, ctx, module.Options())) == [], module.ID
    assert fused_clean(FUSED_CORPUS[0], ctx) and not fused_clean(FUSED_CORPUS[1], ctx)
