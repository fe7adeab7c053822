"""The ``[tiers]`` table of the target's ``.send-mergereq.toml``: the thresholds of
``send-mergereq jobs``' tier advice (``jobs/tiers.py``), validated. Read with the rest of
the policy on every run, so it is a module of its own, light to import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from send_mergereq.errors import ConfigError


@dataclass(frozen=True)
class TierPolicy:
    promote_runs: int = 100
    promote_days: float = 60.0
    demote_failures: int = 2
    demote_hours: float = 24.0
    flaky_rate: float = 0.05
    gone_pipelines: int = 20


# [tiers] table -> key -> (field, type, lowest, highest)
_KEYS: dict[str, dict[str, tuple[str, type, float, float]]] = {
    "promote": {
        "runs": ("promote_runs", int, 1, 100_000),
        "days": ("promote_days", float, 0, 3660),
    },
    "demote": {
        "failures": ("demote_failures", int, 1, 10_000),
        "hours": ("demote_hours", float, 0, 87_840),
    },
    "flaky": {"rate": ("flaky_rate", float, 0, 1)},
    "gone": {"pipelines": ("gone_pipelines", int, 1, 10_000)},
}


def tiers_from_policy(value: Any, source: str) -> TierPolicy:
    """``[tiers]`` of a policy file, validated (errors name the file and the key):
    ``promote = {runs = 100, days = 60}``, ``demote = {failures = 2, hours = 24}``,
    ``flaky = {rate = 0.05}`` (or ``"5%"``), ``gone = {pipelines = 20}``."""
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: tiers: expected a table ([tiers])")
    fields: dict[str, Any] = {}
    for table, inner in value.items():
        if table not in _KEYS:
            raise ConfigError(
                f"{source}: tiers.{table}: unknown key", hint=f"keys: {', '.join(_KEYS)}"
            )
        if not isinstance(inner, dict):
            raise ConfigError(f"{source}: tiers.{table}: expected a table")
        for key, raw in inner.items():
            where = f"{source}: tiers.{table}.{key}"
            if key not in _KEYS[table]:
                known = ", ".join(_KEYS[table])
                raise ConfigError(f"{where}: unknown key", hint=f"keys of tiers.{table}: {known}")
            name, kind, low, high = _KEYS[table][key]
            fields[name] = _number(raw, kind, low, high, where)
    return TierPolicy(**fields)


def _number(raw: Any, kind: type, low: float, high: float, where: str) -> Any:
    value = raw
    if kind is float and isinstance(raw, str) and raw.strip().endswith("%"):
        try:
            value = float(raw.strip()[:-1]) / 100
        except ValueError:
            value = raw
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: expected a number, got {raw!r}")
    if kind is int and not isinstance(value, int):
        raise ConfigError(f"{where}: expected a whole number, got {raw!r}")
    if not low <= value <= high:
        raise ConfigError(f"{where}: {raw!r} is out of range ({low:g} to {high:g})")
    return kind(value)
