"""The layout's rules (docs/ARCHITECTURE.md), checked on the source: one door to git, one
door to GitLab, every declared dependency used."""

from __future__ import annotations

import ast
import functools
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "send_mergereq"


@functools.cache
def _imports() -> dict[str, set[str]]:
    """Module path (relative to the package) -> the top-level names it imports."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
        found[str(path.relative_to(PACKAGE))] = names
    return found


def _importers(prefix: str) -> set[str]:
    return {
        module
        for module, names in _imports().items()
        if any(name == prefix or name.startswith(prefix + ".") for name in names)
    }


def test_only_git_py_and_the_token_helper_start_processes_outside_sandbox_and_demo() -> None:
    starters = {m for m in _importers("subprocess") if not m.startswith("sandbox/")}
    assert starters <= {"git.py", "gitlab/credentials.py", "demo.py", "demo_repo.py"}


def test_only_the_gitlab_package_imports_python_gitlab_or_requests() -> None:
    for library in ("gitlab", "requests"):
        assert all(m.startswith("gitlab/") for m in _importers(library)), library


def test_only_git_py_imports_gitpython() -> None:
    assert _importers("git") == {"git.py"}


def test_every_declared_dependency_is_imported() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    modules = {"python-gitlab": "gitlab", "GitPython": "git", "click": "click",
               "rich": "rich", "chardet": "chardet"}  # fmt: skip
    for requirement in project["dependencies"]:
        name = requirement.split(">")[0].split("=")[0].strip()
        assert _importers(modules[name]), f"{name} is declared but never imported"


def test_the_rules_import_nothing_of_the_reading_layer() -> None:
    """``checks/`` (the rules) never reaches into ``scan/`` (what reads the range and feeds
    them): the scanning layer imports the runner, never the other way round."""
    rules = {m for m in _imports() if m.startswith("checks/")}
    assert not rules & _importers("send_mergereq.scan")
    # nor runs git: signature verification reaches a check as ``ctx.verify_tag``
    assert not rules & (_importers("send_mergereq.git") | _importers("subprocess"))
    for path in (PACKAGE / "checks").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "send_mergereq":
                assert "git" not in {alias.name for alias in node.names}, path.name
