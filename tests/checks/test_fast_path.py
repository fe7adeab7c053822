"""The fused fast path is never lost without a word: every registered check declares how
it takes part (``FAST_PATH``), the declaration holds, and a fifth check added the way
checks/README.md says (its own module plus its profile lines) keeps the path on."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from send_mergereq import policy
from send_mergereq.checks import CHECKS
from send_mergereq.checks.finding import CheckContext, FastPath, Severity
from send_mergereq.checks.fused import SHARED, fast_path
from send_mergereq.checks.runner import EnabledCheck, Scan
from send_mergereq.config import Flags, load_settings
from send_mergereq.run.check import check_phase

ROOT = Path(__file__).resolve().parents[2]


def test_every_registered_check_declares_the_fast_path() -> None:
    for check_id, module in CHECKS.items():
        assert hasattr(module, "FAST_PATH"), f"{check_id}: no FAST_PATH (see checks/README.md)"
        declared = module.FAST_PATH
        assert declared is None or isinstance(declared, FastPath), check_id
        # a declaration that does not hold turns the fast path off: say it here instead
        assert fast_path(module) is declared, f"{check_id}: FAST_PATH without a vouch"


def test_the_shared_look_covers_only_registered_checks_that_rely_on_it() -> None:
    assert set(CHECKS) >= SHARED
    relying = {i for i, m in CHECKS.items() if m.FAST_PATH and m.FAST_PATH.vouch is None}
    assert relying <= SHARED


def _module(name: str, **attrs: Any) -> ModuleType:
    module = ModuleType(name)
    module.__dict__.update(attrs)
    return module


@pytest.mark.parametrize(
    "attrs",
    [
        {},  # no FAST_PATH at all
        {"FAST_PATH": None},
        {"FAST_PATH": FastPath()},  # claims the shared look, which was not written for it
        {"FAST_PATH": True},
    ],
)
def test_a_check_that_does_not_declare_a_path_that_holds_turns_it_off(attrs: Any) -> None:
    newcomer = _module("newcomer", ID="newcomer", **attrs)
    assert fast_path(newcomer) is None
    checks = [EnabledCheck(m, m.Options()) for m in CHECKS.values()]
    assert Scan(checks, CheckContext()).vouch is not None
    opts = CHECKS["utf8"].Options()
    assert Scan([*checks, EnabledCheck(newcomer, opts)], CheckContext()).vouch is None


def _readme_check() -> str:
    """The whole check checks/README.md shows under "Adding a check", as it is written."""
    section = (ROOT / "checks" / "README.md").read_text().split("## Adding a check", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None
    return found[1]


@pytest.fixture
def fifth_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A fifth check, the one checks/README.md shows, added as it says: its own module
    and its profile lines (the registry line is what registering it in ``CHECKS`` adds).
    Its ``check`` is wrapped to record the commits it sees."""
    package = tmp_path / "newchecks"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "no_wip.py").write_text(_readme_check())
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("newchecks", "newchecks.no_wip"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    from newchecks import no_wip  # type: ignore[import-not-found]

    monkeypatch.setitem(CHECKS, no_wip.ID, no_wip)
    calls: list[str] = []
    real = no_wip.check

    def recorded(commit: Any, ctx: Any, opts: Any) -> Any:
        calls.append(commit.sha)
        return real(commit, ctx, opts)

    monkeypatch.setattr(no_wip, "check", recorded)
    monkeypatch.setattr(no_wip, "CALLS", calls, raising=False)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    for name in ("default", "qemu"):
        text = (ROOT / "checks" / f"{name}.toml").read_text()
        (profiles / f"{name}.toml").write_text(text + '\n[checks.no-wip]\nseverity = "error"\n')
    (profiles / "quiet.toml").write_text('[checks.no-wip]\nseverity = "warning"\n')
    # a profile that does not name it: the check's own default severity (error)
    (profiles / "unnamed.toml").write_text((ROOT / "checks" / "default.toml").read_text())
    monkeypatch.setattr(policy, "_profile_dirs", lambda: [profiles])
    assert isinstance(no_wip, ModuleType)
    return no_wip


@pytest.mark.parametrize("profile", ["default", "qemu", "quiet", "unnamed"])
def test_a_fifth_check_keeps_the_fast_path_on(
    fifth_check: Any, make_repo: Any, profile: str
) -> None:
    repo = make_repo()
    clean = [repo.commit(f"Clean change {n}") for n in range(5)]
    wip = repo.commit("WIP: not yet")
    settings = load_settings(repo.path, "staging", Flags(profile=profile), {})
    enabled = [EnabledCheck(CHECKS[i], opts) for i, opts in settings.checks.items()]
    assert "no-wip" in settings.checks and settings.checks["no-wip"].severity is not Severity.OFF
    scan = Scan(enabled, settings.context())
    assert scan.vouch is not None and scan.merge_vouch is None  # signed-tags checks merges

    report = check_phase(settings)
    assert [(f.check, f.commit) for f in report.findings] == [("no-wip", wip)]
    # the fast path vouched for the clean commits: the new check ran on the WIP one only
    assert [wip] == fifth_check.CALLS and not set(clean) & set(fifth_check.CALLS)


def test_the_readme_says_how_to_add_a_check() -> None:
    readme = (ROOT / "checks" / "README.md").read_text()
    section = readme.split("## Adding a check", 1)[1]
    for needed in ("FAST_PATH", "vouch", "CHECKS", "default.toml", "qemu.toml", "DIGEST"):
        assert re.search(re.escape(needed), section), needed
