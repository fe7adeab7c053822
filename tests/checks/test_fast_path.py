"""The fused fast path is never lost without a word: every registered check declares how
it takes part (``FAST_PATH``), the declaration holds, and a fifth check added the way
checks/README.md says (its own module plus its profile lines, found by
``checks.discover``) keeps the path on."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from send_mergereq import checks, policy
from send_mergereq.checks import CHECKS
from send_mergereq.checks.finding import CheckContext, FastPath, Severity
from send_mergereq.checks.fused import SHARED, fast_path
from send_mergereq.checks.runner import EnabledCheck, Scan
from send_mergereq.config import Flags, load_settings
from send_mergereq.run.check import check_phase

ROOT = Path(__file__).resolve().parents[2]


def _undeclared(registry: dict[str, Any]) -> list[str]:
    """The checks of ``registry`` that do not declare a fast path that holds (with why)."""
    wrong = []
    for check_id, module in registry.items():
        declared = getattr(module, "FAST_PATH", "missing")
        if declared == "missing":
            wrong.append(f"{check_id}: no FAST_PATH (see checks/README.md)")
        elif declared is not None and not isinstance(declared, FastPath):
            wrong.append(f"{check_id}: FAST_PATH is no FastPath")
        elif fast_path(module) is not declared:
            # a declaration that does not hold turns the fast path off: say it here instead
            wrong.append(f"{check_id}: FAST_PATH without a vouch")
    return wrong


def test_every_registered_check_declares_the_fast_path() -> None:
    assert _undeclared(CHECKS) == []


def test_a_new_check_module_that_declares_no_fast_path_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dropped into the package, a check without ``FAST_PATH`` is found, and named by the
    test above; a run that enables it loses the fast path."""
    folder = tmp_path / "checks"
    folder.mkdir()
    code = _readme_check().replace("FAST_PATH = FastPath(vouch=_vouch)\n", "")
    (folder / "no_wip_slow.py").write_text(code.replace('ID = "no-wip"', 'ID = "no-wip-slow"'))
    monkeypatch.setattr(checks, "__path__", [*checks.__path__, str(folder)])
    try:
        found = checks.discover(checks.__path__)
    finally:
        sys.modules.pop("send_mergereq.checks.no_wip_slow", None)
        vars(checks).pop("no_wip_slow", None)
    assert _undeclared(found) == ["no-wip-slow: no FAST_PATH (see checks/README.md)"]
    enabled = [EnabledCheck(m, m.Options()) for m in found.values()]
    assert Scan(enabled, CheckContext()).vouch is None


def test_two_checks_with_one_id_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "checks"
    folder.mkdir()
    (folder / "signoff_again.py").write_text('ID = "signoff"\n')
    monkeypatch.setattr(checks, "__path__", [*checks.__path__, str(folder)])
    try:
        with pytest.raises(ValueError, match=r"'signoff' declared by send_mergereq\.checks"):
            checks.discover(checks.__path__)
    finally:
        sys.modules.pop("send_mergereq.checks.signoff_again", None)
        vars(checks).pop("signoff_again", None)


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
def fifth_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """A fifth check, the one checks/README.md shows, added as it says: its own module in
    the checks package (a folder of its path) and its profile lines; nothing registers
    it but ``discover``. Its ``check`` is wrapped to record the commits it sees."""
    folder = tmp_path / "checks"
    folder.mkdir()
    (folder / "no_wip.py").write_text(_readme_check())
    monkeypatch.setattr(checks, "__path__", [*checks.__path__, str(folder)])
    found = checks.discover(checks.__path__)
    assert list(found) == [*CHECKS, "no-wip"]  # found, and after the built-in checks
    no_wip = found["no-wip"]
    assert isinstance(no_wip, ModuleType) and no_wip.__name__ == "send_mergereq.checks.no_wip"
    monkeypatch.setitem(CHECKS, "no-wip", no_wip)
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
    yield no_wip
    sys.modules.pop("send_mergereq.checks.no_wip", None)
    vars(checks).pop("no_wip", None)


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
    for needed in ("FAST_PATH", "vouch", "ID", "default.toml", "qemu.toml", "DIGEST"):
        assert re.search(re.escape(needed), section), needed
