"""The live view's layout, pure: a snapshot and a terminal size in, screen lines out.

Whatever the number of jobs, the view fits ``width`` x ``height`` and the summary line is
its last line (one row is left free, so the terminal never scrolls):

1. the title (pipeline, kind, ref) and the column headers;
2. failed, waiting-for-manual and running jobs, in that order, one row each;
3. each finished stage folded into one line (``build  ✔ 42 passed · 1 allowed to fail``);
4. the jobs still to run, by stage;
5. when rows run out, one counted line (``… and 173 more pending``) stands for the rest;
6. the summary line.

The job name is an OSC 8 hyperlink (rich's ``link`` style: terminals that do not know it
show the name); a plain URL is shown only for failed and manual jobs, in a ``link`` column
when the terminal is wide enough, else on a row of its own under the job. Every string the
server sent goes through :func:`visible` first. Names sort naturally (``shard-2`` before
``shard-10``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rich.text import Text

from send_mergereq.logtext import format_duration
from send_mergereq.models import FINISHED, Job, Pipeline, natural_key
from send_mergereq.terminal import visible
from send_mergereq.watch.verdict import pipeline_title

if TYPE_CHECKING:
    from send_mergereq.watch.types import Snapshot

SYMBOLS: dict[str, tuple[str, str]] = {
    "success": ("✔", "green"),
    "failed": ("✘", "red"),
    "running": ("●", "cyan"),
    "pending": ("◌", "yellow"),
    "created": ("·", "dim"),
    "waiting_for_resource": ("◌", "yellow"),
    "waiting_for_callback": ("◌", "yellow"),
    "preparing": ("◌", "yellow"),
    "scheduled": ("◷", "magenta"),
    "manual": ("▶", "magenta"),
    "canceling": ("⊘", "dim"),
    "canceled": ("⊘", "dim"),
    "skipped": ("»", "dim"),
}
SHORT_STATUS = {
    "waiting_for_resource": "waiting",
    "waiting_for_callback": "waiting",
    "canceling": "canceling",
}
SETTLED = FINISHED | {"manual"}  # a stage of these folds into one line
FIRST = {"failed": 0, "manual": 1, "running": 2}  # rows shown before all others
STATUS_W, TIME_W, NOTE_W = 10, 6, 10
HEADERS = ("stage", "job", "status", "time", "note", "link")


def safe_link(url: str) -> str:
    """``url`` if it is fit for an OSC 8 hyperlink (http(s), no control or space), else ""."""
    if not url or visible(url) != url or " " in url:
        return ""
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        return ""
    return url if scheme in ("http", "https") else ""


@dataclass(frozen=True)
class Entry:
    """One job of the view with where it sits: its stage group's label and its own label."""

    job: Job
    group: str  # "build", or "trigger-tests > test" for a child pipeline's stage
    name: str  # escaped job name (with "⇢" for a bridge)
    order: int  # the stage group's position


def entries(pipeline: Pipeline) -> list[Entry]:
    """Every latest job of ``pipeline`` and its children, with its stage group."""
    found: list[Entry] = []
    orders: dict[str, int] = {}
    for job, bridge, _ in pipeline.walk():
        group = visible(job.stage)
        if bridge is not None:
            group = f"{visible(bridge.name)} > {group}"
        orders.setdefault(group, len(orders))
        name = visible(job.name) + (" ⇢" if job.is_bridge else "")
        found.append(Entry(job, group, name, orders[group]))
    return found


def _status_text(status: str) -> Text:
    symbol, colour = SYMBOLS.get(status, ("?", "white"))
    return Text(f"{symbol} {SHORT_STATUS.get(status, visible(status))}", style=colour)


def _cell(text: str | Text, width: int, style: str = "") -> Text:
    cell = text.copy() if isinstance(text, Text) else Text(text, style=style)
    cell.truncate(width, overflow="ellipsis", pad=True)
    return cell


def _fold(jobs: list[Job]) -> str:
    counts = Counter(job.status for job in jobs)
    allowed = sum(1 for job in jobs if job.status == "failed" and job.allow_failure)
    parts = [f"{counts['success']} passed"] if counts["success"] else []
    failed = counts["failed"] - allowed
    parts += [f"{failed} failed"] if failed else []
    parts += [f"{allowed} allowed to fail"] if allowed else []
    parts += [f"{n} {status}" for status, n in sorted(counts.items()) if status not in (
        "success", "failed")]  # fmt: skip
    symbol = "✘" if failed else ("✔" if all(j.status in SETTLED for j in jobs) else "…")
    return f"{symbol} " + " · ".join(parts)


@dataclass(frozen=True)
class Columns:
    stage: int
    job: int
    link: int  # width of the link column; 0: none, -1: none but URL rows under the jobs


def columns(rows: Iterable[Entry], width: int) -> Columns:
    """Column widths for ``width``: stage and job as wide as their longest cell allows."""
    listed = list(rows)
    stage = min(max([len(e.group) for e in listed] + [5]), max(5, width // 5))
    fixed = stage + STATUS_W + TIME_W + NOTE_W + 4  # 4 single-space gaps
    longest = max([len(e.name) for e in listed] + [3])
    job = max(8, min(longest, width - fixed - 1))
    urls = [len(e.job.web_url) for e in listed if e.job.status in ("failed", "manual")]
    spare = width - fixed - job - 1
    link = max(urls) if urls and spare >= max(urls) else 0
    return Columns(stage, job, link)


def _row(entry: Entry, cols: Columns, snapshot: Snapshot, now: float, stage: str) -> Text:
    job = entry.job
    duration = job.duration
    if job.status == "running" and duration is not None:
        duration += max(0.0, now - snapshot.taken_at)
    link = safe_link(job.web_url)
    note = "may fail" if job.allow_failure else ""
    retried = snapshot.verdict.retry_count(job)
    if retried:
        note = f"{note} retried {retried}x".strip()
    row = Text()
    row.append_text(_cell(stage, cols.stage, "bold"))
    row.append(" ")
    row.append_text(_cell(Text(entry.name, style=f"link {link}" if link else ""), cols.job))
    row.append(" ")
    row.append_text(_cell(_status_text(job.status), STATUS_W))
    row.append(" ")
    row.append_text(_cell(format_duration(duration).rjust(TIME_W - 1), TIME_W))
    row.append(" ")
    row.append_text(_cell(note, NOTE_W, "dim"))
    if cols.link > 0 and job.status in ("failed", "manual"):
        row.append(" ")
        row.append(visible(job.web_url), style="dim")
    return row


def _more(dropped: list[Entry]) -> Text:
    counts = Counter(SHORT_STATUS.get(e.job.status, visible(e.job.status)) for e in dropped)
    if len(counts) == 1:
        return Text(f"… and {len(dropped)} more {next(iter(counts))}", style="dim")
    spread = " · ".join(f"{n} {status}" for status, n in counts.most_common())
    return Text(f"… and {len(dropped)} more ({spread})", style="dim")


Line = tuple[Text, Entry | None]  # a screen row, and the job it shows (None: a fold or URL)


def _job_rows(
    urgent: list[Entry], rest: list[Entry], cols: Columns, snapshot: Snapshot, now: float
) -> list[Line]:
    """Urgent jobs then ``rest``; failed and manual jobs get a URL row of their own when
    there is no link column (``cols.link`` 0 and URLs wanted: the caller decides)."""
    lines: list[Line] = []
    for entry in urgent:
        lines.append((_row(entry, cols, snapshot, now, entry.group), entry))
        if cols.link < 0 and entry.job.status in ("failed", "manual") and entry.job.web_url:
            lines.append((Text(f"  ↳ {visible(entry.job.web_url)}", style="dim"), None))
    lines.extend((_row(e, cols, snapshot, now, e.group), e) for e in rest)
    return lines


def _fold_rows(groups: dict[str, list[Entry]], folded: set[str], stage_w: int) -> list[Text]:
    rows = []
    for group in sorted(folded, key=lambda g: groups[g][0].order):
        fold = Text()
        fold.append_text(_cell(group, stage_w, "bold"))
        fold.append(" " + _fold([e.job for e in groups[group]]), style="dim")
        rows.append(fold)
    return rows


def _fit(jobs: list[Line], budget: int) -> list[Text]:
    """``jobs`` in ``budget`` rows: the last row counts those that did not fit."""
    if len(jobs) <= budget:
        return [text for text, _ in jobs]
    if budget <= 0:
        return []
    kept = jobs[: budget - 1]
    while kept and kept[-1][1] is None:  # never a URL row without its job above it
        kept.pop()
    dropped = [e for _, e in jobs[len(kept) :] if e is not None]
    return [text for text, _ in kept] + [_more(dropped)]


TOP = frozenset({"failed", "manual"})  # rows of their own, never in the multi-column flow
GAP = "   "


def _row_width(cols: Columns) -> int:
    return cols.stage + cols.job + STATUS_W + TIME_W + NOTE_W + 4


def _across(cols: Columns, width: int) -> int:
    """How many job columns fit side by side in ``width``."""
    return max(1, (width + len(GAP)) // (_row_width(cols) + len(GAP)))


def _header(cols: Columns) -> Text:
    header = Text(style="bold")
    header.append_text(_cell(HEADERS[0], cols.stage, "bold"))
    for text, size in zip(HEADERS[1:5], (cols.job, STATUS_W, TIME_W, NOTE_W), strict=True):
        header.append(" ")
        header.append_text(_cell(text.rjust(size - 1) if text == "time" else text, size, "bold"))
    return header


def _flow(lines: list[Line], rows: int, across: int, cols: Columns) -> list[Text]:
    """``lines`` in ``across`` columns of at most ``rows`` rows, top to bottom then left to
    right; when they do not all fit, the last cell counts the rest."""
    if rows <= 0 or not lines:
        return []
    cells = [text for text, _ in lines]
    if len(cells) > rows * across:
        keep = rows * across - 1
        cells = [*cells[:keep], _more([e for _, e in lines[keep:] if e is not None])]
    height = -(-len(cells) // across)
    cell = _row_width(cols)
    screen = []
    for r in range(height):
        row = Text()
        for c in range(across):
            n = c * height + r
            if n >= len(cells):
                break
            if c:
                row.append(GAP)
            row.append_text(_cell(cells[n], cell))
        row.rstrip()
        screen.append(row)
    return screen


def layout(snapshot: Snapshot, now: float, width: int, height: int, summary: Text) -> list[Text]:
    """The screen: at most ``height - 1`` lines, none wider than ``width``, ``summary`` last."""
    width = max(20, width)
    budget = max(1, height - 1) - 3  # title, header and summary take three lines
    found = entries(snapshot.pipeline)
    cols = columns(found, width)
    urgent = sorted(
        (e for e in found if e.job.status in FIRST),
        key=lambda e: (FIRST[e.job.status], e.order, natural_key(e.name)),
    )
    groups: dict[str, list[Entry]] = {}
    for entry in found:
        groups.setdefault(entry.group, []).append(entry)
    folded = {g for g, members in groups.items() if all(e.job.status in SETTLED for e in members)}
    rest = sorted(
        (e for e in found if e.job.status not in FIRST and e.group not in folded),
        key=lambda e: (e.order, natural_key(e.name)),
    )
    links = cols.link or -1  # -1: URL rows under failed and manual jobs
    url_rows = sum(1 for e in urgent if e.job.status in ("failed", "manual") and e.job.web_url)
    if links < 0 and len(urgent) + url_rows > budget // 2:
        links = 0  # no room: the names stay links, the verdict prints the URLs
    cols = Columns(cols.stage, cols.job, links)
    jobs = _job_rows(urgent, rest, cols, snapshot, now)
    folds = _fold_rows(groups, folded, cols.stage)
    if len(jobs) + len(folds) > budget:  # too many: every stage's finished jobs fold too
        rest = [e for e in rest if e.job.status not in SETTLED]
        done = {g for g, members in groups.items() if any(e.job.status in SETTLED for e in members)}
        jobs = _job_rows(urgent, rest, cols, snapshot, now)
        folds = _fold_rows(groups, done, cols.stage)
    folds = folds[: max(0, budget // 2)]
    across = _across(cols, width)
    top = [line for line in jobs if line[1] is None or line[1].job.status in TOP]
    if across > 1 and len(jobs) + len(folds) > budget and len(top) < budget - len(folds):
        flow = [line for line in jobs if line[1] is not None and line[1].job.status not in TOP]
        lines = [t for t, _ in top] + _flow(flow, budget - len(folds) - len(top), across, cols)
    else:
        across = 1
        lines = _fit(jobs, budget - len(folds))
    lines += folds
    header = _header(cols)
    if across > 1:
        cell = _row_width(cols)
        header = Text(GAP.join(_header(cols).plain[:cell].ljust(cell) for _ in range(across)))
        header.stylize("bold")
    elif cols.link > 0:
        header.append(" ")
        header.append("link", style="bold")
    screen = [Text(pipeline_title(snapshot.pipeline), style="bold"), header]
    screen += lines
    screen.append(summary)
    for line in screen:
        line.truncate(width, overflow="ellipsis")
        line.no_wrap = True
    return screen[-max(1, height - 1) :] if height > 1 else screen[-1:]
