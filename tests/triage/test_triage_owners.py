"""triage/owners.py: ``[[jobs]]`` owners from the target's policy file, and a MAINTAINERS
file in the Linux/QEMU format mapping files to people and lists."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gitrepo import Repo
from send_mergereq.config import read_policy_file
from send_mergereq.errors import ConfigError
from send_mergereq.policy import load_profile, parse_policy
from send_mergereq.triage.owners import (
    JobOwners,
    Routing,
    job_owners,
    job_paths,
    parse_maintainers,
    route,
)

JOBS = b"""
[[jobs]]
name = "check-block*"
owners = ["Kevin Wolf <kwolf@example.org>", "hreitz@example.org"]
paths = ["block/*", "tests/qemu-iotests/*"]

[[jobs]]
name = "*"
owners = ["Max Maintainer <max@example.org>"]
"""


def test_jobs_tables_are_read_from_the_project_file() -> None:
    policy = parse_policy(JOBS, "master:.send-mergereq.toml", allow_profile=True)
    rules = policy["jobs"]
    assert rules[0] == JobOwners(
        "check-block*",
        ("Kevin Wolf <kwolf@example.org>", "hreitz@example.org"),
        ("block/*", "tests/qemu-iotests/*"),
        "master:.send-mergereq.toml",
    )
    assert job_owners(rules, "check-block-qcow2") == (
        "Kevin Wolf <kwolf@example.org>",
        "hreitz@example.org",
        "Max Maintainer <max@example.org>",
    )
    assert job_paths(rules, "check-block-qcow2") == ("block/*", "tests/qemu-iotests/*")
    assert job_owners(rules, "build-system-gcc") == ("Max Maintainer <max@example.org>",)
    assert job_paths(rules, "build-system-gcc") == ()


def test_a_profile_may_not_name_job_owners() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policy(JOBS, "profile qemu", allow_profile=False)
    assert caught.value.message == "profile qemu: unknown key 'jobs'"
    load_profile("qemu")  # the shipped profiles stay valid


def test_owners_come_from_the_target_never_from_staging(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo()
    repo.git("checkout", "-q", "master")
    (repo.path / ".send-mergereq.toml").write_bytes(JOBS)
    repo.git("add", ".send-mergereq.toml")
    repo.git("commit", "-q", "--no-gpg-sign", "-m", "policy")
    repo.git("checkout", "-q", "-B", "staging", "master")
    (repo.path / ".send-mergereq.toml").write_text(
        '[[jobs]]\nname = "*"\nowners = ["mallory@evil.example"]\n'
    )
    repo.git("commit", "-q", "--no-gpg-sign", "-am", "take over the owners")
    policy, source = read_policy_file(repo.path, "master")
    assert source == "master:.send-mergereq.toml"
    assert "mallory@evil.example" not in job_owners(policy["jobs"], "check-block")


BROKEN = [
    (b'jobs = "x"', "f: jobs: expected [[jobs]] tables"),
    (b'[[jobs]]\nowners = ["a@b.org"]', "f: jobs #1: name: expected a glob"),
    (b'[[jobs]]\nname = "x"', "f: jobs #1: owners: expected a list of strings"),
    (b'[[jobs]]\nname = "x"\nowners = []', "f: jobs #1: owners: expected at least one person"),
    (b'[[jobs]]\nname = "x"\nowners = ["Kevin"]', "f: jobs #1: owners: 'Kevin' is not an address"),
    (b'[[jobs]]\nname = "x"\nowners = ["a@b.org"]\npaths = "block/*"',
     "f: jobs #1: paths: expected a list of strings"),
    (b'[[jobs]]\nname = "x"\nowners = ["a@b.org"]\npaths = ["/etc/*"]', "is not a path relative"),
    (b'[[jobs]]\nname = "x"\nowners = ["a@b.org"]\nowner = "c"', "f: jobs #1: unknown key 'owner'"),
    (b'[[jobs]]\nname = "x"\nowners = ["a\\u001b[2J@b.org"]', "control character"),
    (b'[[jobs]]\nname = "x"\nowners = ["a@b.org"]\n[[jobs]]\nname = 3\nowners = ["a@b.org"]',
     "f: jobs #2: name"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_broken_jobs_tables_name_file_and_key(text: bytes, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policy(text, "f", allow_profile=True)
    assert expected in caught.value.message
    assert "\n" not in caught.value.message


MAINTAINERS = """\
QEMU Maintainers
================

Descriptions of section entries:

	M: Mail patches to: FullName <address@domain>
	F: Files and directories with wildcard patterns.

General Project Administration
------------------------------
M: Peter Maydell <peter.maydell@linaro.org>

ARM Machines
------------
ARM Virt
M: Peter Maydell <peter.maydell@linaro.org>
L: qemu-arm@nongnu.org
S: Maintained
F: hw/arm/virt*
F: include/hw/arm/virt.h
F: docs/system/arm/virt.rst

Block layer core
M: Kevin Wolf <kwolf@redhat.com>
M: Hanna Reitz <hreitz@redhat.com>
L: qemu-block@nongnu.org
S: Supported
F: block*
F: block/
X: block/vvfat.c
F: tests/qemu-iotests/

vvfat
M: Kevin Wolf <kwolf@redhat.com>
R: Hanna Reitz <hreitz@redhat.com>
L: qemu-block@nongnu.org
F: block/vvfat.c

Networking
M: Jason Wang <jasowang@redhat.com>
S: Maintained
F: net
T: git https://github.com/jasowang/qemu.git net
"""


def test_maintainers_sections_with_files() -> None:
    sections = parse_maintainers(MAINTAINERS)
    assert [s.title for s in sections] == ["ARM Virt", "Block layer core", "vvfat", "Networking"]
    arm = sections[0]
    assert arm.maintainers == ("Peter Maydell <peter.maydell@linaro.org>",)
    assert arm.lists == ("qemu-arm@nongnu.org",)
    assert arm.files == ("hw/arm/virt*", "include/hw/arm/virt.h", "docs/system/arm/virt.rst")


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (["hw/arm/virt.c"], Routing(("Peter Maydell <peter.maydell@linaro.org>",),
                                    ("qemu-arm@nongnu.org",), ("ARM Virt",))),
        (["hw/arm/virt/acpi.c"], Routing()),  # * stays within one directory
        (["block/qcow2/cache.c"], Routing(
            ("Kevin Wolf <kwolf@redhat.com>", "Hanna Reitz <hreitz@redhat.com>"),
            ("qemu-block@nongnu.org",), ("Block layer core",))),  # dir/ is everything below
        (["block.c"], Routing(
            ("Kevin Wolf <kwolf@redhat.com>", "Hanna Reitz <hreitz@redhat.com>"),
            ("qemu-block@nongnu.org",), ("Block layer core",))),
        (["block/vvfat.c"], Routing(  # X: takes it out of the core section
            ("Kevin Wolf <kwolf@redhat.com>", "Hanna Reitz <hreitz@redhat.com>"),
            ("qemu-block@nongnu.org",), ("vvfat",))),
        (["net/tap.c"], Routing(("Jason Wang <jasowang@redhat.com>",), (), ("Networking",))),
        (["network.c"], Routing()),  # a plain path is that file or that directory
        (["hw/arm/virt.c", "net/tap.c"], Routing(
            ("Peter Maydell <peter.maydell@linaro.org>", "Jason Wang <jasowang@redhat.com>"),
            ("qemu-arm@nongnu.org",), ("ARM Virt", "Networking"))),
    ],
)  # fmt: skip
def test_files_route_to_people_and_lists(files: list[str], expected: Routing) -> None:
    assert route(parse_maintainers(MAINTAINERS), files) == expected


def test_maintainers_values_with_control_characters_are_dropped() -> None:
    text = "Evil\nM: Eve \x1b]0;owned\x07 <eve@example.org>\nM: ok@example.org\nF: hw/\n"
    (section,) = parse_maintainers(text)
    assert section.maintainers == ("ok@example.org",)


def test_a_huge_maintainers_file_is_refused() -> None:
    with pytest.raises(ConfigError):
        parse_maintainers("F: x\n" * 1_000_000)


def test_read_owners_from_the_target(make_repo: Callable[..., Repo]) -> None:
    from send_mergereq.triage.sources import read_owners

    repo = make_repo()
    assert read_owners(repo.path, "master") == read_owners(repo.path, "staging")  # both empty
    repo.git("checkout", "-q", "master")
    (repo.path / ".send-mergereq.toml").write_bytes(JOBS)
    (repo.path / "MAINTAINERS").write_text(MAINTAINERS)
    repo.git("add", ".send-mergereq.toml", "MAINTAINERS")
    repo.git("commit", "-q", "--no-gpg-sign", "-m", "owners")
    repo.git("checkout", "-q", "-B", "staging", "master")
    (repo.path / "MAINTAINERS").write_text("Mine\nM: mallory@evil.example\nF: hw/\n")
    repo.git("commit", "-q", "--no-gpg-sign", "-am", "take over hw/")
    owners = read_owners(repo.path, "master")
    assert owners.of_job("check-block")[0] == "Kevin Wolf <kwolf@example.org>"
    assert owners.paths_of_job("check-block") == ("block/*", "tests/qemu-iotests/*")
    routed = owners.of_files(["hw/arm/virt.c"])
    assert routed.people == ("Peter Maydell <peter.maydell@linaro.org>",)
    assert (
        "mallory@evil.example"
        in read_owners(repo.path, "staging").of_files(["hw/arm/virt.c"]).people
    )  # what the target says is what counts: staging is not the target
