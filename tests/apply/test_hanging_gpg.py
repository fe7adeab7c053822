"""A gpg that never answers (a dead keyserver, a smartcard, a pinentry nobody sees) stops
only its own pull request: it is refused when the verification limit passes, its git and
gpg are killed (no orphan), and ``--keep-going`` applies the next one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from pulls_helpers import Submaintainer, mail, mbox
from test_apply import apply

from gitrepo import Repo
from keys import Keys, git_config_env


def _fake_gpg(directory: Path, pids: Path) -> Path:
    """gpg, except for the tag ``pull-hang``: then it writes its pid and waits forever."""
    real = shutil.which("gpg")
    assert real is not None
    script = directory / "hanging-gpg"
    script.write_text(
        "#!/bin/sh\n"
        f'payload=$(mktemp "{directory}/payload.XXXXXX")\n'
        'cat > "$payload"\n'
        'if grep -q "^tag pull-hang$" "$payload"; then\n'
        f"  echo $$ >> {pids}\n"
        "  exec sleep 3600\n"
        "fi\n"
        f'exec {real} "$@" < "$payload"\n'
    )
    script.chmod(0o755)
    return script


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")  # a zombie waiting for init is dead


def test_a_hanging_gpg_refuses_its_pull_alone_and_is_killed(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    email = mbox(mail(sub.signed_pull("hang", keys.good)), mail(sub.signed_pull("two", keys.good)))
    pids = tmp_path / "pids"
    program = _fake_gpg(tmp_path, pids)
    allowed = os.environ["GIT_CONFIG_VALUE_0"]  # the maintainer's allowed signers (keys.py)
    for key, value in git_config_env(
        **{"gpg.ssh.allowedSignersFile": allowed, "gpg.program": str(program)}
    ).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SEND_MERGEREQ_VERIFY_TIMEOUT", "3")
    code, out = apply(main_repo, "--keep-going", email=email, capsys=capsys)
    assert code == 3, out
    assert "refused pull-hang: the signature of tag 'pull-hang' could not be verified: " in out
    assert "timed out after 3s (git and its gpg were stopped)" in out
    assert "applied pull-two: 1 commit, signed by Sue Submaintainer" in out
    assert main_repo.git("log", "-1", "--format=%s", "staging").startswith("Merge tag 'pull-two'")
    hung = [int(line) for line in pids.read_text().split()]
    assert hung and all(_gone(pid) for pid in hung), hung


def test_without_keep_going_the_rest_is_skipped_not_lost(
    main_repo: Repo, sub: Submaintainer, keys: Keys, capsys: pytest.CaptureFixture[str],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    email = mbox(mail(sub.signed_pull("hang", keys.good)), mail(sub.signed_pull("two", keys.good)))
    program = _fake_gpg(tmp_path, tmp_path / "pids")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "2")
    monkeypatch.setenv("GIT_CONFIG_KEY_1", "gpg.program")
    monkeypatch.setenv("GIT_CONFIG_VALUE_1", str(program))
    monkeypatch.setenv("SEND_MERGEREQ_VERIFY_TIMEOUT", "2")
    code, out = apply(main_repo, email=email, capsys=capsys)
    assert code == 3, out  # refused, not exit 6 for the whole run
    assert "skipped pull-two" in out
    assert "hint (pull-hang): run 'git verify-tag refs/send-mergereq/pulls/pull-hang'" in out
