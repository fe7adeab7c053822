"""What ``send-mergereq jobs`` shows: the ``--json`` document, a plain table (piped) and a
rich one (a terminal). Pure but for writing to the stream it is handed; every name from
GitLab or the policy file goes through ``terminal.visible`` (rich markup escaped too)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from send_mergereq.jobs.health import JobHealth, PipelineRecord, iso
from send_mergereq.jobs.tiers import DAY, Advice
from send_mergereq.terminal import visible


@dataclass(frozen=True)
class JobsReport:
    ref: str
    jobs: tuple[JobHealth, ...]
    advice: tuple[Advice, ...]
    pipelines: tuple[PipelineRecord, ...]
    owners: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    requests: int = 0  # pipelines whose jobs were read from GitLab (not the cache)


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def job_document(job: JobHealth, owners: tuple[str, ...]) -> dict[str, Any]:
    return {
        "name": job.name,
        "stage": job.stage,
        "runs": len(job.runs),
        "successes": job.successes,
        "failures": job.failures,
        "failure_rate": round(job.failure_rate, 4),
        "flaky": job.flaky,
        "first_seen": iso(job.first_seen),
        "last_failure": iso(job.last_failure),
        "streak": job.streak.document(),
        "allow_failure": job.allow_failure,
        "manual": job.manual,
        "median_duration": _seconds(job.median_duration),
        "p90_duration": _seconds(job.p90_duration),
        "strip": job.strip,
        "owners": list(owners),
    }


def document(report: JobsReport, exit_code: int) -> dict[str, Any]:
    ids = sorted(p.id for p in report.pipelines)
    times = sorted(p.created_at for p in report.pipelines)
    return {
        "ref": report.ref,
        "jobs": [job_document(j, report.owners.get(j.name, ())) for j in report.jobs],
        "advice": [a.document() for a in report.advice],
        "pipelines": {
            "count": len(ids),
            "first": {"id": ids[0], "created_at": iso(times[0])} if ids else None,
            "last": {"id": ids[-1], "created_at": iso(times[-1])} if ids else None,
        },
        "exit_code": exit_code,
    }


def _duration(value: float | None) -> str:
    if value is None:
        return "-"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def streak_text(job: JobHealth) -> str:
    streak = job.streak
    if streak.state == "none" or streak.since is None:
        return "manual" if job.manual else "no runs"
    if streak.state == "failing":
        return f"failing since {(iso(streak.since) or '')[:16].replace('T', ' ')}"
    last = job.runs[-1].at
    days = (last - streak.since) / DAY
    return f"green {streak.runs} runs / {days:.0f} d"


HEADERS = ("job", "tier", "runs", "fail", "rate", "flaky", "streak", "median", "p90", "last runs")


def rows(report: JobsReport) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for job in report.jobs:
        found.append((
            visible(job.name),
            "manual" if job.manual else ("allow_failure" if job.allow_failure else "gating"),
            str(len(job.runs)),
            str(job.failures),
            f"{job.failure_rate:.0%}",
            str(job.flaky),
            streak_text(job),
            _duration(job.median_duration),
            _duration(job.p90_duration),
            job.strip,
        ))  # fmt: skip
    return found


def summary(report: JobsReport) -> str:
    count = len(report.pipelines)
    if not count:
        return f"no finished pipelines of {visible(report.ref)}"
    first = min(p.created_at for p in report.pipelines)
    last = max(p.created_at for p in report.pipelines)
    return (
        f"{len(report.jobs)} jobs in {count} finished pipelines of {visible(report.ref)}, "
        f"{(iso(first) or '')[:10]} to {(iso(last) or '')[:10]} "
        "(strip: . passed, r passed on a retry, X failed; newest right)"
    )


def advice_lines(report: JobsReport) -> list[str]:
    if not report.advice:
        return ["advice: none, every job is where the policy wants it"]
    lines = ["advice:"]
    for advice in report.advice:
        owners = report.owners.get(advice.job, ())
        tail = f" [owners: {', '.join(owners)}]" if owners else ""
        lines.append(f"  {advice.action:<8} {advice.job}: {advice.reason}{tail}")
    return [visible(line) for line in lines]


def render_plain(report: JobsReport, out: IO[str]) -> None:
    table = [HEADERS, *rows(report)]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADERS))]
    out.write(summary(report) + "\n\n")
    for row in table:
        out.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() + "\n")
    out.write("\n" + "\n".join(advice_lines(report)) + "\n")


def render_rich(report: JobsReport, out: IO[str], *, color: bool | None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(file=out, force_terminal=color is not False, no_color=color is False)
    table = Table(title=escape(summary(report)), title_justify="left")
    for header in HEADERS:
        table.add_column(header, no_wrap=header in ("job", "last runs"))
    colors = {"X": "red", "r": "yellow", ".": "green"}
    for row in rows(report):
        strip = "".join(f"[{colors[c]}]{c}[/]" for c in row[-1])
        table.add_row(*(escape(cell) for cell in row[:-1]), strip)
    console.print(table)
    for line in advice_lines(report):
        console.print(escape(line), highlight=False)


def owners_by_job(jobs: Sequence[JobHealth], of_job: Any) -> dict[str, tuple[str, ...]]:
    return {job.name: tuple(of_job(job.name)) for job in jobs if of_job(job.name)}
