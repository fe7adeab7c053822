"""The triage of a closed gate, in one call for whichever command closes it (``--wait``,
``--land``, ``status``): the pull requests in the tested staging, and for each failing
gating job its suspects and owners. Reads the repository (``pulls``, ``sources``); the
logic is the pure modules'. ``run/triage.py`` calls it on a closed gate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from send_mergereq.triage.pulls import Pull, Verifier, pulls_in
from send_mergereq.triage.sources import Owners, read_owners
from send_mergereq.triage.summary import bisect_command, summary_lines
from send_mergereq.triage.suspects import Suspicion, suspect


@dataclass(frozen=True)
class FailedJob:
    """A failing gating job as the watch saw it: its name and its log tail's lines."""

    name: str
    log_tail: tuple[str, ...]


@dataclass(frozen=True)
class Triage:
    branch: str
    pulls: tuple[Pull, ...]
    suspicions: tuple[Suspicion, ...]
    owners: Owners
    command: str = ""  # the next command in full; "" for ``send-mergereq bisect BRANCH``

    @property
    def next_command(self) -> str:
        return self.command or bisect_command(self.branch)

    def lines(self) -> list[str]:
        """What the closed gate prints after the failing jobs."""
        return summary_lines(
            self.branch, self.pulls, self.suspicions, self.owners.of_job,
            command=self.next_command, maintainers_of=self.maintainers_of,
        )  # fmt: skip

    def maintainers_of(self, merge: str) -> tuple[str, ...]:
        """Who MAINTAINERS says looks after the files of the pull request merged as
        ``merge``: its people (``M:``, then ``R:``), then its lists (``L:``)."""
        pull = next((p for p in self.pulls if p.merge == merge), None)
        if pull is None or not self.owners.sections:
            return ()
        routing = self.owners.of_files(pull.files)
        return routing.people + routing.lists

    def document(self) -> dict[str, object]:
        """``triage`` in ``--json``, and per failing job what goes on its ``failed_jobs[]``
        entry (``suspects``, ``owners``, ``basis``), by job name."""
        return {
            "pulls": [p.document() for p in self.pulls],
            "jobs": {
                s.job: {
                    "basis": s.basis,
                    "suspects": [
                        {**x.document(), "maintainers": list(self.maintainers_of(x.merge))}
                        for x in s.suspects
                    ],
                    "owners": list(self.owners.of_job(s.job)),
                }
                for s in self.suspicions
            },
            "next": self.next_command,
        }


def triage(
    repo: Path,
    target: str,
    branch: str,
    failed: Sequence[FailedJob],
    *,
    verify: Verifier | None = None,
    command: str = "",
    name: str = "",
) -> Triage:
    """The triage of ``branch`` (a commit id or ref) over ``target`` whose gate closed on
    ``failed``; job owners come from ``target``.

    :raises GitError: git fails. :raises ConfigError: the target's policy is invalid.
    """
    pulls = tuple(pulls_in(repo, target, branch, verify))
    owners = read_owners(repo, target)
    suspicions = tuple(
        suspect(job.name, job.log_tail, pulls, owners.paths_of_job(job.name)) for job in failed
    )
    return Triage(name or branch, pulls, suspicions, owners, command)
