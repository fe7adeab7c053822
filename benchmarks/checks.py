"""Benchmark the check phase against the floor of reading the same range with git.

Builds synthetic repositories with ``git fast-import`` (realistic message sizes,
a few hundred merges), then prints, side by side, the wall time of
``git log --format=raw`` over the range (the floor), of ``send-mergereq
--dry-run --json`` on it, and their ratio; and the cold ``--dry-run`` on 100
commits including interpreter start.

    .venv/bin/python benchmarks/checks.py                    # 10,000 and 100,000 commits
    .venv/bin/python benchmarks/checks.py --sizes 2000 --runs 1   # a quick run

Targets (DESIGN.md): ratio <= 1.5 at 100,000 commits; <= 0.4 s for 100 commits.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXE = Path(sys.executable).parent / "send-mergereq"
_TEXT = (
    "fix the handling of guest memory regions when the device is reset and the "
    "migration stream carries a stale state for the virtqueue so we check it first "
    "hw arm target i386 block qcow2 tcg accel kvm vfio net virtio pci bus"
)
WORDS = _TEXT.split()
TRAILERS = ("Reviewed-by", "Acked-by", "Tested-by", "Message-id", "Cc")


def _message(rng: random.Random, n: int, author: str) -> bytes:
    subject = f"{rng.choice(WORDS)}/{rng.choice(WORDS)}: " + " ".join(rng.choices(WORDS, k=7))
    body = []
    for _ in range(rng.randint(1, 4)):  # paragraphs of 2-8 wrapped lines: ~600 bytes on average
        lines = [" ".join(rng.choices(WORDS, k=10)) for _ in range(rng.randint(2, 8))]
        body.append("\n".join(lines))
    trailers = [f"Signed-off-by: {author}"]
    trailers += [f"{rng.choice(TRAILERS)}: Rev Iewer{n % 7} <rev{n % 7}@example.org>"]
    trailers += ["Signed-off-by: Max Maintainer <max@example.org>"]
    return f"{subject}\n\n" + "\n\n".join(body) + "\n\n" + "\n".join(trailers) + "\n"


def _commit(
    out: list[bytes], ref: str, mark: int, parents: list[int], message: str, n: int
) -> None:
    author = f"Dev {n % 50} <dev{n % 50}@example.org>"
    data = message.encode()
    out.append(f"commit {ref}\nmark :{mark}\n".encode())
    out.append(f"author {author} {1_600_000_000 + n} +0000\n".encode())
    out.append(f"committer Max Maintainer <max@example.org> {1_600_000_000 + n} +0000\n".encode())
    out.append(f"data {len(data)}\n".encode() + data)
    if parents:
        out.append(f"from :{parents[0]}\n".encode())
    for other in parents[1:]:
        out.append(f"merge :{other}\n".encode())
    out.append(f"M 644 inline f{n % 64}.c\ndata {len(str(n))}\n{n}\n".encode())


def build(path: Path, commits: int, merges: int) -> None:
    """``master`` with one commit, ``staging`` adding ``commits`` (``merges`` of them merges)."""
    subprocess.run(["git", "init", "-q", "-b", "master", str(path)], check=True)
    rng = random.Random(commits)
    out: list[bytes] = []
    _commit(out, "refs/heads/master", 1, [], "Initial commit\n", 0)
    tip, mark, every = 1, 1, max(2, commits // max(1, merges))
    for n in range(1, commits + 1):
        mark += 1
        author = f"Dev {n % 50} <dev{n % 50}@example.org>"
        if n % every == 0:
            _commit(out, "refs/heads/staging", mark, [tip, mark - 1], f"Merge tag 'pull-{n}'\n", n)
        else:
            parent = tip if n % every != every - 1 else max(1, tip - 3)
            _commit(out, "refs/heads/staging", mark, [parent], _message(rng, n, author), n)
            if n % every == every - 1:
                continue  # a side commit: the next merge merges it
        tip = mark
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet"], input=b"".join(out), check=True
    )
    subprocess.run(["git", "-C", str(path), "gc", "-q"], check=True)


def _wall(argv: list[str], cwd: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(path: Path, runs: int) -> tuple[float, float]:
    floor = _wall(["git", "log", "--format=raw", "master..staging"], path, runs)
    tool = _wall([str(EXE), "staging", "--dry-run", "--json"], path, runs)
    return floor, tool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="commit counts, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per measure (median)")
    parser.add_argument("--merges", type=int, default=300, help="merges per repository")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smr-bench-") as tmp:
        print(f"{'commits':>8} {'git log (s)':>12} {'dry-run (s)':>12} {'ratio':>6}")
        for size in (int(s) for s in args.sizes.split(",")):
            path = Path(tmp) / f"r{size}"
            build(path, size, min(args.merges, size // 10))
            floor, tool = measure(path, args.runs)
            print(f"{size:>8} {floor:>12.3f} {tool:>12.3f} {tool / floor:>6.2f}")
        small = Path(tmp) / "r100"
        build(small, 100, 3)
        cold = _wall([str(EXE), "staging", "--dry-run"], small, max(5, args.runs))
        print(f"cold --dry-run on 100 commits, interpreter start included: {cold:.3f} s")


if __name__ == "__main__":
    main()
