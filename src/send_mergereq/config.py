"""Layered settings with provenance, resolved once into a frozen ``Settings``.

Layers, lowest first: built-in defaults; a profile (``checks/<name>.toml``);
the policy file ``.send-mergereq.toml`` read once from the *target* ref (never
from the commits under check); git config ``sendmergereq.*`` (one ``git config``
call); ``SEND_MERGEREQ_*`` environment variables; command-line flags.

Everything a run is configured by is settled here: the checks and their options,
the remote, the target, the branch names on GitLab, the GitLab URL and project
when given (else ``gitlab.location`` derives them from the remote's URL), and
the mode (merge request or push-only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from send_mergereq import git, policy
from send_mergereq.checks import CHECKS
from send_mergereq.checks.exemptions import Exemption, from_git_config
from send_mergereq.checks.finding import CheckContext, Severity
from send_mergereq.errors import ConfigError
from send_mergereq.where import GitConfig, first_given, last_value, locate

if TYPE_CHECKING:  # jobs' thresholds: imported by the one command that reads them
    from send_mergereq.jobs.tier_policy import TierPolicy

POLICY_FILE = ".send-mergereq.toml"
MODE_KEY = "sendmergereq.mode"
DEFAULT_PROFILE = "default"


class LandMode(StrEnum):
    """How the project gates: docs/PRODUCT.md's MR mode, or push-only (``--no-mr``)."""

    MR = "mr"  # gate on a merge request pipeline, land by merging the MR
    PUSH = "push"  # gate on the branch pipeline of the pushed commit, land by fast-forward


_MODE_WORDS = {"mr": LandMode.MR, "merge-request": LandMode.MR, "push": LandMode.PUSH}


@dataclass(frozen=True)
class Flags:
    """What the command line (or a caller) asks for; None means "not given"."""

    target: str | None = None
    remote: str | None = None
    profile: str | None = None
    checks: tuple[str, ...] = ()  # "ID=SEVERITY", repeatable
    json: bool = False
    debug: bool = False
    color: bool | None = None
    gitlab_url: str | None = None
    project: str | None = None
    use_mr: bool | None = None  # --mr/--no-mr
    base: str | None = None  # the range's lower end when it is not the target (check in CI)
    policy_why: str = ""  # why the target is where the policy comes from (check in CI)


@dataclass(frozen=True)
class Settings:
    repo: Path
    branch: str
    target: str
    remote: str | None
    profile: str
    checks: Mapping[str, Any]  # check id -> its Options, for every registered check
    list_addresses: tuple[str, ...] = ()
    list_name_suffixes: tuple[str, ...] = ()
    trusted_signers: tuple[str, ...] = ()
    exemptions: tuple[Exemption, ...] = ()  # the project's file, then your git config
    json: bool = False
    debug: bool = False
    color: bool | None = None
    git_config: GitConfig = field(default_factory=dict, repr=False)
    provenance: Mapping[str, str] = field(default_factory=dict, repr=False)
    mode: LandMode = LandMode.MR
    gitlab_url: str | None = None  # None: from the remote's URL (gitlab.location)
    project: str | None = None  # None: from the remote's URL
    max_tag_age: int = 30  # days: apply.max-tag-age, how old a pull request's tag may be
    base: str | None = None  # the range is BASE..BRANCH (None: TARGET..BRANCH)
    policy_file: str = ""  # where .send-mergereq.toml was read from: TARGET:.send-mergereq.toml
    policy_why: str = ""  # why that branch, when a CI job chose it
    policy_found: bool | None = None  # whether policy_file was there (None: not looked)
    tiers: TierPolicy | None = None  # [tiers]: send-mergereq jobs (None: its defaults)
    gpg_program: str | None = "gpg"  # git's OpenPGP verifier (None: git's trust check applies)

    @property
    def source_branch(self) -> str:
        """The branch's name on GitLab (``staging``)."""
        return gitlab_branch_name(self.branch, self.remote or "")

    @property
    def target_branch(self) -> str:
        """The target's name on GitLab: ``origin/master`` is ``master``."""
        return gitlab_branch_name(self.target, self.remote or "")

    def location_words(self) -> list[str]:
        """``--target`` and the ``--remote``/``--gitlab-url``/``--project`` that are set: the
        words a command said back to the user (resume, next) needs to find the same place."""
        words = ["--target", self.target]
        for flag, value in (
            ("--remote", self.remote),
            ("--gitlab-url", self.gitlab_url),
            ("--project", self.project),
        ):
            if value:
                words += [flag, value]
        return words

    def context(self) -> CheckContext:
        return CheckContext(
            list_addresses=self.list_addresses,
            list_name_suffixes=self.list_name_suffixes,
            trusted_signers=self.trusted_signers,
        )

    def severity(self, check_id: str) -> Severity:
        return Severity(self.checks[check_id].severity)


def read_policy_file(repo: Path, target: str) -> tuple[policy.Policy, str]:
    """``TARGET:.send-mergereq.toml`` validated; empty when the target has none."""
    read, spec, _ = policy_file(repo, target)
    return read, spec


def policy_file(repo: Path, target: str) -> tuple[policy.Policy, str, bool]:
    """``read_policy_file``, and whether the target has the file (the report says it)."""
    spec = f"{target}:{POLICY_FILE}"
    size = git.blob_size(repo, spec)
    if size is None:
        return {}, spec, False
    policy.check_size(size, spec)
    data = git.read_blob(repo, spec)
    if data is None:
        return {}, spec, True
    return policy.parse_policy(data, spec, allow_profile=True), spec, True


def _severity_layer(values: tuple[str, ...], where: str) -> dict[str, dict[str, Any]]:
    layer: dict[str, dict[str, Any]] = {}
    for value in values:
        for item in filter(None, (part.strip() for part in value.split(","))):
            check_id, severity = policy.parse_severity_override(item, where)
            layer[check_id] = {"severity": severity}
    return layer


def _pick_profile(
    flags: Flags, env: Mapping[str, str], config: GitConfig, file_policy: policy.Policy, file: str
) -> tuple[str, str]:
    return first_given(
        (flags.profile, "flag --profile"),
        (env.get("SEND_MERGEREQ_PROFILE"), "env SEND_MERGEREQ_PROFILE"),
        (last_value(config, "sendmergereq.profile"), "git config sendmergereq.profile"),
        (file_policy.get("profile"), file),
    ) or (DEFAULT_PROFILE, "built-in default")


def _check_layers(
    profile: tuple[policy.Policy, str],
    project: tuple[policy.Policy, str],
    config: GitConfig,
    env: Mapping[str, str],
    flags: Flags,
) -> list[tuple[str, Mapping[str, Any]]]:
    """``(source, {check id: {option: value}})`` from every layer, lowest first."""
    in_git, in_env = "git config sendmergereq.check", "env SEND_MERGEREQ_CHECK"
    env_checks = tuple(filter(None, [env.get("SEND_MERGEREQ_CHECK")]))
    return [
        (profile[1], profile[0].get("checks", {})),
        (project[1], project[0].get("checks", {})),
        (in_git, _severity_layer(config.get("sendmergereq.check", ()), in_git)),
        (in_env, _severity_layer(env_checks, in_env)),
        ("flag --check", _severity_layer(flags.checks, "--check")),
    ]


def _policy_lists(
    docs: list[tuple[policy.Policy, str]], provenance: dict[str, str]
) -> dict[str, tuple[str, ...]]:
    """The list keys (list addresses, suffixes, signers): the highest layer setting one wins."""
    lists: dict[str, tuple[str, ...]] = {}
    for doc, source in docs:
        for key in policy.LIST_KEYS:
            if key in doc:
                lists[key], provenance[key] = doc[key], source
    return lists


def gitlab_branch_name(ref: str, remote: str) -> str:
    """``origin/master`` or ``refs/remotes/origin/master`` as the branch name ``master``."""
    for prefix in (f"refs/remotes/{remote}/", f"{remote}/", "refs/heads/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def parse_mode(value: str, where: str) -> LandMode:
    """``mr`` or ``push`` (``merge-request`` too), or a ConfigError naming ``where``."""
    mode = _MODE_WORDS.get(value.strip().lower())
    if mode is None:
        raise ConfigError(f"{where}: unknown mode {value!r}", hint="use mode = mr or mode = push")
    return mode


def land_mode(no_mr: bool | None, git_config: GitConfig, policy_mode: str | None) -> LandMode:
    """``--mr/--no-mr`` over git config ``sendmergereq.mode`` over the policy file's ``mode``."""
    if no_mr is not None:
        return LandMode.PUSH if no_mr else LandMode.MR
    values = git_config.get(MODE_KEY, ())
    if values:
        return parse_mode(values[-1], f"git config {MODE_KEY}")
    if policy_mode:
        return parse_mode(policy_mode, ".send-mergereq.toml: mode")
    return LandMode.MR


def _layered(
    flag: str | None, env: Mapping[str, str], var: str, config: GitConfig, key: str
) -> str | None:
    """A personal setting: the flag, else ``SEND_MERGEREQ_*``, else git config."""
    return flag or env.get(var) or last_value(config, key)


def _reject_empty(flags: Flags) -> None:
    """``--target ""`` (an unset shell variable) is a mistake, not "use the default"."""
    for name in ("target", "profile", "remote"):
        value = getattr(flags, name)
        if value is not None and not value.strip():
            raise ConfigError(f"--{name}: empty value", hint=f"pass --{name} NAME, or leave it out")


def _max_tag_age(layers: list[policy.Policy]) -> int:
    """``apply.max-tag-age``: the project's file over the profile, else 30 days."""
    found = [p["apply"]["max-tag-age"] for p in layers if "max-tag-age" in p.get("apply", {})]
    return int(found[-1]) if found else 30


def load_settings(repo_dir: Path, branch: str, flags: Flags, env: Mapping[str, str]) -> Settings:
    """Every layer read and merged; raises ConfigError naming the culprit."""
    _reject_empty(flags)
    repo, entries, config, remote, target, target_source = locate(
        repo_dir, branch, flags.target, flags.remote, env
    )
    read, spec, found = policy_file(repo, target)
    project = (read, spec)
    profile, profile_source = _pick_profile(flags, env, config, *project)
    loaded = policy.load_profile(profile, profile_source)
    checks, provenance = policy.merge_options(_check_layers(loaded, project, config, env, flags))
    lists = _policy_lists([loaded, project], provenance)
    provenance |= {"target": target_source, "profile": profile_source}
    return Settings(
        repo=repo,
        branch=branch,
        target=target,
        remote=remote,
        profile=profile,
        checks=checks,
        list_addresses=lists.get("list-addresses", ()),
        list_name_suffixes=lists.get("list-name-suffixes", ()),
        trusted_signers=lists.get("trusted-signers", ()),
        exemptions=project[0].get("exempt", ())
        + from_git_config(config.get("sendmergereq.exempt", ()), CHECKS),
        json=flags.json,
        debug=flags.debug,
        color=flags.color,
        git_config=config,
        provenance=provenance,
        mode=land_mode(
            None if flags.use_mr is None else not flags.use_mr,
            config,
            str(project[0]["mode"]) if project[0].get("mode") else None,
        ),
        gitlab_url=_layered(
            flags.gitlab_url, env, "SEND_MERGEREQ_GITLAB_URL", config, "sendmergereq.gitlaburl"
        ),
        project=_layered(
            flags.project, env, "SEND_MERGEREQ_PROJECT", config, "sendmergereq.project"
        ),
        max_tag_age=_max_tag_age([loaded[0], project[0]]),
        base=flags.base,
        policy_file=project[1],
        policy_found=found,
        policy_why=flags.policy_why,
        gpg_program=git.gpg_program_in(entries),  # from the entries: their order decides
        tiers=project[0].get("tiers"),
    )
