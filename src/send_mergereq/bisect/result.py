"""What ``bisect`` found, as lines for a person and its ``--json`` document: pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from send_mergereq.bisect.probes import Probe
from send_mergereq.errors import ExitCode
from send_mergereq.triage.pulls import Pull
from send_mergereq.triage.search import CULPRIT, NOT_REPRODUCED, TARGET, Verdict

EXIT_CODES = {
    CULPRIT: ExitCode.OK,
    TARGET: ExitCode.GATE_CLOSED,
    NOT_REPRODUCED: ExitCode.NOT_REPRODUCED,
}


@dataclass
class Outcome:
    """The verdict with its evidence: the prefixes judged (by ``k``), the pull requests,
    the jobs bisected, the re-run of the whole branch and the temporary branches."""

    branch: str
    target: str
    verdict: Verdict
    jobs: tuple[str, ...]
    pulls: tuple[Pull, ...]
    probes: Mapping[int, Probe]
    rerun: Probe | None = None
    pushed: Sequence[str] = ()
    deleted: Sequence[str] = ()
    leftovers: Sequence[str] = ()
    started: int = 0  # pipelines this run started
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def exit_code(self) -> ExitCode:
        return EXIT_CODES[self.verdict.kind]

    @property
    def culprit(self) -> Pull | None:
        k = self.verdict.k
        return self.pulls[k - 1] if self.verdict.kind == CULPRIT and k else None

    def url(self, k: int) -> str:
        probe = self.probes.get(k)
        return probe.pipeline.web_url if probe and probe.pipeline else ""

    def lines(self, retry_hint: str) -> list[str]:
        jobs = ", ".join(self.jobs)
        culprit = self.culprit
        if culprit is not None:
            k = culprit.k
            signer = [f"  signed by {culprit.signer}"] if culprit.signer else []
            return [
                f"culprit: {culprit.tag or culprit.label} (merge {culprit.merge[:12]})",
                *signer,
                f"  prefix {k - 1} passes {jobs}:",
                f"    {self.url(k - 1)}",
                f"  prefix {k} fails it:",
                f"    {self.url(k)}",
            ]
        if self.verdict.kind == TARGET:
            return [
                f"{self.target} fails {jobs} on its own (prefix 0): no pull request to blame",
                f"  {self.url(0)}",
            ]
        where = self.rerun.pipeline.web_url if self.rerun and self.rerun.pipeline else ""
        return [
            f"not reproduced: every prefix passes, and {self.branch} run again passes too",
            f"  {where}",
            f"the failure was flaky: {jobs}",
            "retry the failed jobs with:",
            f"  {retry_hint}",
        ]

    def document(self) -> dict[str, object]:
        culprit = self.culprit
        return {
            "result": self.verdict.kind,
            "branch": self.branch,
            "target": self.target,
            "jobs": list(self.jobs),
            "culprit": None
            if culprit is None
            else {
                "tag": culprit.tag or None,
                "url": culprit.url or None,
                "signer": culprit.signer or None,
                "merge": culprit.merge,
                "k": culprit.k,
                "pipelines": {"passing": self.url(culprit.k - 1), "failing": self.url(culprit.k)},
            },
            "prefixes": [self.probes[k].document() for k in sorted(self.probes)],
            "rerun": self.rerun.document() if self.rerun else None,
            "branches_pushed": list(self.pushed),
            "branches_deleted": list(self.deleted),
            "leftovers_removed": list(self.leftovers),
            "pipelines_started": self.started,
            **self.extra,
            "exit_code": int(self.exit_code),
        }


def plan_line(undecided: int, parallel: int, rounds: int) -> str:
    """What ``bisect`` says before it starts."""
    if undecided == 0:
        return "no prefix left to run: the pipelines that exist decide"
    s = "es" if undecided != 1 else ""
    r = "s" if rounds != 1 else ""
    return (f"{undecided} prefix{s} to run, {parallel} at once: at most {rounds} "
            f"round{r} (one more if none fails)")  # fmt: skip
