"""A signal while ``apply`` updates the checked-out ``staging`` (a pull request of a few
thousand files): the update finishes, the branch moves with it, no ``index.lock`` is left,
and the run ends with the signal's own exit code; a rerun finds it already applied.
Run through the installed CLI, the signal sent once its ``git read-tree`` is writing
files (polled for, never a fixed sleep)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pulls_helpers import Submaintainer, eml

from gitrepo import Repo
from keys import Keys

CLI = Path(sys.executable).parent / "send-mergereq"
FILES = 6000


def _big_pull(sub: Submaintainer, keys: Keys) -> str:
    """``pull-big``: one signed-off commit adding ``FILES`` files, as a tag signed by Sue."""
    repo = sub.repo
    blob = repo.git("hash-object", "-w", "--stdin", input=b"many\n")
    lines = "".join(f"100644 {blob}\tbig/d{n // 100:02}/f{n:05}.txt\n" for n in range(FILES))
    index = {"GIT_INDEX_FILE": str(repo.path / ".git" / "index-big")}
    repo.git("read-tree", "master", env=index)
    repo.git("update-index", "--index-info", input=lines.encode(), env=index)
    tree = repo.git("write-tree", env=index)
    message = "big: many files\n\nSigned-off-by: Ada Author <ada@example.org>"
    tip = repo.git("commit-tree", tree, "-p", "master", "-m", message)
    repo.git("update-ref", "refs/heads/pr/big", tip)
    repo.git(*keys.good.git_config(), "tag", "-s", "-m", "Pull request big", "pull-big",
             tip, env={"GNUPGHOME": str(keys.good.home)})  # fmt: skip
    return sub.request_pull("master", "pull-big")


def _signal_mid_update(main_repo: Repo, email: Path, send: object) -> tuple[int, str]:
    """Start apply in its own session; once the first file of the pull request is written
    (read-tree is running), ``send(pid)``; return its exit code and stderr."""
    argv = [str(CLI), "apply", "-C", str(main_repo.path), "--target", "master",
            "--allow-local", str(email)]  # fmt: skip
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    first = main_repo.path / "big" / "d00" / "f00000.txt"
    while proc.poll() is None and not first.exists():
        pass  # polling: the signal must land while the work tree is being written
    assert proc.poll() is None, "apply ended before its work-tree update was seen"
    assert not (main_repo.path / "big" / "d59" / "f05999.txt").exists()  # mid-update
    send(proc.pid)  # type: ignore[operator]
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err.decode()


def _assert_whole(main_repo: Repo) -> None:
    git_dir = main_repo.path / ".git"
    assert not (git_dir / "index.lock").exists()
    assert main_repo.git("status", "--porcelain", "--untracked-files=all") == ""
    assert main_repo.git("rev-parse", "HEAD") == main_repo.git("rev-parse", "staging")
    assert main_repo.git("log", "-1", "--format=%s", "staging").startswith("Merge tag 'pull-big'")
    assert len(list((main_repo.path / "big").rglob("*.txt"))) == FILES


@pytest.mark.parametrize(
    ("how", "code", "said"),
    [
        ("SIGTERM", 143, "SIGTERM received, stopped"),
        ("SIGHUP", 129, "SIGHUP received, stopped"),
        ("Ctrl-C to the group", 130, "interrupted"),
    ],
)
def test_a_signal_mid_update_finishes_it_and_exits_with_its_code(
    main_repo: Repo, sub: Submaintainer, keys: Keys, tmp_path: Path, how: str, code: int,
    said: str,
) -> None:  # fmt: skip
    email = tmp_path / "big.eml"
    email.write_bytes(eml(_big_pull(sub, keys)))

    def send(pid: int) -> None:
        if how == "Ctrl-C to the group":
            os.killpg(pid, signal.SIGINT)  # as the terminal sends it: every process in it
        else:
            os.kill(pid, getattr(signal, how))

    returncode, err = _signal_mid_update(main_repo, email, send)
    assert returncode == code, err
    assert said in err
    assert "Traceback" not in err
    _assert_whole(main_repo)
    rerun = subprocess.run(
        [str(CLI), "apply", "-C", str(main_repo.path), "--target", "master", "--allow-local",
         str(email)], capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "already applied pull-big" in rerun.stdout


def test_a_lock_left_by_a_killed_update_is_named_with_what_to_do(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGKILL cannot be caught: git's index.lock stays. The rerun says git's whole reason,
    the lock's path, and to look for a running git and at the untracked files first."""
    from test_apply import apply

    email = eml(sub.signed_pull("one", keys.good))
    before = main_repo.git("rev-parse", "staging")
    lock = main_repo.path / ".git" / "index.lock"
    lock.write_bytes(b"")
    code, out = apply(main_repo, email=email, capsys=capsys)
    assert code == 6, out
    assert f"Unable to create '{lock}': File exists" in out
    assert "remove the file manually to continue" in out
    hint = out[out.index("hint: ") :]
    assert str(lock) in hint and "running" in hint and "git status" in hint
    assert main_repo.git("rev-parse", "staging") == before
