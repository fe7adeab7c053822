"""``send-mergereq jobs``: read the target's finished pipelines (the cache first), count,
advise, and say it through ``output.Output`` (a table, ``--json``, ``--patch``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from send_mergereq.errors import ConfigError
from send_mergereq.jobs.cache import JobsCache, cache_path
from send_mergereq.jobs.health import job_health
from send_mergereq.jobs.render import JobsReport, document, owners_by_job, render_plain
from send_mergereq.jobs.tier_policy import TierPolicy
from send_mergereq.jobs.tiers import advise

if TYPE_CHECKING:
    from send_mergereq.config import Settings
    from send_mergereq.gitlab.forge import Forge
    from send_mergereq.output import Output

DEFAULT_SOURCES = ("push", "schedule")
CI_FILE = ".gitlab-ci.yml"


@dataclass(frozen=True)
class JobsOptions:
    ref: str | None = None  # None: the target branch
    pipelines: int = 200
    since: float | None = None  # seconds: the pipelines updated in the last SINCE instead
    sources: tuple[str, ...] = DEFAULT_SOURCES
    patch: str | None = None  # None: no patch; "": print it for .gitlab-ci.yml; else FILE
    use_cache: bool = True


def open_forge(settings: Settings) -> Forge:
    """The project's Forge: where GitLab is (flags, else the remote), the token, once."""
    from send_mergereq.gitlab.credentials import find_token
    from send_mergereq.gitlab.forge import Forge
    from send_mergereq.gitlab.location import GitLabLocation, normalize_base_url
    from send_mergereq.gitlab.session import locate, refuse_other_forge

    if settings.gitlab_url and settings.project:
        url = normalize_base_url(settings.gitlab_url)
        location = GitLabLocation(url, settings.project.strip("/"))
    else:
        location = locate(settings)
    refuse_other_forge(location, settings)
    token = find_token(location.gitlab_url, project=location.project, cwd=settings.repo)
    return Forge.connect(location.gitlab_url, token, location.project)


def run_jobs(settings: Settings, options: JobsOptions, out: Output) -> int:
    from send_mergereq import git
    from send_mergereq.gitlab.history import cache_key, fetch_history, list_finished
    from send_mergereq.triage.sources import read_owners

    ref = options.ref or settings.target_branch
    owners = read_owners(settings.repo, settings.target)
    forge = open_forge(settings)
    since = None
    if options.since is not None:
        moment = datetime.fromtimestamp(time.time() - options.since, tz=UTC)
        since = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    listed = list_finished(forge, ref, options.sources, limit=options.pipelines,
                           updated_after=since)  # fmt: skip
    where = cache_path(git.common_dir(settings.repo), *cache_key(forge))
    cache = JobsCache(where if options.use_cache else None)
    with _progress(out, len(listed)) as advance:
        records, fetched = fetch_history(forge, listed, cache.get, advance)
    cache.save(records)
    jobs = job_health(records)
    tiers = settings.tiers or TierPolicy()
    advice = advise(jobs, [r.id for r in records], tiers, time.time())
    report = JobsReport(
        ref=ref,
        jobs=tuple(jobs),
        advice=tuple(advice),
        pipelines=tuple(records),
        owners=owners_by_job(jobs, owners.of_job),
        requests=fetched,
    )
    if options.patch is not None:
        _patch(settings.repo, options.patch, report, out)
    elif out.styled(out.human):
        from send_mergereq.jobs.render import render_rich

        render_rich(report, out.human, color=out.color)
    else:
        render_plain(report, out.human)
    if out.as_json:
        out.document(document(report, 0))
    return 0


def _patch(repo: Path, given: str, report: JobsReport, out: Output) -> None:
    """The diff on stdout (stderr under ``--json``); written to FILE only when given one."""
    from send_mergereq.jobs.patch import patch_ci

    path = Path(given) if given else repo / CI_FILE
    shown = given or CI_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read {shown}: {exc.strerror if isinstance(exc, OSError) else exc}",
            hint="run in the clone's top directory, or pass --patch FILE",
        ) from None
    promote = [a.job for a in report.advice if a.action == "promote"]
    demote = [a.job for a in report.advice if a.action == "demote"]
    name = path.name if given else CI_FILE
    patched = patch_ci(text, name, promote, demote)
    for skipped in patched.skipped:
        out.note(f"--patch: {skipped}")
    if given and patched.diff:
        path.write_text(patched.text, encoding="utf-8")
        out.note(f"--patch: {shown} written ({len(promote)} promoted, {len(demote)} demoted)")
    if patched.diff:
        out.human.write(patched.diff)
        out.human.flush()
    else:
        out.note("--patch: nothing to change")


@contextmanager
def _progress(out: Output, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar while the pipelines' jobs are read, on a terminal only."""
    if not out.live() or total == 0:
        yield lambda _done: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(file=out.human, force_terminal=True)
    columns = (TextColumn("reading pipelines"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("pipelines", total=total)
        yield lambda done: progress.update(task, completed=done)
