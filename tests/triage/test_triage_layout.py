"""The triage modules keep the layout's rules: the pure ones start no process and touch no
file (they import neither git/, subprocess, os nor pathlib); the others reach git only
through git/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TRIAGE = Path(__file__).resolve().parents[2] / "src" / "send_mergereq" / "triage"
PURE = ["suspects.py", "owners.py", "search.py", "summary.py", "replies.py", "judge.py"]
IO = {"subprocess", "os", "pathlib", "send_mergereq.git", "shutil", "socket"}


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module == "send_mergereq":
                names |= {f"send_mergereq.{alias.name}" for alias in node.names}
    return names


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_do_no_io(module: str) -> None:
    assert not imports(TRIAGE / module) & IO, module


def test_every_triage_module_is_classified_and_none_starts_a_process() -> None:
    modules = {p.name for p in TRIAGE.glob("*.py")} - {"__init__.py"}
    assert set(PURE) <= modules
    for path in TRIAGE.glob("*.py"):
        assert "subprocess" not in imports(path), path.name
