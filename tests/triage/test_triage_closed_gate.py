"""triage/closed_gate.py: the whole triage of a closed gate on a real repository, with
job owners from the target's policy file."""

from __future__ import annotations

from collections.abc import Callable

from triage_helpers import pull

from gitrepo import Repo
from send_mergereq.triage.closed_gate import FailedJob, triage

POLICY = """\
[[jobs]]
name = "check-block*"
owners = ["Kevin Wolf <kwolf@example.org>"]
paths = ["block/*"]
"""


MAINTAINERS = """\
Network device backends
M: Jason Wang <jasowang@example.org>
L: qemu-net@example.org
F: net/
"""


def test_a_closed_gate_with_a_log_culprit_an_owners_suspect_and_no_evidence(
    make_repo: Callable[..., Repo],
) -> None:
    repo = make_repo()
    repo.git("checkout", "-q", "master")
    (repo.path / ".send-mergereq.toml").write_text(POLICY)
    (repo.path / "MAINTAINERS").write_text(MAINTAINERS)
    repo.git("add", ".send-mergereq.toml", "MAINTAINERS")
    repo.git("commit", "-q", "--no-gpg-sign", "-m", "job owners")
    repo.git("checkout", "-q", "-B", "staging", "master")
    block = pull(repo, "pull-block", {"block/qcow2.c": "b"})
    net = pull(repo, "pull-net", {"net/tap.c": "n"})
    failed = [
        FailedJob("cross-arm64-system", ("FAILED: libcommon.fa.p/net/tap.c.o",)),
        FailedJob("check-block-qcow2", ("Failures: 042",)),
        FailedJob("check-unit", ("Ok: 1 Fail: 1",)),
    ]
    found = triage(repo.path, "master", "staging", failed)
    doc = found.document()
    assert [p["tag"] for p in doc["pulls"]] == ["pull-block", "pull-net"]  # type: ignore[attr-defined]
    assert doc["jobs"] == {
        "cross-arm64-system": {
            "basis": "log",
            "suspects": [{"tag": "pull-net", "merge": net,
                          "evidence": ["FAILED: libcommon.fa.p/net/tap.c.o"],
                          "maintainers": ["Jason Wang <jasowang@example.org>",
                                          "qemu-net@example.org"]}],
            "owners": [],
        },
        "check-block-qcow2": {
            "basis": "owners",
            "suspects": [{"tag": "pull-block", "merge": block,
                          "evidence": ["block/qcow2.c matches block/*"],
                          "maintainers": []}],
            "owners": ["Kevin Wolf <kwolf@example.org>"],
        },
        "check-unit": {"basis": "none", "suspects": [], "owners": []},
    }  # fmt: skip
    assert doc["next"] == "send-mergereq bisect staging"
    lines = found.lines()
    assert "    owners: Kevin Wolf <kwolf@example.org>" in lines
    at = lines.index(f"  cross-arm64-system: pull-net ({net[:12]}): its log names its files")
    assert lines[at + 2] == (
        "      maintainers: Jason Wang <jasowang@example.org>, qemu-net@example.org"
    )
    assert lines[-1] == "next: send-mergereq bisect staging"
