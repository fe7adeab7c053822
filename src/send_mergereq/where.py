"""Where a run points: the repository's git config (the settings' one ``git config``), its
push remote and the target branch. The part of the settings that needs no check, no
profile and no policy, light to import: a range's walks start from it while the
run still imports its checks (``scan/cut.walk_ahead``); ``config.load_settings``
reads the rest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from send_mergereq import git
from send_mergereq.errors import ConfigError

GitConfig = Mapping[str, tuple[str, ...]]  # key -> every value, in git's order

CONFIG_KEYS = rf"^(sendmergereq|remote|branch)\.|{git.GPG_KEYS}"  # the settings' one git config


class Location(NamedTuple):
    """Where a run points (``locate``)."""

    repo: Path
    entries: list[tuple[str, str]]  # the git config read, in git's order
    config: GitConfig  # the same, by key
    remote: str | None
    target: str
    target_source: str  # where the target was chosen, as the settings say it


def locate(
    repo_dir: Path,
    branch: str,
    target: str | None,
    remote: str | None,
    env: Mapping[str, str],
) -> Location:
    """The repository holding ``repo_dir``, its git config, the push remote (``--remote``,
    else ``SEND_MERGEREQ_REMOTE``, else ``resolve_remote``) and the target (``pick_target``,
    ``--target`` first): the settings' first steps, and all the walks ahead
    needs. Raises ConfigError naming the culprit."""
    repo = git.repo_root(repo_dir)
    entries = read_git_config(repo)
    config = grouped(entries)
    chosen = resolve_remote(config, branch, remote or env.get("SEND_MERGEREQ_REMOTE"))
    spec, source = pick_target(repo, target, env, config, chosen)
    return Location(repo, entries, config, chosen, spec, source)


def read_git_config(repo: Path) -> list[tuple[str, str]]:
    """``sendmergereq.*``, ``remote.*`` and ``branch.*`` keys, and the ``gpg.*`` ones the
    signed-tags check verifies with, in one ``git config`` call (``CONFIG_KEYS``): the
    entries in git's order (``grouped`` by key for the settings; the gpg program reads
    the order itself)."""
    return git.config_entries(repo, CONFIG_KEYS)


def grouped(entries: Iterable[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    """Config entries by key. Keys come as git prints them (section and name lowercased);
    every value of a multi-valued key is kept, in git's order (the last one wins for
    single values)."""
    found: dict[str, list[str]] = {}
    for key, value in entries:
        found.setdefault(key, []).append(value)
    return {key: tuple(values) for key, values in found.items()}


def last_value(config: GitConfig, key: str) -> str | None:
    values = config.get(key)
    return values[-1] if values else None


def resolve_remote(config: GitConfig, branch: str, chosen: str | None) -> str | None:
    """The push remote: flag/env, sendmergereq.remote, branch.<b>.pushRemote,
    remote.pushDefault, branch.<b>.remote, else ``origin`` when it exists."""
    short = branch.removeprefix("refs/heads/")
    candidates = [
        chosen,
        last_value(config, "sendmergereq.remote"),
        last_value(config, f"branch.{short}.pushremote"),
        last_value(config, "remote.pushdefault"),
        last_value(config, f"branch.{short}.remote"),
    ]
    for name in candidates:
        if name and name != ".":
            if not _remote_exists(config, name):
                raise ConfigError(
                    f"remote {name!r}: no such remote", hint="see git remote -v, or pass --remote"
                )
            return name
    return "origin" if _remote_exists(config, "origin") else None


def _remote_exists(config: GitConfig, name: str) -> bool:
    return f"remote.{name}.url" in config or f"remote.{name}.fetch" in config


def default_target(repo: Path, remote: str | None) -> str:
    """The remote's default branch as git knows it locally, else local master/main."""
    candidates = []
    if remote:
        candidates += [f"refs/remotes/{remote}/{b}" for b in ("HEAD", "master", "main")]
    candidates += ["refs/heads/master", "refs/heads/main"]
    refs = git.existing_refs(repo, candidates)
    for ref in candidates:
        if ref in refs:
            return _short_ref(refs[ref] or ref)
    raise ConfigError(
        f"no target branch: none of {', '.join(_short_ref(c) for c in candidates)} exists",
        hint="pass --target REF (or git config sendmergereq.target REF)",
    )


def _short_ref(ref: str) -> str:
    return ref.removeprefix("refs/remotes/").removeprefix("refs/heads/")


def pick_target(
    repo: Path, flag: str | None, env: Mapping[str, str], config: GitConfig, remote: str | None
) -> tuple[str, str]:
    """The target branch and where it was chosen: ``--target``, ``SEND_MERGEREQ_TARGET``,
    ``sendmergereq.target``, else the remote's default branch (``default_target``)."""
    chosen = first_given(
        (flag, "flag --target"),
        (env.get("SEND_MERGEREQ_TARGET"), "env SEND_MERGEREQ_TARGET"),
        (last_value(config, "sendmergereq.target"), "git config sendmergereq.target"),
    )
    return chosen or (default_target(repo, remote), f"default branch of {remote or 'the repo'}")


def first_given(*candidates: tuple[str | None, str]) -> tuple[str, str] | None:
    return next(((value, source) for value, source in candidates if value), None)
