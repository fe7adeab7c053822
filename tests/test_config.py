from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from gitrepo import Repo
from send_mergereq import policy
from send_mergereq.checks import CHECKS
from send_mergereq.checks.finding import Severity
from send_mergereq.config import (
    Flags,
    LandMode,
    gitlab_branch_name,
    land_mode,
    load_settings,
    parse_mode,
)
from send_mergereq.errors import ConfigError
from send_mergereq.where import grouped, read_git_config, resolve_remote

MR, PUSH = LandMode.MR, LandMode.PUSH

ROOT = Path(__file__).resolve().parents[1]


def settings(repo: Any, flags: Flags | None = None, env: dict[str, str] | None = None) -> Any:
    return load_settings(repo.path, "staging", flags or Flags(), env or {})


def commit_policy(repo: Any, branch: str, text: str) -> None:
    repo.git("checkout", "-q", branch)
    (repo.path / ".send-mergereq.toml").write_text(text)
    repo.git("add", ".send-mergereq.toml")
    repo.git("commit", "-q", "-m", "policy")
    repo.git("checkout", "-q", "staging")


# -- profiles ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["default", "qemu"])
def test_shipped_profiles_load_and_cover_every_check(name: str) -> None:
    loaded, source = policy.load_profile(name)
    assert f"{name}.toml" in source
    assert set(loaded["checks"]) == set(CHECKS)


def test_qemu_profile_makes_all_four_checks_errors() -> None:
    loaded, _ = policy.load_profile("qemu")
    assert {cid: opts["severity"] for cid, opts in loaded["checks"].items()} == dict.fromkeys(
        CHECKS, Severity.ERROR
    )
    assert "qemu-devel@nongnu.org" in loaded["list-addresses"]
    assert "via Qemu-devel" in loaded["list-name-suffixes"]


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        policy.load_profile("nope")
    assert "unknown profile 'nope'" in err.value.message
    assert "default" in (err.value.hint or "") and "qemu" in (err.value.hint or "")


def test_profile_name_cannot_escape_the_folder() -> None:
    with pytest.raises(ConfigError):
        policy.load_profile("../pyproject")


def test_profiles_ship_in_the_wheel_as_package_data(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert include["checks"] == "send_mergereq/_checks"
    shipped = tmp_path / "send_mergereq" / "_checks"
    shipped.mkdir(parents=True)
    (shipped / "only-shipped.toml").write_text('[checks.utf8]\nseverity = "off"\n')
    monkeypatch.setattr(policy, "PACKAGE", tmp_path / "send_mergereq")
    loaded, source = policy.load_profile("only-shipped")
    assert str(shipped) in source and loaded["checks"]["utf8"]["severity"] is Severity.OFF


# -- the policy file, from the target ------------------------------------------------------------


def test_policy_is_read_from_the_target_not_the_branch(make_repo: Any) -> None:
    repo = make_repo()
    commit_policy(repo, "master", '[checks.utf8]\nseverity = "warning"\n')
    repo.git("rebase", "-q", "master", "staging")
    commit_policy(repo, "staging", '[checks.signoff]\nseverity = "off"\n')
    got = settings(repo)
    assert got.severity("utf8") is Severity.WARNING
    assert got.severity("signoff") is Severity.ERROR  # the branch cannot relax its own checks
    assert got.provenance["checks.utf8.severity"] == "master:.send-mergereq.toml"


def test_no_policy_file_is_fine(make_repo: Any) -> None:
    got = settings(make_repo())
    assert got.profile == "default" and got.target == "master"
    assert got.severity("signoff") is Severity.ERROR


def test_policy_file_may_pick_the_profile_and_lists(make_repo: Any) -> None:
    repo = make_repo()
    commit_policy(repo, "master", 'profile = "qemu"\nlist-addresses = ["dev@lists.example.org"]\n')
    got = settings(repo)
    assert got.profile == "qemu"
    assert got.list_addresses == ("dev@lists.example.org",)
    assert got.list_name_suffixes == ("via Qemu-devel", "via qemu-devel")  # from the profile


def test_an_unknown_profile_says_which_layer_named_it(make_repo: Any) -> None:
    repo = make_repo()
    commit_policy(repo, "master", 'profile = "qemu-old"\n')
    with pytest.raises(ConfigError) as err:
        settings(repo)
    assert err.value.message == "unknown profile 'qemu-old' (set in master:.send-mergereq.toml)"
    repo.git("config", "sendmergereq.profile", "nope")
    with pytest.raises(ConfigError) as err:
        settings(repo)
    assert "(set in git config sendmergereq.profile)" in err.value.message


@pytest.mark.parametrize("key", ["token", "url", "remote", "gitlab-url"])
def test_policy_file_may_not_set_personal_keys(make_repo: Any, key: str) -> None:
    repo = make_repo()
    commit_policy(repo, "master", f'{key} = "x"\n')
    with pytest.raises(ConfigError) as err:
        settings(repo)
    assert err.value.message.startswith(f"master:.send-mergereq.toml: {key}: not allowed")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("checks = [", "master:.send-mergereq.toml: invalid TOML"),
        ("[checks.nope]\nseverity = 'error'\n", "checks: unknown check 'nope'"),
        (
            "[checks.signoff]\nseverity = 'fatal'\n",
            "checks.signoff.severity: expected error|warning|off, got 'fatal'",
        ),
        ("[checks.signoff]\nlength = 3\n", "checks.signoff.length: unknown option"),
        ("[checks.utf8]\nencoding-header = true\n", "checks.utf8.encoding-header: expected"),
        ("list-addresses = 'x'\n", "list-addresses: expected a list of strings"),
        ("colour = 1\n", "unknown key 'colour'"),
    ],
)
def test_malformed_policy_names_file_and_key(make_repo: Any, text: str, expected: str) -> None:
    repo = make_repo()
    commit_policy(repo, "master", text)
    with pytest.raises(ConfigError) as err:
        settings(repo)
    assert expected in err.value.message
    assert err.value.message.startswith("master:.send-mergereq.toml")


# -- git config, env and flags -------------------------------------------------------------------


def test_layers_flag_over_env_over_git_config_over_policy(make_repo: Any) -> None:
    repo = make_repo()
    commit_policy(repo, "master", '[checks.signoff]\nseverity = "warning"\n')
    repo.git("config", "sendmergereq.check", "signoff=off")
    assert settings(repo).severity("signoff") is Severity.OFF
    env = {"SEND_MERGEREQ_CHECK": "signoff=error,utf8=warning"}
    got = settings(repo, env=env)
    assert (got.severity("signoff"), got.severity("utf8")) == (Severity.ERROR, Severity.WARNING)
    got = settings(repo, Flags(checks=("signoff=warning",)), env)
    assert got.severity("signoff") is Severity.WARNING
    assert got.provenance["checks.signoff.severity"] == "flag --check"


def test_profile_from_git_config_env_and_flag(make_repo: Any) -> None:
    repo = make_repo()
    repo.git("config", "sendmergereq.profile", "qemu")
    assert settings(repo).profile == "qemu"
    assert settings(repo, env={"SEND_MERGEREQ_PROFILE": "default"}).profile == "default"
    got = settings(repo, Flags(profile="qemu"), {"SEND_MERGEREQ_PROFILE": "default"})
    assert got.profile == "qemu" and got.provenance["profile"] == "flag --profile"


@pytest.mark.parametrize("field", ["target", "profile", "remote"])
def test_an_empty_flag_is_an_error_not_the_default(make_repo: Any, field: str) -> None:
    """``--target "$UNSET_VAR"`` must not quietly check against the default branch."""
    repo = make_repo()
    with pytest.raises(ConfigError) as err:
        settings(repo, Flags(**{field: ""}))
    assert err.value.message == f"--{field}: empty value"
    assert settings(repo, env={f"SEND_MERGEREQ_{field.upper()}": ""}).target == "master"


def test_unknown_check_in_an_override_lists_the_ids(make_repo: Any) -> None:
    with pytest.raises(ConfigError) as err:
        settings(make_repo(), Flags(checks=("nope=off",)))
    assert "unknown check 'nope'" in err.value.message
    assert "signoff" in (err.value.hint or "")


def test_git_config_is_read_in_one_call_with_multivalues(make_repo: Any) -> None:
    repo = make_repo()
    repo.git("config", "--add", "sendmergereq.check", "utf8=off")
    repo.git("config", "--add", "sendmergereq.check", "signoff=warning")
    config = grouped(read_git_config(repo.path))
    assert config["sendmergereq.check"] == ("utf8=off", "signoff=warning")


def test_not_a_repository_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a git repository"):
        load_settings(tmp_path, "staging", Flags(), {})


# -- remote and default target -------------------------------------------------------------------


def test_remote_resolution_order(make_repo: Any) -> None:
    repo = make_repo()
    for name in ("origin", "gl", "fork", "up", "mine"):
        repo.git("remote", "add", name, f"https://example.org/{name}.git")
    assert resolve_remote(grouped(read_git_config(repo.path)), "staging", None) == "origin"
    order = [
        ("branch.staging.remote", "up"),
        ("remote.pushDefault", "fork"),
        ("branch.staging.pushRemote", "gl"),
        ("sendmergereq.remote", "mine"),
    ]
    for key, value in order:
        repo.git("config", key, value)
        assert resolve_remote(grouped(read_git_config(repo.path)), "staging", None) == value
    assert resolve_remote(grouped(read_git_config(repo.path)), "staging", "origin") == "origin"


def test_unknown_remote_is_named(make_repo: Any) -> None:
    with pytest.raises(ConfigError, match="remote 'nowhere': no such remote"):
        settings(make_repo(), Flags(remote="nowhere"))


def test_default_target_prefers_the_remote_head(make_repo: Any) -> None:
    repo = make_repo()
    repo.git("remote", "add", "origin", "https://example.org/p.git")
    master = repo.git("rev-parse", "master")
    assert settings(repo).target == "master"  # nothing fetched: the local branch
    repo.git("update-ref", "refs/remotes/origin/main", master)
    assert settings(repo).target == "origin/main"
    repo.git("update-ref", "refs/remotes/origin/master", master)
    assert settings(repo).target == "origin/master"
    repo.git("update-ref", "refs/remotes/origin/devel", master)
    repo.git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/devel")
    assert settings(repo).target == "origin/devel"


def test_no_target_at_all_is_a_clear_error(make_repo: Any) -> None:
    repo = make_repo()
    repo.git("branch", "-q", "-m", "master", "trunk")
    with pytest.raises(ConfigError) as err:
        settings(repo)
    assert "no target branch" in err.value.message and "--target" in (err.value.hint or "")


def test_explicit_target_from_git_config_and_flag(make_repo: Any) -> None:
    repo = make_repo()
    repo.git("branch", "-q", "old", "master")
    repo.git("config", "sendmergereq.target", "old")
    assert settings(repo).target == "old"
    assert settings(repo, Flags(target="master")).target == "master"


# -- mode ---------------------------------------------------------------------------------


def test_mode_flag_over_git_config_over_policy() -> None:
    config = {"sendmergereq.mode": ("mr", "push")}
    assert land_mode(None, {}, None) is MR
    assert land_mode(None, {}, "push") is PUSH
    assert land_mode(None, config, "mr") is PUSH  # git config's last value wins over policy
    assert land_mode(False, config, "push") is MR  # --mr
    assert land_mode(True, {}, "mr") is PUSH  # --no-mr


def test_unknown_mode_names_where_it_came_from() -> None:
    with pytest.raises(ConfigError) as caught:
        land_mode(None, {"sendmergereq.mode": ("pushy",)}, None)
    assert caught.value.message == "git config sendmergereq.mode: unknown mode 'pushy'"
    assert parse_mode(" Merge-Request ", "x") is MR


def test_gitlab_branch_name() -> None:
    assert gitlab_branch_name("origin/master", "origin") == "master"
    assert gitlab_branch_name("refs/remotes/origin/main", "origin") == "main"
    assert gitlab_branch_name("refs/heads/main", "origin") == "main"
    assert gitlab_branch_name("master", "origin") == "master"


# -- the mode layers (real git) ----------------------------------------------------------------


def test_mode_from_policy_on_the_target_then_git_config_then_flag(make_repo: Any) -> None:
    repo: Repo = make_repo()
    repo.git("checkout", "-q", "master")
    (repo.path / ".send-mergereq.toml").write_text('mode = "push"\n')
    repo.git("add", ".send-mergereq.toml")
    repo.git("commit", "-q", "-m", "policy: gate on branch pipelines")
    repo.git("checkout", "-q", "staging")  # staging does not have the file: the target's counts
    settings = load_settings(repo.path, "staging", Flags(target="master"), {})
    assert settings.mode is LandMode.PUSH
    mr_flag = load_settings(repo.path, "staging", Flags(target="master", use_mr=True), {})
    assert mr_flag.mode is LandMode.MR
    repo.git("config", "sendmergereq.mode", "mr")
    settings = load_settings(repo.path, "staging", Flags(target="master"), {})
    assert settings.mode is LandMode.MR


def test_a_bad_mode_in_the_policy_file_is_a_config_error(make_repo: Any) -> None:
    repo: Repo = make_repo()
    repo.git("checkout", "-q", "master")
    (repo.path / ".send-mergereq.toml").write_text('mode = "yolo"\n')
    repo.git("add", ".send-mergereq.toml")
    repo.git("commit", "-q", "-m", "policy")
    with pytest.raises(ConfigError, match='mode: expected "mr" or "push"'):
        load_settings(repo.path, "staging", Flags(target="master"), {})


def test_the_settings_say_whether_the_policy_file_was_there_and_the_report_takes_it(
    make_repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's ``policy.found`` comes from what the settings found, not from a git
    asked again at the end of the run (an empty file is there too)."""
    from send_mergereq.history import CommitRange
    from send_mergereq.run import check

    repo = make_repo()
    absent = settings(repo)
    commit_policy(repo, "master", "")
    present = settings(repo)
    assert (absent.policy_found, present.policy_found) == (False, True)
    monkeypatch.setattr(check.git, "blob_size", pytest.fail)
    rng = CommitRange("master", "staging", "a" * 40, "b" * 40)
    assert [check.policy_of(s, rng).found for s in (absent, present)] == [False, True]
    assert check.policy_of(present, rng).commit == "a" * 40
