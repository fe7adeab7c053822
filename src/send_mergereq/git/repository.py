"""The repository as a whole: where it is, its config, its object store, its ancestry and
push URL (GitPython, imported on first use: never by a dry run).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from send_mergereq.errors import ConfigError, GitError
from send_mergereq.git.process import query, run

if TYPE_CHECKING:
    import git as gitpython


@functools.lru_cache(maxsize=8)
def _repo(path: Path) -> gitpython.Repo:
    import git as gitpython  # GitPython; imported on first use (never by a dry run)

    try:
        return gitpython.Repo(path, search_parent_directories=True)
    except (gitpython.InvalidGitRepositoryError, gitpython.NoSuchPathError):
        hint = "run it inside your clone"
        raise ConfigError(f"{path}: not a git repository", hint=hint) from None


def repo_root(path: Path) -> Path:
    """The top of the work tree (or the git dir of a bare repository) containing ``path``."""
    # --show-cdup prints nothing in a bare repository (where --show-toplevel fails)
    done = run(path, "rev-parse", "--is-bare-repository", "--absolute-git-dir", "--show-cdup")
    if done.returncode != 0:
        raise ConfigError(f"{path}: not a git repository", hint="run it inside your clone")
    bare, git_dir, *cdup = done.stdout.decode().splitlines()
    return Path(git_dir if bare == "true" else path / "".join(cdup)).resolve()


def common_dir(repo: Path) -> Path:
    """The repository's git directory shared by all its work trees (``.git`` of the main
    one): where send-mergereq keeps what it may throw away (``jobs``' cache)."""
    found = query(repo, "rev-parse", "--path-format=absolute", "--git-common-dir")
    if not found:
        raise ConfigError(f"{repo}: not a git repository", hint="run it inside your clone")
    return Path(found)


def is_ancestor(repo: Path, ancestor: str, head: str) -> bool:
    """Whether ``ancestor`` is ``head`` or an ancestor of it; False too when either is not
    in the repository (then ``head``, which is, cannot contain it)."""
    import git as gitpython

    try:
        # GitPython takes any revision here (it runs git merge-base --is-ancestor)
        return bool(_repo(repo).is_ancestor(ancestor, head))  # type: ignore[arg-type]
    except gitpython.GitCommandError:
        return False


def push_url(repo: Path, remote: str) -> str | None:
    """The URL ``git push REMOTE`` uses (``pushurl`` and ``insteadOf`` applied), or None."""
    import git as gitpython

    try:
        url = _repo(repo).git.remote("get-url", "--push", "--", remote)
    except gitpython.GitCommandError:
        return None
    return str(url).strip() or None


def config_entries(repo: Path, pattern: str) -> list[tuple[str, str]]:
    """``(key, value)`` for every config entry whose key matches ``pattern``, in git's order
    (all of git's layers; keys as git prints them, section and name lowercased)."""
    done = run(repo, "config", "-z", "--get-regexp", pattern)
    if done.returncode == 1:  # no key matched
        return []
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        raise ConfigError(f"git config: {said[0] if said else 'unreadable'}")
    entries = []
    for entry in done.stdout.split(b"\0"):
        if entry:
            key, _, value = entry.decode("utf-8", errors="replace").partition("\n")
            entries.append((key, value))
    return entries


def object_store(repo: Path) -> tuple[Path, str]:
    """The repository's object directory and hash algorithm (sha1 or sha256)."""
    done = run(repo, "rev-parse", "--git-path", "objects", "--show-object-format")
    lines = done.stdout.decode(errors="replace").splitlines()
    if done.returncode != 0 or len(lines) != 2:
        raise GitError(done.stderr.decode(errors="replace").strip() or "not a git repository")
    objects = Path(lines[0]) if Path(lines[0]).is_absolute() else repo / lines[0]
    return objects.resolve(), lines[1]


def is_shallow(repo: Path) -> bool:
    return query(repo, "rev-parse", "--is-shallow-repository") == "true"


def config_value(repo: Path, key: str, *, boolean: bool = False) -> str | None:
    """One config value as git reads it (``--type=bool`` for a boolean), or None if unset."""
    args = ["config", *(["--type=bool"] if boolean else []), "--get", key]
    return query(repo, *args)


GPG_KEYS = r"^gpg\.(mintrustlevel|openpgp\.program|program)$"  # what gpg_program reads


def gpg_program(repo: Path) -> str | None:
    """The program git verifies OpenPGP signatures with (``gpg.program`` or
    ``gpg.openpgp.program``, the one git's config sets last, else ``gpg``), or None when
    git's own trust check applies (``gpg.minTrustLevel`` set): then only ``git
    verify-tag`` answers as git would."""
    done = run(repo, "config", "-z", "--get-regexp", GPG_KEYS)  # one git, not three
    found = []
    for entry in done.stdout.split(b"\0") if done.returncode == 0 else ():
        key, _, value = entry.decode("utf-8", "replace").partition("\n")
        found.append((key, value))
    return gpg_program_in(found)


def gpg_program_in(entries: Iterable[tuple[str, str]]) -> str | None:
    """``gpg_program`` from config entries already read (``(key, value)`` in git's order,
    keys lowercased as git prints them; entries of other keys ignored). As git reads
    them (gpg-interface.c, ``git_gpg_config``), ``gpg.program`` and ``gpg.openpgp.program``
    set the one OpenPGP program: the last of either wins."""
    program, trust_check = "", False
    for key, value in entries:
        if key == "gpg.mintrustlevel":
            trust_check = True
        elif key in ("gpg.program", "gpg.openpgp.program"):
            program = value.strip()
    return None if trust_check else program or "gpg"
