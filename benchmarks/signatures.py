"""Benchmark: verify the signed tags of 100 merges (docs/PRODUCT.md target: under 2 s).

Builds, in a temporary directory with a throwaway GNUPGHOME and key, a repository
whose ``staging`` has N merges of signed tags (real ``git tag -s`` and ``git merge
--no-ff``), then times

* ``verify_tags`` on the N ``mergetag`` headers (the batch the runner makes), and
* the whole ``signed-tags`` pass: read the range, verify in one batch, run the check.

Usage: ``.venv/bin/python benchmarks/signatures.py [--merges 100] [--runs 5]``.
Exit status 1 if the median batch verification misses the target.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from send_mergereq.checks import signed_tags
from send_mergereq.checks.finding import CheckContext
from send_mergereq.checks.runner import EnabledCheck, run_checks
from send_mergereq.scan.range_check import default_verifier
from send_mergereq.scan.signatures import verify_tags
from send_mergereq.scan.walk import read_commits, resolve_range

TARGET_SECONDS = 2.0


def _hermetic(root: Path) -> None:
    for var in [v for v in os.environ if v.startswith("GIT_")]:
        del os.environ[var]
    home = root / "home"
    home.mkdir()
    gnupg = root / "gnupg"
    gnupg.mkdir(mode=0o700)
    os.environ.update(
        HOME=str(home),
        GNUPGHOME=str(gnupg),
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Sue Submaintainer",
        GIT_AUTHOR_EMAIL="sue@example.org",
        GIT_COMMITTER_NAME="Sue Submaintainer",
        GIT_COMMITTER_EMAIL="sue@example.org",
    )


def _run(*args: str, cwd: Path | None = None, input: bytes | None = None) -> str:
    proc = subprocess.run(args, cwd=cwd, input=input, capture_output=True, check=True)
    return proc.stdout.decode().strip()


def _throwaway_key() -> str:
    uid = "Bench Signer <bench@example.org>"
    _run("gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "1d")
    listing = _run("gpg", "--batch", "--with-colons", "--list-secret-keys")
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def build(root: Path, merges: int) -> Path:
    """A repository whose ``staging`` merges ``merges`` signed tags off ``master``."""
    _hermetic(root)
    fingerprint = _throwaway_key()
    repo = root / "repo"
    repo.mkdir()
    git = functools.partial(_run, "git", cwd=repo)
    git("init", "-q", "-b", "master")
    git("config", "user.signingkey", fingerprint)
    (repo / "README").write_text("bench\n")
    git("add", "README")
    git("commit", "-q", "-m", "Initial commit")
    git("checkout", "-q", "-b", "staging")
    base_tree = git("rev-parse", "master^{tree}")
    for n in range(merges):
        blob = _run("git", "hash-object", "-w", "--stdin", cwd=repo, input=f"{n}\n".encode())
        tree = _run(
            "git", "mktree", cwd=repo, input=_tree_with(repo, base_tree, f"pr-{n}.txt", blob)
        )
        tip = git("commit-tree", tree, "-p", "master", "-m", f"change {n}")
        git("tag", "-s", "-m", f"Pull request {n}", f"pull-{n}", tip)
        git("merge", "-q", "--no-ff", "--no-edit", f"pull-{n}")
    return repo


def _tree_with(repo: Path, tree: str, name: str, blob: str) -> bytes:
    listing = _run("git", "ls-tree", tree, cwd=repo)
    return (listing + f"\n100644 blob {blob}\t{name}\n").encode()


def _time(action: Callable[[], object], runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - start)
    return seconds


def _whole_pass(repo: Path) -> int:
    rng = resolve_range(repo, "master", "staging")
    checks = [EnabledCheck(signed_tags, signed_tags.Options())]
    result = run_checks(read_commits(repo, rng), checks, CheckContext(), default_verifier(repo))
    return len(result.findings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merges", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-signatures-") as tmp:
        root = Path(tmp)
        built = time.perf_counter()
        repo = build(root, args.merges)
        print(f"built {args.merges} signed-tag merges in {time.perf_counter() - built:.1f} s")
        rng = resolve_range(repo, "master", "staging")
        tags = [tag for commit in read_commits(repo, rng) for tag in commit.mergetags]
        verdicts = {v.status for v in verify_tags(repo, tags, batch=True).values()}
        assert len(tags) == args.merges and verdicts == {"good"}, verdicts
        assert _whole_pass(repo) == 0
        batch = _time(lambda: verify_tags(repo, tags, batch=True), args.runs)
        whole = _time(lambda: _whole_pass(repo), args.runs)
        _run("gpgconf", "--kill", "all")
    median = statistics.median(batch)
    print(f"verify_tags, {len(tags)} tags: median {median:.3f} s, best {min(batch):.3f} s")
    print(f"signed-tags pass (read + verify + check): median {statistics.median(whole):.3f} s")
    print(f"target {TARGET_SECONDS:.1f} s on {os.cpu_count()} CPUs: "
          f"{'met' if median < TARGET_SECONDS else 'MISSED'}")  # fmt: skip
    return 0 if median < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
