"""A short range's walk started ahead (``git.walk_ahead``, ``cut.whole_walk_ahead``): its
git walks while the run still imports its checks; the run's walk takes it, the same
commits as a walk of its own; a walk that is not the run's is never read, and stopped;
a long range (cut in parts) starts none; whatever goes wrong ahead is the run's own
path's to say."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from gitrepo import Repo
from send_mergereq import cli, git
from send_mergereq.git import ahead as git_ahead
from send_mergereq.git import walk as git_walk
from send_mergereq.scan import cut


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, ...]]]:
    """Every ``rev-list --header`` walk started, ``("ahead" or "run", tip, excludes…)``."""
    walks: list[tuple[str, ...]] = []
    real = git_ahead.start_walk

    def counted(repo: Path, tip: str, excludes: Sequence[str], *rest: Any) -> git.Stream:
        ahead = threading.current_thread() is not threading.main_thread()
        walks.append(("ahead" if ahead else "run", tip, *excludes))
        return real(repo, tip, excludes, *rest)

    monkeypatch.setattr(git_ahead, "start_walk", counted)  # ahead
    monkeypatch.setattr(git_walk, "start_walk", counted)  # the run's own
    yield walks
    git.walks_ahead_found()
    git.stop_walks_ahead()


def _short(make_repo: Any) -> Repo:
    repo: Repo = make_repo()
    for n in range(5):
        repo.commit(f"Commit {n}", "A body.")
    return repo


def test_a_dry_run_takes_the_walk_started_ahead(
    make_repo: Any, started: list[tuple[str, ...]]
) -> None:
    repo = _short(make_repo)
    tip, base = repo.git("rev-parse", "staging", "master").split()
    assert cli.run(["-C", str(repo.path), "staging", "--dry-run", "--json"]) == 0
    assert started == [("ahead", tip, base)]  # one walk: the one started ahead, taken
    assert git_ahead._STARTED == {}


def test_the_walk_ahead_follows_the_settings_target(
    make_repo: Any, started: list[tuple[str, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--target``, ``SEND_MERGEREQ_TARGET`` and ``sendmergereq.target`` choose the range
    ahead as they choose the run's: one walk, the run's."""
    repo = _short(make_repo)
    first = repo.git("rev-list", "--max-parents=0", "staging").strip()
    repo.git("branch", "older", "staging~3")
    tip = repo.git("rev-parse", "staging").strip()
    older = repo.git("rev-parse", "older").strip()
    args = ["-C", str(repo.path), "staging", "--dry-run", "--json"]
    assert cli.run([*args, "--target", "older"]) == 0
    monkeypatch.setenv("SEND_MERGEREQ_TARGET", first)
    assert cli.run(args) == 0
    monkeypatch.delenv("SEND_MERGEREQ_TARGET")
    repo.git("config", "sendmergereq.target", "older")
    assert cli.run(args) == 0
    assert started == [("ahead", tip, older), ("ahead", tip, first), ("ahead", tip, older)]


def test_a_walk_ahead_that_is_not_the_runs_is_stopped_unread(
    make_repo: Any, started: list[tuple[str, ...]]
) -> None:
    repo = _short(make_repo)
    tip, base, other = repo.git("rev-parse", "staging", "master", "staging~2").split()
    git.walk_ahead(lambda: (repo.path, other, (base,)))
    walked = [sha for chunk in git.walk_chunks(repo.path, tip, [base])
              for _, sha, _ in chunk.objects(range(chunk.count))]  # fmt: skip
    assert len(walked) == 5 and started == [("ahead", other, base), ("run", tip, base)]
    [left] = git_ahead._STARTED.values()
    git.stop_walks_ahead()  # as at exit
    assert left._proc.returncode is not None and git_ahead._STARTED == {}


def test_a_long_range_starts_no_walk_ahead(tmp_path: Path, started: list[tuple[str, ...]]) -> None:
    """Its ends ``MIN_SPAN`` or more apart: it may be cut, its walks are the cut's."""
    path = tmp_path / "long"
    subprocess.run(["git", "init", "-q", "-b", "master", str(path)], check=True)
    for n, day in enumerate((0, 199, 200)):
        date = f"{1_600_000_000 + day * 86400} +0000"
        env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        subprocess.run(["git", "-C", str(path), "commit", "-q", "--allow-empty", "-m", f"c{n}"],
                       env=env, check=True)  # fmt: skip
    cut.whole_walk_ahead(path, "master", target="master~2", remote=None, env={})
    git.walks_ahead_found()
    cut.whole_walk_ahead(path, "master", target="master~1", remote=None, env={})
    git.walks_ahead_found()
    assert started == [("ahead", _rev(path, "master"), _rev(path, "master~1"))]  # short only


def test_what_goes_wrong_ahead_is_left_to_the_run(
    make_repo: Any, started: list[tuple[str, ...]], capfd: pytest.CaptureFixture[str]
) -> None:
    """A finder that fails (a ref that does not exist) starts nothing and says nothing:
    the run says it, once, as it would have."""
    repo = _short(make_repo)
    code = cli.run(["-C", str(repo.path), "staging", "--dry-run", "--target", "nowhere"])
    err = capfd.readouterr().err
    assert code == 2 and started == []
    assert err.count("nowhere") == 1 and "Traceback" not in err


def test_a_run_that_fails_after_the_walk_started_ahead_stops_it(
    make_repo: Any, started: list[tuple[str, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A setting found wrong once the walk ahead has started (here, the processes): the
    walk is stopped when the run ends, not left to the end of the process."""
    repo = _short(make_repo)
    monkeypatch.setenv("SEND_MERGEREQ_WORKERS", "many")
    assert cli.run(["-C", str(repo.path), "staging", "--dry-run"]) == 2
    assert [who for who, *_ in started] == ["ahead"] and git_ahead._STARTED == {}


def _rev(path: Path, ref: str) -> str:
    return subprocess.run(
        ["git", "-C", str(path), "rev-parse", ref], capture_output=True, text=True, check=True
    ).stdout.strip()
