"""The maintainer's repository (``staging`` checked out, clean) and a submaintainer's clone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pulls_helpers import Submaintainer

from gitrepo import Repo, run_git
from keys import Keys


@pytest.fixture
def main_repo(make_repo: Callable[[str], Repo], maintainer: Keys) -> Repo:
    del maintainer  # verifies with the maintainer's keyring and allowed signers
    return make_repo("main")


@pytest.fixture
def sub(main_repo: Repo, tmp_path: Path) -> Submaintainer:
    path = tmp_path / "sub"
    run_git(tmp_path, "clone", "-q", "-b", "master", str(main_repo.path), str(path))
    run_git(path, "config", "commit.gpgsign", "false")
    return Submaintainer(Repo(path))
