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
            _short(visible(job.name), NAME_WIDTH),
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
        name = _short(visible(advice.job), NAME_WIDTH)
        lines.append(f"  {advice.action:<8} {name}: {visible(advice.reason)}{visible(tail)}")
    return lines


def _nothing(report: JobsReport) -> str | None:
    """The one line for a branch without finished pipelines (no empty table)."""
    if report.pipelines:
        return None
    return (f"{summary(report)} (of the sources read: is {visible(report.ref)} a branch "
            "that runs pipelines? --source names others)")  # fmt: skip


def render_plain(report: JobsReport, out: IO[str]) -> None:
    if (nothing := _nothing(report)) is not None:
        out.write(nothing + "\n")
        return
    table = [HEADERS, *rows(report)]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADERS))]
    out.write(summary(report) + "\n\n")
    for row in table:
        out.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() + "\n")
    out.write("\n" + "\n".join(advice_lines(report)) + "\n")


NAME_WIDTH = 40  # a job name in a table or an advice line (``--json`` keeps it whole)
TIERS = {"gating": "gating", "allow_failure": "allow", "manual": "manual"}


def _short(name: str, width: int) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def streak_short(job: JobHealth) -> str:
    """The streak in at most 19 columns, for a terminal's table."""
    streak = job.streak
    if streak.state == "none" or streak.since is None:
        return "manual" if job.manual else "no runs"
    if streak.state == "failing":
        return f"failing {(iso(streak.since) or '')[5:16].replace('T', ' ')}"
    days = (job.runs[-1].at - streak.since) / DAY
    return f"ok {streak.runs}/{days:.0f}d"


def render_rich(report: JobsReport, out: IO[str], *, color: bool | None) -> None:
    """The table on a terminal, fitted to its width: the figures always whole, the name cut
    with "…", median and p90 only on a wide terminal, the strip given the columns left
    (its newest runs), or left out below ten."""
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(file=out, force_terminal=color is not False, no_color=color is False)
    if (nothing := _nothing(report)) is not None:
        console.print(escape(nothing), highlight=False)
        return
    wide = console.width >= 110
    found = rows(report)
    name_width = min(20 if not wide else NAME_WIDTH, max([3, *(len(r[0]) for r in found)]))
    heads = ["job", "tier", "runs", "fail", "rate", "flaky", "streak"]
    body = [
        [_short(r[0], name_width), TIERS.get(r[1], r[1]), *r[2:6], streak_short(job)]
        for r, job in zip(found, report.jobs, strict=True)
    ]
    if wide:
        heads += ["median", "p90"]
        for row, r in zip(body, found, strict=True):
            row += [r[7], r[8]]
    widths = [max([len(h), *(len(row[i]) for row in body)]) for i, h in enumerate(heads)]
    room = console.width - sum(widths) - 3 * len(widths) - 4  # padding and a rule a column
    strip_width = min(40, room)
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), show_edge=False)
    for head, width in zip(heads, widths, strict=True):
        table.add_column(head, no_wrap=True, min_width=width, max_width=width)
    if strip_width >= 10:
        table.add_column("last runs", no_wrap=True, min_width=strip_width)
    colors = {"X": "red", "r": "yellow", ".": "green"}
    for row, r in zip(body, found, strict=True):
        cells = [escape(cell) for cell in row]
        if strip_width >= 10:
            cells.append("".join(f"[{colors[c]}]{c}[/]" for c in r[-1][-strip_width:]))
        table.add_row(*cells)
    import textwrap

    title, _, legend = summary(report).partition(" (strip: ")
    console.print(escape(textwrap.fill(title, console.width)), highlight=False)
    console.print(table)
    if strip_width >= 10 and legend:
        console.print(escape(f"(last runs: {legend}"), highlight=False)
    for line in advice_lines(report):
        wrapped = textwrap.fill(line, console.width, subsequent_indent=" " * 11)
        console.print(escape(wrapped), highlight=False)


def owners_by_job(jobs: Sequence[JobHealth], of_job: Any) -> dict[str, tuple[str, ...]]:
    return {job.name: tuple(of_job(job.name)) for job in jobs if of_job(job.name)}
