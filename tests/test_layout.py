"""The layout's rules (docs/ARCHITECTURE.md), checked on the source: one door to git, one
door to GitLab, every declared dependency used."""

from __future__ import annotations

import ast
import functools
import tomllib
from collections.abc import Callable
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


_OS_RUNNERS = ("exec", "spawn", "popen", "system", "posix_spawn", "forkpty")


def _os_calls(tree: ast.AST) -> set[str]:
    """The names of ``os`` a module imports (``from os import x``) or uses (``os.x``)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            found |= {alias.name for alias in node.names}
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            found.add(node.attr)
    return found


def _top_imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            found.add((node.module or "").partition(".")[0])
    return found


def _starts_processes(tree: ast.AST) -> bool:
    """Whether a module runs programs: imports ``subprocess`` or ``pty``, or calls
    ``os.exec*``, ``os.spawn*``, ``os.popen``, ``os.system``, ``os.posix_spawn*`` or
    ``os.forkpty``."""
    return bool(_top_imports(tree) & {"subprocess", "pty"}) or any(
        name.startswith(_OS_RUNNERS) for name in _os_calls(tree)
    )


def _forks(tree: ast.AST) -> bool:
    """Whether a module forks copies of this process: ``os.fork`` or ``multiprocessing``."""
    return "multiprocessing" in _top_imports(tree) or "fork" in _os_calls(tree)


def _modules(rule: Callable[[ast.AST], bool]) -> set[str]:
    return {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if rule(ast.parse(path.read_text()))
    }


def test_at_most_two_modules_start_processes_outside_sandbox_and_demo() -> None:
    """``git/process.py`` (git, and the signer and pager git would start) and the token
    helper (``gitlab/credentials.py``)."""
    starters = {m for m in _modules(_starts_processes) if not m.startswith(("sandbox/", "demo/"))}
    assert starters <= {"git/process.py", "gitlab/credentials.py"}, starters


def test_the_rule_sees_every_way_to_start_a_process() -> None:
    starting = [
        "import subprocess",
        "from subprocess import run",
        "import os\nos.execvp('x', [])",
        "from os import posix_spawn",
        "import pty",
        "import os\nos.forkpty()",
    ]
    assert all(_starts_processes(ast.parse(code)) for code in starting)
    quiet = ["import os\nos.environ", "from os import path", "import os\nos.killpg(1, 9)"]
    assert not any(_starts_processes(ast.parse(code)) for code in quiet)
    forking = ["import os\nos.fork()", "from os import fork", "import multiprocessing"]
    assert all(_forks(ast.parse(code)) for code in forking)
    assert not any(_forks(ast.parse(code)) for code in [*quiet, "import os\nos.forkpty()"])


def test_only_the_scan_workers_fork_python_workers() -> None:
    """The range's parts are checked by forked copies of this process (no program run)."""
    assert _modules(_forks) == {"scan/workers.py"}


def test_only_the_gitlab_package_imports_python_gitlab_or_requests() -> None:
    for library in ("gitlab", "requests"):
        assert all(m.startswith("gitlab/") for m in _importers(library)), library


def test_only_the_git_package_imports_gitpython() -> None:
    assert _importers("git") == {"git/repository.py"}


def test_every_public_name_of_the_git_package_is_reexported() -> None:
    """``from send_mergereq import git; git.fn()`` works for every function of ``git/``."""
    from send_mergereq import git

    for path in (PACKAGE / "git").glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            names = [getattr(node, "name", None)]
            if isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            for name in names:
                if name and not name.startswith("_") and path.name != "__init__.py":
                    assert name in git.__all__, (path.name, name)
                    assert getattr(git, name) is getattr(
                        __import__(f"send_mergereq.git.{path.stem}", fromlist=[name]), name
                    )


def test_every_declared_dependency_is_imported() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    modules = {"python-gitlab": "gitlab", "GitPython": "git", "click": "click",
               "rich": "rich", "chardet": "chardet", "ruamel.yaml": "ruamel.yaml"}  # fmt: skip
    for requirement in project["dependencies"]:
        name = requirement.split(">")[0].split("=")[0].strip()
        assert _importers(modules[name]), f"{name} is declared but never imported"


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import that runs (at module level or in a function), not those under
    ``if TYPE_CHECKING:``, which only the type checker reads."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            found.extend(_runtime_imports(ast.Module(body=node.orelse, type_ignores=[])))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        found.extend(_runtime_imports(node))
    return found


@functools.cache
def _graph(typing_too: bool = False) -> dict[str, set[str]]:
    """Module -> the modules of the tool it imports at run time (with ``typing_too``, also
    under ``if TYPE_CHECKING:``; a module importing its own package's ``__init__`` is not
    an edge: Python runs it first anyway)."""
    modules = {_module(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        tree = ast.parse(path.read_text())
        imports = (
            [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
            if typing_too
            else _runtime_imports(tree)
        )
        for node in imports:
            if isinstance(node, ast.Import):
                deps |= {alias.name for alias in node.names if alias.name in modules}
            elif node.module in modules and not node.level:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    deps.add(sub if sub in modules else node.module)
        graph[name] = {d for d in deps if d != name and not name.startswith(d + ".")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in graph[node]:
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_modules() -> None:
    assert _cycles(_graph()) == []


def test_no_import_cycle_even_for_the_type_checker() -> None:
    """Type-only imports too: a module that needs another's type names what it needs (a
    ``Protocol``, as ``sandbox/server.Sandbox``) instead of importing back its importer."""
    assert _cycles(_graph(typing_too=True)) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [{"a", "b", "c"}]


def test_the_sandbox_imports_nothing_of_the_tool() -> None:
    for module, names in _imports().items():
        if module.startswith("sandbox/"):
            tool = {n for n in names if n.startswith("send_mergereq")}
            assert all(n.startswith("send_mergereq.sandbox") for n in tool), (module, tool)


_IO_MODULES = ("subprocess", "os", "socket", "shutil", "tempfile", "pathlib", "io",
               "multiprocessing", "signal", "requests", "gitlab", "git", "urllib.request",
               "http", "send_mergereq.git", "send_mergereq.gitlab", "send_mergereq.report.pager",
               "concurrent")  # fmt: skip


def _pure_modules() -> list[str]:
    rules = [str(path.relative_to(PACKAGE)) for path in (PACKAGE / "checks").glob("*.py")]
    return [
        "gate.py",
        "run/land_decision.py",
        "watch/view.py",
        "jobs/health.py",
        "jobs/tiers.py",
        *rules,
    ]


def test_the_pure_modules_do_no_io() -> None:
    """The gate, the land decision, the view's layout and the rules: data in, data out."""
    for module in _pure_modules():
        names = _imports()[module]
        io = {n for n in names for m in _IO_MODULES if n == m or n.startswith(m + ".")}
        assert not io, (module, io)
        tree = ast.parse((PACKAGE / module).read_text())
        calls = {
            node.func.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert not calls & {"open", "print", "input", "exec", "eval"}, module


def test_no_module_over_400_lines_outside_the_sandbox() -> None:
    long = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if not str(path.relative_to(PACKAGE)).startswith("sandbox/")
        and len(path.read_text().splitlines()) > 400
    }
    assert not long, long


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


def _writes_to_the_terminal(tree: ast.AST) -> bool:
    """``print(…)``, ``click.echo``/``secho``, or ``sys.stdout``/``sys.stderr`` written."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            found = node.func.id == "print"
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            found = node.value.id == "click" and node.attr in ("echo", "secho")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            inner = node.value
            found = (
                isinstance(inner.value, ast.Name)
                and inner.value.id == "sys"
                and inner.attr in ("stdout", "stderr")
                and node.attr == "write"
            )
        else:
            continue
        if found:
            return True
    return False


def test_one_output_funnel() -> None:
    """Lines reach the terminal through ``output.Output`` (and the displays and renderers
    it hands a stream), errors and interrupts included: no module echoes on its own."""
    echoing = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if not str(path.relative_to(PACKAGE)).startswith("sandbox/")
        and _writes_to_the_terminal(ast.parse(path.read_text()))
    }
    assert echoing <= {"output.py"}, echoing
    said = [
        "print('x')",
        "import click\nclick.echo('x', err=True)",
        "import sys\nsys.stderr.write('x')",
    ]
    assert all(_writes_to_the_terminal(ast.parse(code)) for code in said)
    assert not _writes_to_the_terminal(ast.parse("out.stderr.write('x')"))
