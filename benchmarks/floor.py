"""Benchmark: the check phase against the floor, ``git log --format=raw`` over the same
range, in the four cases of issue 26, interleaved on the same machine.

Rows (each: the floor and ours run one after the other, ``--runs`` times; the medians
and their ratio, the median of each pair's ratio (a pair runs within seconds: the ratio
that a machine whose speed drifts during the row moves least), with the load average
when the row started):

1. a clone with tags, idle machine (``--check signed-tags=off``);
2. the same with one core taken by a competing process (a Python busy loop), cut in parts
   and read in one walk (``SEND_MERGEREQ_WORKERS=1``): the cut must not be the slower;
3. the same commits in a clone without tags (``--no-tags`` of one branch);
4. signed tags on, a fresh empty keyring each run (``GNUPGHOME`` new and empty), over a
   release range and over the whole range;
5. with ``--short``, the same over about 100 commits: the start-up (issue 26: at most
   0.25 s), read in ``ours``.

Real history: clone u-boot (or QEMU) twice, ``git clone --bare URL tags.git`` and
``git clone --bare --no-tags --single-branch --branch master URL notags.git``::

    .venv/bin/python benchmarks/floor.py --tags ../tags.git --no-tags ../notags.git \\
        --range ROOT..master --release v2025.01..v2026.07 --short v2026.07-rc4..v2026.07-rc5

Without ``--tags`` it builds the synthetic history of ``benchmarks/checks.py`` (100,000
commits, release tags every 2,000; a copy without its tags). The machine is shared:
the ratios, not the times, are what to read, with the load beside them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

EXE = Path(sys.executable).parent / "send-mergereq"


def load() -> str:
    """The 1-minute load average, as uptime says it."""
    return f"{os.getloadavg()[0]:.2f}"


def _time(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    return time.perf_counter() - start


def _ours(rng: str, *checks: str) -> list[str]:
    target, _, branch = rng.partition("..")
    args = [a for c in checks for a in ("--check", c)]
    return [str(EXE), branch, "--target", target, "--dry-run", "--json", *args]


@contextmanager
def _busy() -> Iterator[None]:
    """One core taken by a competing process for the duration."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        hog.kill()
        hog.wait()


@contextmanager
def _fresh_keyring() -> Iterator[dict[str, str]]:
    home = Path(tempfile.mkdtemp(prefix="smr-gnupg-"))
    home.chmod(0o700)
    try:
        yield {**os.environ, "GNUPGHOME": str(home)}
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
        shutil.rmtree(home, ignore_errors=True)


def row(
    name: str,
    repo: Path,
    rng: str,
    runs: int,
    *,
    busy: bool = False,
    signed: bool = False,
    one_walk: bool = False,
) -> str:
    """Interleave the floor and ours ``runs`` times: the medians and their ratio.
    ``one_walk``: ours with ``SEND_MERGEREQ_WORKERS=1`` (the range not cut)."""
    at = load()
    floor_times, our_times = [], []
    checks = () if signed else ("signed-tags=off",)
    walks = {"SEND_MERGEREQ_WORKERS": "1"} if one_walk else {}
    with _busy() if busy else _nothing():
        for _ in range(runs):
            floor_times.append(_time(["git", "log", "--format=raw", rng], repo))
            if signed:
                with _fresh_keyring() as env:
                    our_times.append(_time(_ours(rng, *checks), repo, {**env, **walks}))
            else:
                our_times.append(_time(_ours(rng, *checks), repo, {**os.environ, **walks}))
    floor, ours = statistics.median(floor_times), statistics.median(our_times)
    pairs = statistics.median(o / f for f, o in zip(floor_times, our_times, strict=True))
    return f"| {name} | {floor:.2f} s | {ours:.2f} s | {ours / floor:.2f}x | {pairs:.2f}x | {at} |"


@contextmanager
def _nothing() -> Iterator[None]:
    yield


HEADER = (
    "| range | floor (git log) | ours | ratio | pairs' ratio | load (1 min) |\n"
    "|---|---|---|---|---|---|"
)


def _count(repo: Path, rng: str) -> str:
    return subprocess.run(
        ["git", "rev-list", "--count", rng], cwd=repo, capture_output=True, text=True, check=False
    ).stdout.strip()


def table(
    tags: Path, no_tags: Path, rng: str, release: str, runs: int, short: str = ""
) -> Iterator[str]:
    yield f"{rng} ({_count(tags, rng)} commits), {os.cpu_count()} cores, median of {runs}"
    yield HEADER
    yield row("with tags, idle", tags, rng, runs)
    yield row("with tags, one core busy", tags, rng, runs, busy=True)
    yield row("with tags, one core busy, one walk", tags, rng, runs, busy=True, one_walk=True)
    yield row("without tags (one branch, --no-tags)", no_tags, rng, runs)
    yield row("without tags, one core busy", no_tags, rng, runs, busy=True)
    name = "without tags, one core busy, one walk"
    yield row(name, no_tags, rng, runs, busy=True, one_walk=True)
    if release:
        yield row(f"signed tags on, empty keyring, {release}", tags, release, runs, signed=True)
    yield row(f"signed tags on, empty keyring, {rng}", tags, rng, runs, signed=True)
    if short:
        name = f"signed tags on, empty keyring, {short} ({_count(tags, short)} commits)"
        yield row(name, tags, short, runs, signed=True)


def synthetic(tmp: Path, size: int) -> tuple[Path, Path]:
    """benchmarks/checks.py's history of ``size`` commits, and a copy without its tags."""
    sys.path.insert(0, str(Path(__file__).parent))
    from checks import build  # type: ignore[import-not-found]

    tags = tmp / "tags"
    build(tags, size, min(300, size // 10))
    no_tags = tmp / "notags"
    subprocess.run(
        ["git", "clone", "-q", "--bare", "--no-tags", "--single-branch", "--branch", "staging",
         str(tags), str(no_tags)], check=True,
    )  # fmt: skip
    subprocess.run(["git", "-C", str(no_tags), "fetch", "-q", "--no-tags", str(tags),
                    "master:master"], check=True)  # fmt: skip
    return tags, no_tags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tags", type=Path, help="a clone with the project's tags")
    parser.add_argument("--no-tags", type=Path, help="a clone of one branch, no tags")
    parser.add_argument("--range", default="master..staging", help="TARGET..BRANCH")
    parser.add_argument("--release", default="", help="a release range, for signed tags")
    parser.add_argument("--short", default="", help="a range of about 100 commits: start-up")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", type=int, default=100_000, help="synthetic commits")
    parser.add_argument("--keep", type=Path, help="build the synthetic history here, or reuse it")
    args = parser.parse_args()
    if args.tags:
        no_tags = args.no_tags or args.tags
        for line in table(args.tags, no_tags, args.range, args.release, args.runs, args.short):
            print(line, flush=True)
        return
    with tempfile.TemporaryDirectory(prefix="smr-floor-") as tmp:
        where = args.keep or Path(tmp)
        if (where / "notags").is_dir():
            tags, no_tags = where / "tags", where / "notags"
        else:
            where.mkdir(parents=True, exist_ok=True)
            tags, no_tags = synthetic(where, args.size)
        release, short = "staging~4000..staging", "staging~100..staging"
        for line in table(tags, no_tags, "master..staging", release, args.runs, short):
            print(line, flush=True)


if __name__ == "__main__":
    main()
