"""Build the demo's throwaway repository: a ``master``, two submaintainer pull
requests as signed tags, merged into ``staging`` as a merge maintainer would.

Everything lives under one temporary directory: the repository, a throwaway
GNUPGHOME with a fresh key (or an SSH key when gpg is missing), and a git
config of its own. Nothing of the user's git or gpg configuration is read or
written: every git and gpg call gets the environment from ``DemoEnv.env``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from send_mergereq.errors import GitError

SUBMAINTAINERS = (
    (
        "Bea Block",
        "bea@block.example.org",
        "block",
        ("block: fix a use-after-free", "iotests: cover it"),
    ),
    ("Nils Net", "nils@net.example.org", "net", ("net: drop a dead branch", "net: tidy the docs")),
)
# The culprit scenario's third pull request (its net one breaks a job; this one does not).
ARM = ("Alex Arm", "alex@arm.example.org", "arm", ("hw/arm: fix the virt board",))
MAINTAINER = ("Max Maintainer", "max@example.org")
Submaintainer = tuple[str, str, str, tuple[str, ...]]


def submaintainers(scenario: str) -> tuple[Submaintainer, ...]:
    """Who sends a pull request in the demo of ``scenario``: three for ``culprit``."""
    return (*SUBMAINTAINERS, ARM) if scenario == "culprit" else SUBMAINTAINERS


POLICY = """\
# Project policy, read from the target branch (never from the commits under check).
profile = "qemu"
"""


@dataclass(frozen=True)
class DemoEnv:
    """Where the demo lives and the environment every process of it runs in."""

    root: Path
    repo: Path
    env: dict[str, str]
    signing: str  # "openpgp", "ssh" or "none"


def _git(demo: DemoEnv, *args: str, extra_env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=demo.repo,
        env={**demo.env, **(extra_env or {})},
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        reason = proc.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"demo: git {args[0]} failed: {reason[-1] if reason else proc.returncode}")
    return proc.stdout.decode().strip()


def _base_env(root: Path) -> dict[str, str]:
    keep = (
        "PATH",
        "LANG",
        "LC_ALL",
        "TERM",
        "COLUMNS",
        "LINES",
        "NO_COLOR",
        "TMPDIR",
        "SYSTEMROOT",
    )
    env = {k: v for k, v in os.environ.items() if k in keep}
    home = root / "home"
    home.mkdir()
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".state"),
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GNUPGHOME=str(root / "gnupg"),
        PYTHON_GITLAB_CFG=str(home / ".python-gitlab.cfg"),
    )
    return env


def _gpg_key(env: dict[str, str], root: Path) -> str | None:
    """A throwaway OpenPGP key in the demo's own GNUPGHOME; its fingerprint, or None."""
    if not shutil.which("gpg"):
        return None
    gnupg = root / "gnupg"
    gnupg.mkdir(mode=0o700)
    uid = "Demo Submaintainers <pulls@example.org>"
    base = ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
    made = subprocess.run(
        [*base, "--quick-gen-key", uid, "ed25519", "sign", "1d"],
        env=env, capture_output=True, check=False,
    )  # fmt: skip
    if made.returncode != 0:
        return None
    listing = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--list-secret-keys"],
        env=env, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def _ssh_key(env: dict[str, str], root: Path) -> Path | None:
    """A throwaway SSH signing key and its allowed-signers file, when gpg is missing."""
    if not shutil.which("ssh-keygen"):
        return None
    key = root / "ssh-signing-key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pulls@example.org", "-f", str(key)],
        env=env, capture_output=True, check=True,
    )  # fmt: skip
    pub = key.with_suffix(".pub").read_text().strip()
    (root / "allowed_signers").write_text(f"pulls@example.org {pub}\n")
    return key


def _configure_signing(demo: DemoEnv, fingerprint: str | None, ssh_key: Path | None) -> None:
    if fingerprint:
        _git(demo, "config", "user.signingkey", fingerprint)
    elif ssh_key:
        _git(demo, "config", "gpg.format", "ssh")
        _git(demo, "config", "user.signingkey", str(ssh_key))
        _git(demo, "config", "gpg.ssh.allowedSignersFile", str(demo.root / "allowed_signers"))


def _commit(demo: DemoEnv, author: tuple[str, str], subject: str, path: str) -> None:
    name, email = author
    file = demo.repo / path
    file.parent.mkdir(parents=True, exist_ok=True)
    with file.open("a") as out:
        out.write(subject + "\n")
    _git(demo, "add", path)
    area = path.split("/", maxsplit=1)[0]
    message = f"{subject}\n\nA change from the {area} tree.\n\nSigned-off-by: {name} <{email}>"
    _git(demo, "commit", "-q", "--no-gpg-sign", f"--author={name} <{email}>", "-m", message)


def _pull_request(demo: DemoEnv, who: Submaintainer) -> str:
    """A submaintainer's branch off master, tagged (signed when a key exists); the tag name."""
    name, email, area, subjects = who
    tag = f"pull-{area}-20261125"
    _git(demo, "checkout", "-q", "-b", f"{area}-next", "master")
    for number, subject in enumerate(subjects):
        _commit(demo, (name, email), subject, f"{area}/change-{number}.c")
    sign = ["-s"] if demo.signing != "none" else ["-a"]
    tagger = {"GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}
    _git(demo, "tag", *sign, "-m", f"{area} patches for the demo", tag, extra_env=tagger)
    return tag


def build(
    root: Path, *, merge_pulls: bool = True, people: tuple[Submaintainer, ...] = SUBMAINTAINERS
) -> DemoEnv:
    """Create the demo repository under ``root`` with ``staging`` ready to send (without
    ``merge_pulls``: only ``master`` and the submaintainers' tags, see ``pull_emails``)."""
    env = _base_env(root)
    repo = root / "qemu"
    repo.mkdir()
    fingerprint = _gpg_key(env, root)
    ssh_key = None if fingerprint else _ssh_key(env, root)
    signing = "openpgp" if fingerprint else ("ssh" if ssh_key else "none")
    demo = DemoEnv(root=root, repo=repo, env=env, signing=signing)
    _git(demo, "init", "-q", "-b", "master")
    for key, value in (("user.name", MAINTAINER[0]), ("user.email", MAINTAINER[1])):
        _git(demo, "config", key, value)
    _configure_signing(demo, fingerprint, ssh_key)
    (repo / ".send-mergereq.toml").write_text(POLICY)
    _commit(demo, MAINTAINER, "Initial import", "README")
    _git(demo, "add", ".send-mergereq.toml")
    _git(demo, "commit", "-q", "--no-gpg-sign", "--amend", "--no-edit")
    tags = [_pull_request(demo, who) for who in people]
    if merge_pulls:
        merge_locally(demo, tags)
    else:
        _git(demo, "checkout", "-q", "master")
    return demo


def tag_names(people: tuple[Submaintainer, ...] = SUBMAINTAINERS) -> list[str]:
    """The submaintainers' tags, in the order their pull requests are sent."""
    return [f"pull-{area}-20261125" for _, _, area, _ in people]


def merge_locally(demo: DemoEnv, tags: list[str]) -> None:
    """``staging`` off master with each tag merged by hand, as before ``apply``."""
    _git(demo, "checkout", "-q", "-B", "staging", "master")
    for tag in tags:
        _git(demo, "merge", "-q", "--no-ff", "--no-edit", "-m", f"Merge tag '{tag}'", tag)


def pull_emails(
    demo: DemoEnv,
    url: str,
    push_env: dict[str, str],
    people: tuple[Submaintainer, ...] = SUBMAINTAINERS,
) -> Path:
    """Publish the submaintainers' tags at ``url`` (a second project), write their pull
    requests as ``git request-pull`` mails them into one mbox, and drop the tags and
    branches from the maintainer's repository: ``apply`` fetches them back over HTTP."""
    from email.message import EmailMessage

    tags = tag_names(people)
    _git(demo, "push", "-q", url, "master", *tags, extra_env=push_env)
    mbox = demo.root / "pulls.mbox"
    with mbox.open("wb") as out:
        for (name, email, area, _), tag in zip(people, tags, strict=True):
            message = EmailMessage()
            message["From"] = f"{name} <{email}>"
            message["To"] = f"{MAINTAINER[0]} <{MAINTAINER[1]}>"
            message["Subject"] = f"[PULL 0/2] {area} patches"
            message["Message-Id"] = f"<{tag}@{email.partition('@')[2]}>"
            message.set_content(_git(demo, "request-pull", "master", url, tag) + "\n")
            out.write(b"From " + email.encode() + b" Wed Nov 25 00:00:00 2026\n")
            out.write(message.as_bytes().replace(b"\nFrom ", b"\n>From ") + b"\n")
    for tag in tags:
        _git(demo, "tag", "-d", tag)
    for _, _, area, _ in people:
        _git(demo, "branch", "-D", f"{area}-next")
    return mbox
