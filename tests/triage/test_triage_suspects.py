"""triage/suspects.py: which pull requests a failing job's log (else its owners' paths)
points at, with the lines that say so."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from send_mergereq.triage.suspects import NO_EVIDENCE, Suspect, Suspicion, suspect


@dataclass(frozen=True)
class P:
    tag: str
    merge: str
    files: tuple[str, ...]


ARM = P("pull-arm", "a" * 40, ("hw/arm/virt.c", "include/hw/arm/virt.h"))
RISCV = P("pull-riscv", "b" * 40, ("hw/riscv/virt.c", "target/riscv/cpu.c"))
BLOCK = P("pull-block", "c" * 40, ("block/qcow2.c", "tests/qemu-iotests/042"))
MIGRATION = P("pull-migration", "d" * 40, ("migration/postcopy-ram.c",))
PULLS = (ARM, RISCV, BLOCK, MIGRATION)


def tags(found: Suspicion) -> list[str]:
    return [s.tag for s in found.suspects]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("hw/arm/virt.c:42: error: 'foo' undeclared", ["pull-arm"]),
        ("../hw/arm/virt.c:42:5: error: implicit declaration of function", ["pull-arm"]),
        ("/builds/qemu-project/qemu/hw/riscv/virt.c:9:1: warning: unused", ["pull-riscv"]),
        ("In file included from ../include/hw/arm/virt.h:12,", ["pull-arm"]),
        ("FAILED: libqemu-aarch64-softmmu.fa.p/hw_arm_virt.c.o", ["pull-arm"]),
        ("FAILED: libcommon.fa.p/target/riscv/cpu.c.o", ["pull-riscv"]),
        ("--- tests/qemu-iotests/042.out", ["pull-block"]),
        ("Failures: 042", []),  # a bare test number is no path
        ("riscv/cpu.c:3: error: x", ["pull-riscv"]),  # a suffix of exactly one file
        ("virt.c:3: error: x", []),  # the end of two files: blames neither
        ("qemu-system-x86_64: ../migration/postcopy-ram.c:1436: postcopy_ram_incoming_cleanup: "
         "Assertion `!mis->postcopy_tmp_pages' failed.", ["pull-migration"]),
        ("see hw/arm/virt.c.", ["pull-arm"]),
        ("make: *** [Makefile:162: run-ninja] Error 1", []),
        ("xhw/arm/virt.c:1: error", []),  # not at a / boundary
    ],
)  # fmt: skip
def test_a_log_line_names_the_pull_request_whose_file_it_names(
    line: str, expected: list[str]
) -> None:
    found = suspect("build", ["ninja: build stopped", line], PULLS)
    assert tags(found) == expected
    if expected:
        assert found.basis == "log"
        assert found.suspects[0].evidence == (line.strip(),)


def test_evidence_is_each_line_once_bounded_and_suspects_in_staging_order() -> None:
    lines = [
        "../block/qcow2.c:1: error: a",
        "../hw/arm/virt.c:2: error: b",
        "../hw/arm/virt.c:2: error: b",
        *[f"../hw/arm/virt.c:{n}: error: more" for n in range(3, 20)],
    ]
    found = suspect("build", lines, PULLS)
    assert tags(found) == ["pull-arm", "pull-block"]
    arm = found.suspects[0]
    assert arm == Suspect("pull-arm", "a" * 40, arm.evidence)
    assert arm.evidence[0] == "../hw/arm/virt.c:2: error: b" and len(arm.evidence) == 5
    assert found.summary == "pull-arm, pull-block (changes files its log names)"


def test_two_pull_requests_touching_the_named_file_are_both_suspects() -> None:
    other = P("pull-arm-fixes", "e" * 40, ("hw/arm/virt.c",))
    found = suspect("build", ["hw/arm/virt.c:1: error: x"], (ARM, other))
    assert tags(found) == ["pull-arm", "pull-arm-fixes"]


def test_the_real_sandbox_logs() -> None:
    """The shipped scenarios' failure logs name the file a pull request would change."""
    from send_mergereq.sandbox import load_scenario

    red = next(j for j in load_scenario("red").pipeline.jobs if j.name == "check-qtest")
    found = suspect("check-qtest", red.log.splitlines(), PULLS)
    assert tags(found) == ["pull-migration"]
    assert all("postcopy-ram.c" in line for line in found.suspects[0].evidence)


def test_the_culprit_scenario_log_names_the_breaking_pull_request() -> None:
    from send_mergereq.sandbox import load_scenario
    from send_mergereq.sandbox.state import Job
    from send_mergereq.sandbox.trace import tree_log

    spec = next(j for j in load_scenario("culprit").pipeline.jobs if j.fails_if_path)
    job = Job(id=1, pipeline_id=1, spec=spec, created_at=0, tree_path="net/tap.c")
    net = P("pull-net", "e" * 40, ("net/Kconfig", "net/tap.c"))
    found = suspect(spec.name, tree_log(job).splitlines(), (BLOCK, net))
    assert tags(found) == ["pull-net"]
    assert found.suspects[0].evidence[:2] == (
        "[1204/3391] Compiling C object libcommon.fa.p/net/tap.c.o",
        "FAILED: libcommon.fa.p/net/tap.c.o",
    )
    assert found.suspects[0].evidence[2].startswith("../net/tap.c:")


def test_else_the_owners_paths() -> None:
    found = suspect("check-block", ["Timeout: 1"], PULLS, ["block/*", "tests/qemu-iotests/*"])
    assert found.basis == "owners"
    assert found.suspects == (
        Suspect(
            "pull-block",
            "c" * 40,
            (
                "block/qcow2.c matches block/*",
                "tests/qemu-iotests/042 matches tests/qemu-iotests/*",
            ),
        ),
    )
    assert found.summary == "pull-block (changes files its owners look after)"


def test_the_log_wins_over_the_owners() -> None:
    found = suspect("check-block", ["../hw/arm/virt.c:1: error"], PULLS, ["block/*"])
    assert (found.basis, tags(found)) == ("log", ["pull-arm"])


def test_else_no_evidence() -> None:
    found = suspect("check-unit", ["Ok: 119  Fail: 1"], PULLS, ["nothing-here/*"])
    assert (found.basis, found.suspects, found.summary) == ("none", (), NO_EVIDENCE)
    assert suspect("x", [], ()).basis == "none"


def test_a_plain_commit_is_named_by_its_merge() -> None:
    plain = P("", "f" * 40, ("util/oslib-posix.c",))
    found = suspect("build", ["../util/oslib-posix.c:7: error: y"], (plain,))
    assert found.summary == "ffffffffffff (changes files its log names)"


def test_json_entries() -> None:
    found = suspect("build", ["../hw/arm/virt.c:1: error: x"], (ARM, P("", "f" * 40, ("x.c",))))
    assert [s.document() for s in found.suspects] == [
        {"tag": "pull-arm", "merge": "a" * 40, "evidence": ["../hw/arm/virt.c:1: error: x"]}
    ]
    assert Suspect("", "f" * 40, ()).document() == {"tag": None, "merge": "f" * 40, "evidence": []}


def test_a_tree_wide_pull_request_among_many_files() -> None:
    """Thousands of files (a tree-wide cleanup): the log's path still names only the pull
    request that has it, and a bare name shared by many files names none."""
    wide = P("pull-cleanup", "9" * 40, tuple(f"hw/dev{n}/core.c" for n in range(10_000)))
    lines = [f"../hw/dev{n}/core.c:1: warning: x" for n in range(0, 100, 10)]
    lines += ["core.c:1: error: ambiguous", "../hw/arm/virt.c:7: error: y"]
    found = suspect("build", lines, (ARM, wide))
    assert tags(found) == ["pull-arm", "pull-cleanup"]
    assert found.suspects[0].evidence == ("../hw/arm/virt.c:7: error: y",)
    assert len(found.suspects[1].evidence) == 5
