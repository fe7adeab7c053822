"""Benchmark the check phase against the floor of reading the same range with git.

Builds synthetic repositories like real ones (written as loose objects, then packed):
a quarter of the names non-ASCII, 3-8 trailers (Reviewed-by, Cc, Message-Id,
Acked-by, Tested-by) besides the sign-offs, a maintainer's note after the trailers
in about 1% of commits, a sign-off by name only in a few, merges of signed tags
(``mergetag`` headers), two hours between commits and a release tag every 2,000.
Then prints, side by side, the wall time of ``git log --format=raw`` over the range
(the floor), of ``send-mergereq --dry-run --json`` on it, and their ratio (best of
``--runs``: the machine is shared), with the CPU time (user+sys) of both; and the cold
``--dry-run`` on 100 commits including interpreter start. ``--repo`` measures a
real clone instead.

    .venv/bin/python benchmarks/checks.py                    # 10,000 and 100,000 commits
    .venv/bin/python benchmarks/checks.py --sizes 2000 --runs 1   # a quick run
    .venv/bin/python benchmarks/checks.py --repo ../u-boot --range v2025.01..v2026.07 \\
        --check signed-tags=off

Targets (docs/PRODUCT.md, speed): ratio <= 1.5 at 100,000 commits; <= 0.4 s for 100 commits.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

EXE = Path(sys.executable).parent / "send-mergereq"
_TEXT = (
    "fix the handling of guest memory regions when the device is reset and the "
    "migration stream carries a stale state for the virtqueue so we check it first "
    "hw arm target i386 block qcow2 tcg accel kvm vfio net virtio pci bus"
)
WORDS = _TEXT.split()
TRAILERS = ("Reviewed-by", "Acked-by", "Tested-by", "Message-Id", "Cc")
ASCII_NAMES = [
    "Peter Maydell",
    "Richard Henderson",
    "Paolo Bonzini",
    "Tom Rini",
    "Simon Glass",
    "Stefan Hajnoczi",
    "Kevin Wolf",
    "Markus Armbruster",
    "Daniel Berrange",
]
NON_ASCII_NAMES = ["Philippe Mathieu-Daudé", "Marc-André Lureau", "Alex Bennée", "Łukasz Stelmach",
                   "Jürgen Groß", "Björn Töpel", "Zoë Ñúñez", "王伟", "Дмитрий Иванов"]  # fmt: skip
MAINTAINER = "Max Maintainer <max@example.org>"
SIGNATURE = "-----BEGIN PGP SIGNATURE-----\n\n" + "\n".join(["iQIzBAABCAAdFiEE" + "x" * 48] * 12)
SIGNATURE += "\n=abcd\n-----END PGP SIGNATURE-----"


def _person(n: int) -> str:
    """A quarter of the people have non-ASCII names."""
    names = NON_ASCII_NAMES if n % 4 == 0 else ASCII_NAMES
    name = names[(n // 4) % len(names)]
    return f"{name} <dev{n % 400}@example.org>"


def _message(rng: random.Random, n: int, author: str) -> str:
    subject = f"{rng.choice(WORDS)}/{rng.choice(WORDS)}: " + " ".join(rng.choices(WORDS, k=7))
    body = []
    for _ in range(rng.randint(1, 4)):  # paragraphs of 2-8 wrapped lines: ~600 bytes on average
        lines = [" ".join(rng.choices(WORDS, k=10)) for _ in range(rng.randint(2, 8))]
        body.append("\n".join(lines))
    signoff = author.split(" <", maxsplit=1)[0] if n % 500 == 7 else author  # a few by name only
    trailers = [f"Signed-off-by: {signoff}"]
    for _ in range(rng.randint(3, 8)):
        kind = rng.choice(TRAILERS)
        value = (
            f"<{n}.{rng.randint(0, 999)}@mail.example.org>"
            if kind == "Message-Id"
            else (_person(rng.randint(0, 999)))
        )
        trailers.append(f"{kind}: {value}")
    trailers.append(f"Signed-off-by: {MAINTAINER}")
    text = f"{subject}\n\n" + "\n\n".join(body) + "\n\n" + "\n".join(trailers) + "\n"
    if n % 100 == 42:  # a maintainer's note after the trailers, in about 1%
        text += "\n[ max: fixed the subject, dropped a stray hunk ]\n"
    return text


def _object(objects: Path, kind: bytes, body: bytes) -> str:
    """Write one loose object (as git does) and return its id."""
    data = kind + b" %d\0" % len(body) + body
    sha = hashlib.sha1(data).hexdigest()
    path = objects / sha[:2] / sha[2:]
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(zlib.compress(data, 1))
    return sha


START = 1_000_000_000  # 2001: commits two hours apart, 100,000 span 23 years, as u-boot's
SPACING = 7200
RELEASE_EVERY = 2000  # a release tag every 2,000 commits (about every five months)


def _commit(objects: Path, tree: str, parents: list[str], author: str, n: int, msg: str,
            mergetag: str = "") -> str:  # fmt: skip
    when = f"{START + n * SPACING} +0000"
    head = f"tree {tree}\n" + "".join(f"parent {p}\n" for p in parents)
    head += f"author {author} {when}\ncommitter {MAINTAINER} {when}\n" + mergetag
    return _object(objects, b"commit", (head + "\n" + msg).encode())


def _mergetag(tagged: str, n: int, sign: Signer | None = None) -> str:
    """A ``mergetag`` header as ``git merge`` of a signed tag writes it: signed by ``sign``
    (gpg), else a realistic block that is no real signature (gpg cannot read it: each
    is left to ``git verify-tag``; the large sizes run with signed-tags off)."""
    when = START + n * SPACING
    tag = f"object {tagged}\ntype commit\ntag pull-{n}\ntagger {_person(n)} {when} +0000"
    tag += f"\n\nPull request {n}\n\nSome fixes for this cycle.\n"
    tag += sign(tag) if sign else SIGNATURE
    return "mergetag " + tag.rstrip("\n").replace("\n", "\n ") + "\n"


Signer = Callable[[str], str]


def gpg_signer(home: Path) -> Signer:
    """A new signing key in the GnuPG home ``home`` (made here), and what signs a tag's
    text with it (an armored detached signature, as ``git tag -s`` writes)."""
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--no-tty", "--quiet"]
    subprocess.run([*gpg, "--passphrase", "", "--quick-gen-key", "Sub Maintainer <sub@example.org>",
                    "ed25519", "sign", "never"], check=True, capture_output=True)  # fmt: skip

    def sign(text: str) -> str:
        done = subprocess.run([*gpg, "--armor", "--detach-sign"], input=text.encode(),
                              check=True, capture_output=True)  # fmt: skip
        return done.stdout.decode()

    return sign


def build(path: Path, commits: int, merges: int, sign: Signer | None = None) -> None:
    """``master`` with one commit, ``staging`` adding ``commits`` (``merges`` of them merges
    of signed tags, signed by ``sign`` if given, a release tag every ``RELEASE_EVERY``),
    written as loose objects and packed as a clone would be."""
    subprocess.run(["git", "init", "-q", "-b", "master", str(path)], check=True)
    objects = path / ".git" / "objects"
    tree = _object(objects, b"tree", b"")
    rng = random.Random(commits)
    tip = root = _commit(objects, tree, [], MAINTAINER, 0, "Initial commit\n")
    every = max(2, commits // max(1, merges))
    side = None
    releases: list[tuple[int, str]] = []
    for n in range(1, commits + 1):
        if n % RELEASE_EVERY == 0:
            releases.append((n, tip))
        author = _person(n)
        if n % every == 0 and side:
            msg = f"Merge tag 'pull-{n}' of https://git.example.org/sub into staging\n\n"
            msg += "Pull request\n\n# gpg: Signature made ...\n"
            mergetag = _mergetag(side, n, sign)
            tip = _commit(objects, tree, [tip, side], MAINTAINER, n, msg, mergetag)
            side = None
        elif n % every == every - 1:
            side = _commit(objects, tree, [tip], author, n, _message(rng, n, author))
        else:
            tip = _commit(objects, tree, [tip], author, n, _message(rng, n, author))
    git = ["git", "-C", str(path)]
    subprocess.run([*git, "update-ref", "refs/heads/master", root], check=True)
    subprocess.run([*git, "update-ref", "refs/heads/staging", tip], check=True)
    for n, tagged in releases:
        subprocess.run([*git, "update-ref", f"refs/tags/v{n // RELEASE_EVERY}", tagged], check=True)
    subprocess.run([*git, "repack", "-adq"], check=True)
    subprocess.run([*git, "prune-packed"], check=True)


CPU: dict[str, float] = {}  # argv[0] of the last measure -> user+sys of its best run


def _wall(argv: list[str], cwd: Path, runs: int, gnupg: Path | None = None) -> float:
    """The best of ``runs`` (the machine is shared: the minimum is the least disturbed),
    with ``gnupg`` as GNUPGHOME if given; the CPU time (user+sys, children included) of
    that run goes to ``CPU``."""
    env = {**os.environ, "GNUPGHOME": str(gnupg)} if gnupg else None
    best = (float("inf"), 0.0)
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(
            argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
            env=env,
        )  # fmt: skip
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        best = min(best, (wall, cpu))
    CPU[argv[0]] = best[1]
    return best[0]


def _cpu(tool: str) -> str:
    return f"(CPU {CPU.get('git', 0):.2f} s / {CPU.get(tool, 0):.2f} s)"


CHECK_ARGS: list[str] = []


def measure(path: Path, runs: int) -> tuple[float, float]:
    floor = _wall(["git", "log", "--format=raw", "master..staging"], path, runs)
    tool = _wall([str(EXE), "staging", "--dry-run", "--json", *CHECK_ARGS], path, runs)
    return floor, tool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="commit counts, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per measure (best of)")
    parser.add_argument("--merges", type=int, default=300, help="merges per repository")
    parser.add_argument("--repo", type=Path, help="measure an existing clone instead")
    parser.add_argument("--range", default="", help="with --repo: TARGET..BRANCH to check")
    parser.add_argument(
        "--check", action="append", default=[], help="passed on, e.g. signed-tags=off"
    )
    args = parser.parse_args()
    CHECK_ARGS.extend(arg for value in args.check for arg in ("--check", value))
    if args.repo:
        target, _, branch = args.range.partition("..")
        floor = _wall(["git", "log", "--format=raw", args.range], args.repo, args.runs)
        argv = [str(EXE), branch, "--target", target, "--dry-run", "--json", *CHECK_ARGS]
        tool = _wall(argv, args.repo, args.runs)
        print(
            f"{args.range}: git log {floor:.3f} s, dry-run {tool:.3f} s, ratio {tool / floor:.2f}"
            f" {_cpu(str(EXE))}"
        )
        return
    with tempfile.TemporaryDirectory(prefix="smr-bench-") as tmp:
        print(f"{'commits':>8} {'git log (s)':>12} {'dry-run (s)':>12} {'ratio':>6}")
        for size in (int(s) for s in args.sizes.split(",")):
            path = Path(tmp) / f"r{size}"
            build(path, size, min(args.merges, size // 10))
            floor, tool = measure(path, args.runs)
            print(f"{size:>8} {floor:>12.3f} {tool:>12.3f} {tool / floor:>6.2f} {_cpu(str(EXE))}")
        print(
            "cold --dry-run on 100 commits (3 merges of signed tags), interpreter start included:"
        )
        keys = Path(tmp) / "gnupg"
        try:
            for what, sign in (("tags signed by a key in your keyring", gpg_signer(keys)),
                               ("tags whose signature gpg cannot read", None)):  # fmt: skip
                small = Path(tmp) / f"r100-{'signed' if sign else 'damaged'}"
                build(small, 100, 3, sign)
                cold = _wall([str(EXE), "staging", "--dry-run"], small, max(5, args.runs), keys)
                print(f"  {what}: {cold:.3f} s")
        finally:  # the agent that signed
            subprocess.run(["gpgconf", "--homedir", str(keys), "--kill", "all"], check=False)
        if not _compiled():
            print("  (the sources have no up-to-date bytecode and PYTHONDONTWRITEBYTECODE is set:")
            print("   every run compiles them; run `python -m compileall -q src` first)")


def _compiled() -> bool:
    """Whether the tool's modules start from bytecode: written by Python's first import,
    or by ``compileall`` where ``PYTHONDONTWRITEBYTECODE`` keeps Python from writing it."""
    import importlib.util
    import os

    if not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return True
    source = Path(__file__).resolve().parents[1] / "src" / "send_mergereq" / "cli" / "__init__.py"
    cached = Path(importlib.util.cache_from_source(str(source)))
    return cached.exists() and cached.stat().st_mtime >= source.stat().st_mtime


if __name__ == "__main__":
    main()
