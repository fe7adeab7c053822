from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import pytest

from send_mergereq.errors import ConfigError, redact
from send_mergereq.gitlab.credentials import HIDDEN, Secret, find_token

CANARY = "glpat-CANARY-credentials-0123456789"
URL = "https://gitlab.example.org"


def write_cfg(home: Path, text: str) -> Path:
    path = home / ".python-gitlab.cfg"
    path.write_text(text)
    return path


def set_helper(home: Path, script: str, extra: str = "") -> Path:
    """A real git credential helper (shell) in the hermetic global git config."""
    log = home / "helper-stdin.txt"
    helper = home / "helper.sh"
    helper.write_text(f"#!/bin/sh\ncat > {log}\n{script}\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    (home / ".gitconfig").write_text(f"[credential]\n\thelper = {helper}\n{extra}")
    return log


def test_secret_never_shows_itself() -> None:
    secret = Secret(CANARY)
    assert secret.reveal() == CANARY
    for shown in (str(secret), repr(secret), f"{secret}", f"{secret!r}", str([secret])):
        assert CANARY not in shown
    assert str(secret) == HIDDEN
    assert redact(f"token={CANARY}") == f"token={HIDDEN}"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_gitlab_token_env_first(hermetic_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_cfg(hermetic_env, f"[gl]\nurl = {URL}\nprivate_token = from-cfg-token\n")
    monkeypatch.setenv("GITLAB_TOKEN", CANARY)
    token = find_token(URL)
    assert token.secret.reveal() == CANARY
    assert token.source == "GITLAB_TOKEN"
    assert CANARY not in repr(token)


def test_cfg_section_matching_url(hermetic_env: Path) -> None:
    write_cfg(
        hermetic_env,
        "[global]\ndefault = other\n\n"
        "[other]\nurl = https://gitlab.com\nprivate_token = wrong-host-token\n\n"
        f"[mine]\nurl = {URL}/\nprivate_token = {CANARY}\n",
    )
    token = find_token(URL)
    assert token.secret.reveal() == CANARY
    assert token.source.endswith("[mine]")


def test_cfg_named_by_python_gitlab_cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "elsewhere.cfg"
    cfg.write_text(f"[x]\nurl = http://127.0.0.1:8080\nprivate_token = {CANARY}\n")
    monkeypatch.setenv("PYTHON_GITLAB_CFG", str(cfg))
    assert find_token("http://127.0.0.1:8080").secret.reveal() == CANARY


def test_cfg_helper_command(hermetic_env: Path) -> None:
    script = hermetic_env / "pass.sh"
    script.write_text(f"#!/bin/sh\necho {CANARY}\necho second-line\n")
    script.chmod(0o755)
    write_cfg(hermetic_env, f"[gl]\nurl = {URL}\nprivate_token = helper: {script}\n")
    assert find_token(URL).secret.reveal() == CANARY


def test_cfg_failing_helper_is_config_error(hermetic_env: Path) -> None:
    write_cfg(hermetic_env, f"[gl]\nurl = {URL}\nprivate_token = helper: false\n")
    with pytest.raises(ConfigError, match=r"\[gl\]: private_token helper exited with 1"):
        find_token(URL)


def test_git_credential_fill_for_the_host(hermetic_env: Path) -> None:
    log = set_helper(
        hermetic_env, f"echo username=oauth2\necho password={CANARY}", "\tuseHttpPath = true\n"
    )
    token = find_token("https://gitlab.example.org:8443", project="group/proj")
    assert token.secret.reveal() == CANARY
    assert token.source == "git credential for gitlab.example.org:8443"
    request = log.read_text()
    assert "protocol=https\nhost=gitlab.example.org:8443\n" in request
    assert "path=group/proj.git" in request


def test_cfg_for_another_host_falls_through_to_git(hermetic_env: Path) -> None:
    write_cfg(hermetic_env, "[gl]\nurl = https://gitlab.com\nprivate_token = not-this-one\n")
    set_helper(hermetic_env, f"echo username=max\necho password={CANARY}")
    assert find_token(URL).secret.reveal() == CANARY


def test_missing_token_says_where_it_looked_and_never_prompts(hermetic_env: Path) -> None:
    # No helper, GIT_TERMINAL_PROMPT unset by us: find_token must still not prompt or hang.
    os.environ.pop("GIT_TERMINAL_PROMPT", None)
    with pytest.raises(ConfigError) as err:
        find_token(URL)
    message = err.value.message
    assert "GITLAB_TOKEN" in message
    assert ".python-gitlab.cfg" in message
    assert "git credential fill" in message
    assert err.value.exit_code == 2
    assert err.value.hint is not None
    assert "export GITLAB_TOKEN" in err.value.hint


def test_helper_without_password_is_not_a_token(hermetic_env: Path) -> None:
    set_helper(hermetic_env, "echo username=max")
    with pytest.raises(ConfigError):
        find_token(URL)
