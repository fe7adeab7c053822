"""Check policy documents: profiles (``checks/*.toml``) and ``.send-mergereq.toml``.

Both share one schema (see ``checks/README.md``): ``list-addresses``,
``list-name-suffixes``, ``trusted-signers`` and ``[checks.<id>]`` tables of
check options, ``severity`` first. The committed policy file may also name a
``profile``; it may never set personal or secret keys (token, URL, remote).
Every error names the file and the key.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from send_mergereq.checks import CHECKS, exemptions
from send_mergereq.checks.finding import Severity
from send_mergereq.errors import ConfigError

LIST_KEYS = ("list-addresses", "list-name-suffixes", "trusted-signers")
MAX_BYTES = 256 * 1024  # a policy file is a page of settings, never megabytes
MAX_LIST = 1000  # entries in one list (addresses, suffixes, signers)
_WHERE_TOKENS_LIVE = (
    "export GITLAB_TOKEN, or log in with glab auth login, or use python-gitlab's config file "
    "or a git credential helper"
)
# Where a personal key belongs instead (never in the committed file).
_WHERE_INSTEAD = {
    "token": _WHERE_TOKENS_LIVE,
    "private-token": _WHERE_TOKENS_LIVE,
    "url": "pass --gitlab-url URL, or git config sendmergereq.gitlabUrl URL",
    "gitlab-url": "pass --gitlab-url URL, or git config sendmergereq.gitlabUrl URL",
    "gitlab": "pass --gitlab-url URL, or git config sendmergereq.gitlabUrl URL",
    "host": "pass --gitlab-url URL, or git config sendmergereq.gitlabUrl URL",
    "remote": "pass --remote NAME, or git config sendmergereq.remote NAME",
}
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SEVERITIES = "|".join(s.value for s in Severity)

Policy = dict[str, Any]  # validated: list keys -> tuple[str, ...]; "checks" -> {id: {field: value}}


PACKAGE = Path(__file__).parent  # where the wheel puts the profiles (force-include), read
# as files: importlib.resources would cost a tenth of a cold start to import


def _profile_dirs() -> list[Path]:
    dirs = []
    shipped = PACKAGE / "_checks"
    if shipped.is_dir():
        dirs.append(shipped)
    source = Path(__file__).resolve().parents[2] / "checks"  # the source checkout (editable)
    if source.is_dir():
        dirs.append(source)
    return dirs


def known_profiles() -> list[str]:
    return sorted({p.stem for d in _profile_dirs() for p in d.glob("*.toml")})


def load_profile(name: str, named_in: str = "") -> tuple[Policy, str]:
    """The validated profile ``name`` and where it was read from; ``named_in`` (the layer
    that asked for it) is said when there is no such profile."""
    for directory in _profile_dirs() if _PROFILE_NAME.match(name) else []:
        path = directory / f"{name}.toml"
        if path.is_file():
            source = f"profile {name} ({path})"
            return parse_policy(path.read_bytes(), source, allow_profile=False), source
    where = f" (set in {named_in})" if named_in else ""
    raise ConfigError(
        f"unknown profile {name!r}{where}", hint=f"known profiles: {', '.join(known_profiles())}"
    )


def check_size(size: int, source: str) -> None:
    """Refuse a policy file over ``MAX_BYTES`` before it is read (a hostile target's file)."""
    if size > MAX_BYTES:
        raise ConfigError(
            f"{source}: {size} bytes, more than the {MAX_BYTES} a policy file may have",
            hint="a policy file holds a few settings; shorten it on the target",
        )


def parse_policy(data: bytes, source: str, *, allow_profile: bool) -> Policy:
    """Parse and validate one TOML policy document; ``source`` names it in errors."""
    check_size(len(data), source)
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: invalid TOML: {_short(str(exc))}") from None
    except ValueError:  # tomllib: an integer of more digits than Python converts
        raise ConfigError(f"{source}: invalid TOML: a number too long to read") from None
    policy: Policy = {}
    for key, value in doc.items():
        if key in _WHERE_INSTEAD:
            raise ConfigError(
                f"{source}: {key}: not allowed here, this file sets check policy only",
                hint=_WHERE_INSTEAD[key],
            )
        if key == "profile" and allow_profile:
            policy[key] = _expect(value, str, source, key)
        elif key in LIST_KEYS:
            policy[key] = _string_list(value, source, key)
        elif key == "checks":
            policy[key] = _checks_table(value, source)
        elif key == "mode":
            policy[key] = _mode(value, source)
        elif key == "apply":
            policy[key] = _apply_table(value, source)
        elif key in ("exempt", "jobs", "tiers") and allow_profile:  # never in a profile
            policy[key] = _project_table(key, value, source)
        elif key != "description":
            allowed = ["profile", "exempt", "jobs", "tiers"] * allow_profile
            allowed += [*LIST_KEYS, "checks", "mode"]
            allowed.append("apply")
            allowed.append("description")
            raise ConfigError(
                f"{source}: unknown key {key!r}", hint=f"known keys: {', '.join(allowed)}"
            )
    return policy


def _project_table(key: str, value: Any, source: str) -> Any:
    """The tables only the project's file may hold: ``[[exempt]]``, ``[[jobs]]`` (job
    owners) and ``[tiers]`` (``send-mergereq jobs``' policy)."""
    if key == "exempt":
        return exemptions.from_policy(value, source, CHECKS)
    if key == "jobs":
        from send_mergereq.triage import owners

        return owners.jobs_from_policy(value, source)
    from send_mergereq.jobs.tier_policy import tiers_from_policy

    return tiers_from_policy(value, source)


def _expect(value: Any, kind: type, source: str, key: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{source}: {key}: expected {kind.__name__}, got {_short(value)}")
    return value


def _mode(value: Any, source: str) -> str:
    """How the project gates: ``mr`` (merge request pipelines) or ``push`` (branch pipelines)."""
    text = _expect(value, str, source, "mode")
    if text not in ("mr", "push", "merge-request"):
        raise ConfigError(f'{source}: mode: expected "mr" or "push", got {value!r}')
    return str(text)


APPLY_KEYS = {"max-tag-age": "days a pull request's signed tag may be old (default 30)"}
MAX_TAG_AGE_DAYS = 3660  # ten years: a larger bound is no bound


def _apply_table(value: Any, source: str) -> dict[str, Any]:
    """``[apply]``: what ``send-mergereq apply`` accepts (``max-tag-age = DAYS``)."""
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: apply: expected a table ([apply])")
    table: dict[str, Any] = {}
    for key, raw in value.items():
        if key not in APPLY_KEYS:
            known = "; ".join(f"{k}: {v}" for k, v in APPLY_KEYS.items())
            raise ConfigError(f"{source}: apply.{key}: unknown key", hint=f"known: {known}")
        days = _expect(raw, int, source, f"apply.{key}")
        if not 1 <= days <= MAX_TAG_AGE_DAYS:
            raise ConfigError(
                f"{source}: apply.{key}: {days} days, expected 1 to {MAX_TAG_AGE_DAYS}"
            )
        table[key] = days
    return table


def _string_list(value: Any, source: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: {key}: expected a list of strings, got {_short(value)}")
    if len(value) > MAX_LIST:
        raise ConfigError(
            f"{source}: {key}: {len(value)} entries, more than the {MAX_LIST} allowed"
        )
    return tuple(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def unknown_check(check_id: str, where: str) -> ConfigError:
    return ConfigError(
        f"{where}: unknown check {check_id!r}", hint=f"known checks: {', '.join(CHECKS)}"
    )


def _checks_table(value: Any, source: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: checks: expected a table of [checks.<id>] tables")
    table = {}
    for check_id, options in value.items():
        if check_id not in CHECKS:
            raise unknown_check(check_id, f"{source}: checks")
        if not isinstance(options, dict):
            raise ConfigError(f"{source}: checks.{check_id}: expected a table of options")
        table[check_id] = {
            key.replace("-", "_"): option_value(check_id, key, raw, source)
            for key, raw in options.items()
        }
    return table


def option_value(check_id: str, key: str, raw: Any, source: str) -> Any:
    """``raw`` converted to the type of the option ``key`` of check ``check_id``."""
    fields = {f.name: f for f in dataclasses.fields(CHECKS[check_id].Options)}
    name = key.replace("-", "_")
    where = f"{source}: checks.{check_id}.{key}"
    if name not in fields:
        known = ", ".join(n.replace("_", "-") for n in fields)
        raise ConfigError(f"{where}: unknown option", hint=f"options of {check_id}: {known}")
    default = fields[name].default
    if isinstance(default, Severity):
        if raw not in {s.value for s in Severity}:
            raise ConfigError(f"{where}: expected {_SEVERITIES}, got {raw!r}")
        return Severity(raw)
    if isinstance(default, tuple):
        return _string_list(raw, source, f"checks.{check_id}.{key}")
    return _expect(raw, type(default), source, f"checks.{check_id}.{key}")


def parse_severity_override(text: str, where: str) -> tuple[str, Severity]:
    """``"signoff=warning"`` -> ``("signoff", Severity.WARNING)``."""
    check_id, sep, value = text.partition("=")
    check_id, value = check_id.strip(), value.strip()
    if not sep:
        raise ConfigError(f"{where}: {text!r}: expected ID=SEVERITY, e.g. signoff=warning")
    if check_id not in CHECKS:
        raise unknown_check(check_id, where)
    if value not in {s.value for s in Severity}:
        raise ConfigError(f"{where}: {text!r}: expected {_SEVERITIES} after '='")
    return check_id, Severity(value)


def merge_options(
    layers: list[tuple[str, Mapping[str, Any]]],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Each check's Options built up from ``(source, {id: {field: value}})`` layers, lowest
    first; and which layer set each ``checks.<id>.<field>``."""
    options: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    for check_id, module in CHECKS.items():
        values: dict[str, Any] = {}
        for source, table in layers:
            for name, value in table.get(check_id, {}).items():
                values[name] = value
                provenance[f"checks.{check_id}.{name.replace('_', '-')}"] = source
        options[check_id] = module.Options(**values)
    return options, provenance
