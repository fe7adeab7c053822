"""The target's ``.send-mergereq.toml`` is untrusted: bounded in size and list length,
and its forbidden keys point at where the setting really belongs."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from send_mergereq import policy
from send_mergereq.cli import run
from send_mergereq.config import Flags, load_settings
from send_mergereq.errors import ConfigError


def _commit_on_master(repo: Any, data: bytes) -> None:
    repo.git("checkout", "-q", "master")
    (repo.path / ".send-mergereq.toml").write_bytes(data)
    repo.git("add", ".send-mergereq.toml")
    repo.git("commit", "-q", "-m", "policy")
    repo.git("checkout", "-q", "staging")


def test_a_50_mb_policy_file_is_refused_without_reading_it(make_repo: Any) -> None:
    repo = make_repo()
    _commit_on_master(repo, b"# " + b"x" * (50 * 1024 * 1024) + b"\n")
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as err:
            load_settings(repo.path, "staging", Flags(), {})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.value.message.startswith("master:.send-mergereq.toml: 52428803 bytes, more than")
    assert peak < 5 * 1024 * 1024  # the blob never came into this process


def test_the_cli_says_it_in_one_line_with_exit_2(
    make_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    _commit_on_master(repo, b"description = '" + b"y" * (policy.MAX_BYTES + 1) + b"'\n")
    code = run(["staging", "--dry-run", "-C", str(repo.path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines()[0].startswith("send-mergereq: master:.send-mergereq.toml: ")
    assert "y" * 100 not in err


def test_a_list_longer_than_the_cap_is_refused() -> None:
    many = ", ".join(f'"a{i}@example.org"' for i in range(policy.MAX_LIST + 1))
    with pytest.raises(ConfigError) as err:
        policy.parse_policy(f"list-addresses = [{many}]\n".encode(), "f", allow_profile=True)
    assert (
        err.value.message
        == f"f: list-addresses: {policy.MAX_LIST + 1} entries, more than the 1000 allowed"
    )
    fine = ", ".join(f'"a{i}@example.org"' for i in range(policy.MAX_LIST))
    got = policy.parse_policy(f"list-addresses = [{fine}]\n".encode(), "f", allow_profile=True)
    assert len(got["list-addresses"]) == policy.MAX_LIST


@pytest.mark.parametrize("digits", [50, 5000])  # 5000: past what int() converts
def test_a_bad_value_is_quoted_short(digits: int) -> None:
    with pytest.raises(ConfigError) as err:
        policy.parse_policy(b"trusted-signers = " + b"1" * digits + b"\n", "f", allow_profile=True)
    assert err.value.message.startswith("f: ") and len(err.value.message) < 200


@pytest.mark.parametrize("key", ["token", "private-token"])
def test_a_token_key_points_at_the_real_token_sources(key: str) -> None:
    with pytest.raises(ConfigError) as err:
        policy.parse_policy(f'{key} = "x"\n'.encode(), "f", allow_profile=True)
    hint = err.value.hint or ""
    assert "GITLAB_TOKEN" in hint and "python-gitlab" in hint and "credential helper" in hint
    assert "git config" not in hint


@pytest.mark.parametrize("key", ["gitlab-url", "url", "host"])
def test_a_url_key_names_the_documented_git_config_key(key: str) -> None:
    with pytest.raises(ConfigError) as err:
        policy.parse_policy(f'{key} = "x"\n'.encode(), "f", allow_profile=True)
    assert "sendmergereq.gitlabUrl" in (err.value.hint or "")
    assert "sendmergereq.gitlab-url" not in (err.value.hint or "")
