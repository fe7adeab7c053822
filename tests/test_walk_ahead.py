"""A range's walks started ahead (``git.walk_ahead``, ``cut.walk_ahead``): their gits walk
while the run still imports its checks; the run's walks take them, the same commits as
walks of its own; a walk that is not the run's is never read, and stopped; a long range
starts the walks of the parts its processes take first, and a walk a forked worker took
is waited for by the process that started it; whatever goes wrong ahead is the run's
own path's to say."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from gitrepo import IDENTITY, Repo
from send_mergereq import cli, git
from send_mergereq.errors import GitError
from send_mergereq.git import ahead as git_ahead
from send_mergereq.git import walk as git_walk
from send_mergereq.scan import cut as range_parts
from send_mergereq.scan import processes
from send_mergereq.scan.walk import resolve_range


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
    git.walk_ahead(lambda: [(repo.path, other, (base,))])
    walked = [sha for chunk in git.walk_chunks(repo.path, tip, [base])
              for _, sha, _ in chunk.objects(range(chunk.count))]  # fmt: skip
    assert len(walked) == 5 and started == [("ahead", other, base), ("run", tip, base)]
    [left] = git_ahead._STARTED.values()
    git.stop_walks_ahead()  # as at exit
    assert left._proc.returncode is not None and git_ahead._STARTED == {}


@pytest.fixture(scope="module")
def long(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """Six and a half years of history on staging, a commit every 60 days (every 7th not
    signed off), an annotated release tag on every 5th."""
    path = tmp_path_factory.mktemp("long")
    subprocess.run(["git", "init", "-q", "-b", "master", str(path)], check=True)
    repo = Repo(path)
    for n in range(40):
        date = f"{1_400_000_000 + n * 60 * 86400} +0000"
        signoff = "" if n % 7 == 3 else "\n\nSigned-off-by: Ada Author <ada@example.org>"
        message = f"work {n}{signoff}"
        env = {**IDENTITY, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        repo.git("commit", "-q", "--allow-empty", "-m", message, env=env)
        if n == 0:
            repo.git("checkout", "-q", "-b", "staging")
        elif n % 5 == 0:
            repo.git("tag", "-a", "-m", f"release {n}", f"v{n}", env=env)
    return repo


def _dry_run(repo: Repo, capfd: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.run(["-C", str(repo.path), "staging", "--dry-run", "--json"])
    return code, capfd.readouterr().out


@pytest.mark.parametrize("workers", ["2", "3"])
def test_a_cut_range_takes_the_walks_of_its_parts_started_ahead(
    long: Repo,
    started: list[tuple[str, ...]],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    workers: str,
) -> None:
    """Its ends ``MIN_SPAN`` or more apart, the range is cut ahead as the run cuts it: the
    walks of the parts the processes take first start ahead (the oldest, one each), the
    run takes them (some in forked workers, which their starter waits for) and walks the
    others itself; what it finds is what one walk finds."""
    monkeypatch.setenv("SEND_MERGEREQ_WORKERS", "1")
    one_walk = _dry_run(long, capfd)
    monkeypatch.setenv("SEND_MERGEREQ_WORKERS", workers)
    monkeypatch.setattr(processes, "workers", lambda: int(workers))  # whatever the cores
    started.clear()
    ended: list[list[tuple[str, tuple[str, ...]]]] = []
    real_ended = git.walks_ahead_ended

    def waited(repo: Path, walks: Iterable[tuple[str, tuple[str, ...]]]) -> None:
        ended.append(list(walks))
        real_ended(repo, ended[-1])

    monkeypatch.setattr(git, "walks_ahead_ended", waited)
    assert _dry_run(long, capfd) == one_walk and one_walk[0] == 3  # (commits not signed off)
    ahead = [walk for walk in started if walk[0] == "ahead"]
    rng = resolve_range(long.path, "master", "staging")
    parts = range_parts.cut(long.path, rng, int(workers))
    assert len(parts) > int(workers)  # six years: two parts per process, tags allowing
    assert ahead == [("ahead", p.tip, *p.excludes) for p in parts[::-1][: int(workers)]]
    assert ended == [[(p.tip, p.excludes) for p in parts]]  # the workers' walks waited for
    runs = {walk[1:] for walk in started if walk[0] == "run"}  # this process's own
    assert not runs & {walk[1:] for walk in ahead}  # no part walked twice
    assert git_ahead._STARTED == {} and range_parts._FOUND == {}


def test_a_walk_ahead_a_worker_read_is_waited_for_by_the_process_that_started_it(
    make_repo: Any, started: list[tuple[str, ...]]
) -> None:
    """A forked worker cannot wait for a git it did not start (``Popen.wait`` says 0): a
    walk git refused looks empty and fine there; the process that started it says it."""
    repo = _short(make_repo)
    tip = repo.git("rev-parse", "staging").strip()
    missing = "1" * 40  # no such object: git refuses the walk
    git.walk_ahead(lambda: [(repo.path, tip, (missing,))])
    git.walks_ahead_found()
    pid = os.fork()
    if pid == 0:  # the worker: takes the walk and reads it to its end
        code = 3
        try:
            chunks = list(git.walk_chunks(repo.path, tip, [missing]))
            code = 0 if chunks == [] else 4
        finally:
            os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0  # the worker saw no failure
    with pytest.raises(GitError, match="git rev-list failed: fatal: bad object"):
        git.walks_ahead_ended(repo.path, [(tip, (missing,))])
    assert git_ahead._STARTED == {}
    git.walks_ahead_ended(repo.path, [(tip, (missing,))])  # once: nothing left to wait for


def test_no_walk_starts_ahead_once_the_process_is_ending(
    make_repo: Any, started: list[tuple[str, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the thread still finds the walks: at exit the walks started are
    stopped, and the thread starts none after (its git would outlive the run, walking on
    until its first write finds no reader)."""
    repo = _short(make_repo)
    tip, base, other = repo.git("rev-parse", "staging", "master", "staging~2").split()
    monkeypatch.setattr(git_ahead, "_ENDING", [])
    first_kept, go_on = threading.Event(), threading.Event()

    def find() -> Iterator[tuple[Path, str, tuple[str, ...]]]:
        yield repo.path, other, (base,)
        first_kept.set()  # the first walk is started and kept
        go_on.wait(10)
        yield repo.path, tip, (base,)

    git.walk_ahead(find)
    assert first_kept.wait(10)
    [first] = git_ahead._STARTED.values()
    git_ahead._stop_at_exit()  # as the interpreter ends
    go_on.set()
    git.walks_ahead_found()
    assert first._proc.returncode is not None  # stopped
    assert started == [("ahead", other, base)] and git_ahead._STARTED == {}  # none after


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
