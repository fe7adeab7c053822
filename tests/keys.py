"""Real signing keys for tests, made once per session, and signed-tag merges made with them.

Two sides, as in life: the *submaintainers* sign in ``Keys.signing_home`` (a
GNUPGHOME holding every secret key), and the *maintainer* verifies with
``Keys.verify_home``, which holds the public keys of ``good``, ``expired`` and
``revoked`` (revocation imported) but not ``stranger``. SSH keys sign through
``gpg.format=ssh``; ``allowed_signers`` lists ``ssh`` but not ``ssh_stranger``.

``make_signed_merge`` and ``sign_tag`` are plain functions over a repository
path, for any test module (checks, end to end, the demo).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitrepo import run_git

FAKE_PAST = "20200601T000000"  # when the expired key was still valid


@dataclass(frozen=True)
class GpgKey:
    uid: str
    fingerprint: str
    home: Path  # the GNUPGHOME holding its secret key
    program: str = "gpg"  # gpg.program that signs with it (a fake-time wrapper for `expired`)

    @property
    def long_id(self) -> str:
        return self.fingerprint[-16:]

    def git_config(self) -> list[str]:
        return ["-c", f"gpg.program={self.program}", "-c", f"user.signingkey={self.fingerprint}"]


@dataclass(frozen=True)
class SshKey:
    principal: str
    private: Path
    public_line: str  # "ssh-ed25519 AAAA..."
    fingerprint: str  # "SHA256:..."
    home: Path  # unused by ssh; keeps the GNUPGHOME of the signing side

    def git_config(self) -> list[str]:
        return ["-c", "gpg.format=ssh", "-c", f"user.signingkey={self.private}"]


@dataclass(frozen=True)
class Keys:
    signing_home: Path
    verify_home: Path
    good: GpgKey
    stranger: GpgKey
    expired: GpgKey
    revoked: GpgKey
    ssh: SshKey
    ssh_stranger: SshKey
    allowed_signers: Path


def _gpg(home: Path, *args: str, input: bytes | None = None) -> bytes:
    proc = subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--quiet", *args],
        input=input,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"gpg {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


def _new_home(path: Path) -> Path:
    path.mkdir(mode=0o700)
    return path


def make_gpg_key(home: Path, uid: str, *extra: str, expire: str = "0") -> GpgKey:
    """An ed25519 signing key without passphrase; ``extra`` goes before the command."""
    _gpg(home, "--passphrase", "", *extra, "--quick-gen-key", uid, "ed25519", "sign", expire)
    listing = _gpg(home, "--with-colons", "--list-secret-keys", "--", uid).decode()
    fprs = [line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")]
    return GpgKey(uid, fprs[0], home)


def _fake_time_gpg(directory: Path) -> str:
    script = directory / "gpg-fake-time"
    script.write_text(f'#!/bin/sh\nexec gpg --faked-system-time {FAKE_PAST} "$@"\n')
    script.chmod(0o755)
    return str(script)


def make_ssh_key(directory: Path, principal: str, home: Path) -> SshKey:
    private = directory / principal.partition("@")[0]
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", str(private)],
        check=True,
        capture_output=True,
    )
    public_line = " ".join(Path(f"{private}.pub").read_text().split()[:2])
    out = subprocess.run(
        ["ssh-keygen", "-l", "-f", f"{private}.pub"], check=True, capture_output=True, text=True
    ).stdout
    return SshKey(principal, private, public_line, out.split()[1], home)


def build_keys(root: Path) -> Keys:
    """Every key the signature tests need, and the maintainer's keyring that trusts some."""
    signing, verify = _new_home(root / "signing"), _new_home(root / "verify")
    good = make_gpg_key(signing, "Sue Submaintainer <sue@example.org>")
    stranger = make_gpg_key(signing, "Sam Stranger <sam@example.org>")
    revoked = make_gpg_key(signing, "Rex Revoked <rex@example.org>")
    old = make_gpg_key(
        signing,
        "Eve Expired <eve@example.org>",
        "--faked-system-time",
        "20200101T000000",
        expire="1y",
    )
    expired = GpgKey(old.uid, old.fingerprint, signing, program=_fake_time_gpg(root))
    public = _gpg(
        signing, "--armor", "--export", good.fingerprint, old.fingerprint, revoked.fingerprint
    )
    _gpg(verify, "--import", input=public)
    revocation = (signing / "openpgp-revocs.d" / f"{revoked.fingerprint}.rev").read_bytes()
    _gpg(verify, "--import", input=revocation.replace(b":-----BEGIN", b"-----BEGIN"))
    ssh = make_ssh_key(root, "sue@example.org", signing)
    ssh_stranger = make_ssh_key(root, "sam@example.org", signing)
    allowed = root / "allowed_signers"
    allowed.write_text(f"{ssh.principal} {ssh.public_line}\n")
    return Keys(signing, verify, good, stranger, expired, revoked, ssh, ssh_stranger, allowed)


def stop_agents(*homes: Path) -> None:
    for home in homes:
        subprocess.run(
            ["gpgconf", "--homedir", str(home), "--kill", "all"], check=False, capture_output=True
        )


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    """The session's keys (see the module docstring); generated once."""
    built = build_keys(tmp_path_factory.mktemp("keys"))
    yield built
    stop_agents(built.signing_home, built.verify_home)


def git_config_env(**settings: str) -> dict[str, str]:
    """git config passed through the environment (never argv or a config file)."""
    env = {"GIT_CONFIG_COUNT": str(len(settings))}
    for n, (key, value) in enumerate(settings.items()):
        env[f"GIT_CONFIG_KEY_{n}"], env[f"GIT_CONFIG_VALUE_{n}"] = key, value
    return env


@pytest.fixture
def maintainer(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> Keys:
    """This test verifies as the maintainer: their keyring, their SSH allowed signers."""
    monkeypatch.setenv("GNUPGHOME", str(keys.verify_home))
    for key, value in git_config_env(
        **{"gpg.ssh.allowedSignersFile": str(keys.allowed_signers)}
    ).items():
        monkeypatch.setenv(key, value)
    return keys


# -- building signed pull requests in a repository ---------------------------------------------


def sign_tag(repo: Path, name: str, key: GpgKey | SshKey, target: str = "HEAD") -> None:
    """``git tag -s`` as the key's owner would."""
    message = f"Pull request {name}"
    signer = {"GNUPGHOME": str(key.home)}
    run_git(repo, *key.git_config(), "tag", "-s", "-m", message, name, target, env=signer)


def pull_request(repo: Path, name: str, base: str = "master", commits: int = 1) -> str:
    """Branch ``pr/<name>`` off ``base`` with ``commits`` new commits (plumbing only: the
    work tree and the checked-out branch are left alone); returns its tip."""
    index = {"GIT_INDEX_FILE": str(repo / ".git" / f"index-pr-{name}")}
    tip = run_git(repo, "rev-parse", base)
    for n in range(commits):
        run_git(repo, "read-tree", tip, env=index)
        blob = run_git(repo, "hash-object", "-w", "--stdin", input=f"{name} {n}\n".encode())
        run_git(
            repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{name}.txt", env=index
        )
        tree = run_git(repo, "write-tree", env=index)
        message = f"{name}: change {n}\n\nSigned-off-by: Ada Author <ada@example.org>"
        tip = run_git(repo, "commit-tree", tree, "-p", tip, "-m", message)
    (repo / ".git" / f"index-pr-{name}").unlink(missing_ok=True)
    run_git(repo, "update-ref", f"refs/heads/pr/{name}", tip)
    return tip


def make_signed_merge(
    repo: Path, name: str, key: GpgKey | SshKey | None, into: str = "staging", base: str = "master"
) -> str:
    """Branch off ``base``, sign tag ``name`` (annotated but unsigned if ``key`` is None),
    and ``git merge --no-ff`` the tag into ``into``; returns the merge commit."""
    pull_request(repo, name, base)
    if key is None:
        run_git(repo, "tag", "-a", "-m", f"Pull request {name}", name, f"pr/{name}")
    else:
        sign_tag(repo, name, key, f"pr/{name}")
    run_git(repo, "checkout", "-q", into)
    run_git(repo, "merge", "-q", "--no-ff", "--no-edit", name)
    return run_git(repo, "rev-parse", "HEAD")


def stored_tag(repo: Path, name: str) -> bytes:
    """Tag ``name`` as a ``mergetag`` header value (what ``parse_commit`` gives)."""
    raw = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "tag", name], capture_output=True, check=True
    ).stdout
    return raw.removesuffix(b"\n")


def rewrite_commit(repo: Path, sha: str, edit: Callable[[bytes], bytes]) -> str:
    """Write ``edit(raw commit)`` byte for byte (``hash-object --literally``); return its id.

    How a tampered merge is made: ``git cat-file commit``, edit, ``git hash-object -t
    commit -w --literally``."""
    raw = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "commit", sha], capture_output=True, check=True
    ).stdout
    args = ["hash-object", "-t", "commit", "-w", "--literally", "--stdin"]
    return run_git(repo, *args, input=edit(raw))


def with_mergetag(tag: bytes) -> Callable[[bytes], bytes]:
    """An edit for ``rewrite_commit`` adding a ``mergetag`` header holding ``tag``."""
    header = b"mergetag " + tag.replace(b"\n", b"\n ") + b"\n"

    def edit(raw: bytes) -> bytes:
        head, _, message = raw.partition(b"\n\n")
        return head + b"\n" + header + b"\n" + message

    return edit
