"""The signature verdict does not depend on the run: a new, empty GNUPGHOME gives the same
verdicts every time, even while other runs are busy (the keyring is created once, first)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from keys import Keys, make_signed_merge, stored_tag
from send_mergereq.checks.finding import TagStatus
from send_mergereq.scan.signatures import verify_tags

CHILD = """
import json, sys
from pathlib import Path
from send_mergereq.scan.signatures import verify_tags
repo, tags = Path(sys.argv[1]), [Path(p).read_bytes() for p in sys.argv[2:]]
found = verify_tags(repo, tags)
print(json.dumps([[found[t].status.value, found[t].detail] for t in tags]))
"""


def _run(repo: Path, tag_files: list[Path], home: Path, code: str = CHILD) -> list[list[str]]:
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, str(repo), *map(str, tag_files)],
            env=env, capture_output=True, text=True, check=True, timeout=120,
        )  # fmt: skip
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
    result: list[list[str]] = json.loads(done.stdout)
    return result


def test_ten_fresh_keyrings_two_at_a_time_give_the_same_verdicts(
    make_repo, keys: Keys, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo().path
    tag_files = []
    for n in range(16):
        make_signed_merge(repo, f"pull-{n}", keys.good)
        path = tmp_path / f"tag-{n}"
        path.write_bytes(stored_tag(repo, f"pull-{n}"))
        tag_files.append(path)
    homes = [tmp_path / f"gnupg-{n}" for n in range(10)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda home: _run(repo, tag_files, home), homes))
    assert all(run == runs[0] for run in runs), runs
    assert {status for status, _ in runs[0]} == {TagStatus.UNKNOWN_KEY.value}


def test_a_fresh_keyring_in_process_is_created_once_then_used(
    make_repo, keys: Keys, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo().path
    tags = []
    for n in range(4):
        make_signed_merge(repo, f"pull-{n}", keys.good)
        tags.append(stored_tag(repo, f"pull-{n}"))
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    try:
        found = verify_tags(repo, tags)
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
    assert {v.status for v in found.values()} == {TagStatus.UNKNOWN_KEY}


BATCH_CHILD = """
import json, sys
from pathlib import Path
from send_mergereq.scan.signatures import verify_tags
repo, tags = Path(sys.argv[1]), [Path(p).read_bytes() for p in sys.argv[2:]]
found = verify_tags(repo, tags, batch=sys.argv[0] == "-c")
print(json.dumps([[found[t].status.value, found[t].detail] for t in tags]))
"""

# an armored block of garbage packets: gpg's batch gives it no verdict, git verify-tag does
_JUNK = b"-----BEGIN PGP SIGNATURE-----\n\n" + b"\n".join([b"iQIzBAABCAAdFiEE" + b"x" * 48] * 12)
_JUNK += b"\n=abcd\n-----END PGP SIGNATURE-----\n"


def test_tags_the_batch_gives_no_verdict_on_are_verified_at_once_on_a_fresh_keyring(
    make_repo, keys: Keys, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A batch that ran made the keyring: the tags left to ``git verify-tag`` go at once,
    and say, on each fresh keyring, what they say one by one after a first alone."""
    repo = make_repo().path
    make_signed_merge(repo, "pull-good", keys.good)
    good = stored_tag(repo, "pull-good")
    junk = [good.split(b"-----BEGIN PGP")[0].replace(b"pull-good", b"pull-%d" % n) + _JUNK
            for n in range(6)]  # fmt: skip
    files = []
    for n, tag in enumerate([good, *junk]):
        files.append(tmp_path / f"tag-{n}")
        files[-1].write_bytes(tag)
    batched = [_run(repo, files, tmp_path / f"batch-{n}", BATCH_CHILD) for n in range(3)]
    alone = _run(repo, files, tmp_path / "alone")
    assert all(run == alone for run in batched), (batched, alone)
    assert alone[0][0] == TagStatus.UNKNOWN_KEY.value
    assert alone[1:] == [[TagStatus.ERROR.value, "gpg gave no verdict: NODATA"]] * 6
