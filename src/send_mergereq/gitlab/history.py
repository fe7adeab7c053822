"""The target's finished pipelines and every attempt of their jobs, for ``send-mergereq
jobs`` and a red gate's history: the GitLab calls (``GET /projects/:id/pipelines`` with
``ref``, ``source``, ``scope=finished``, ``updated_after``, ``order_by=id``, ``sort=desc``;
``GET /projects/:id/pipelines/:pipeline_id/jobs?include_retried=true``) and their answers
turned into ``jobs.health`` records.

GitLab filters the list by one ``source`` at a time (``lib/api/ci/pipelines.rb``), so each
source is one listing, read page by page until ``limit`` pipelines are in hand: never past
the page GitLab says is its last, nor ``MAX_PAGES`` pages a source. A pipeline's jobs are
``client.every_page``'s (bounded too). Rate limits are python-gitlab's (it waits
``Retry-After``, which ``ratelimit.tidy_rate_headers`` caps), as for the watch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from send_mergereq.gitlab import entities
from send_mergereq.gitlab.client import PER_PAGE, EndlessListing, _next_page, api, every_page
from send_mergereq.jobs.health import Attempt, PipelineRecord
from send_mergereq.models import FINISHED

if TYPE_CHECKING:
    from send_mergereq.gitlab.forge import Forge

MAX_PAGES = 50  # pages of one source's listing: 5,000 pipelines
MAX_PIPELINES = 5000


def parse_time(text: str | None) -> float | None:
    """GitLab's ISO 8601 time in Unix seconds; None when absent or not a time."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def list_finished(
    forge: Forge,
    ref: str,
    sources: Sequence[str],
    *,
    limit: int,
    updated_after: str | None = None,
) -> list[Mapping[str, Any]]:
    """The newest ``limit`` finished pipelines of ``ref`` started by one of ``sources``
    (updated after ``updated_after`` when given), newest first, as GitLab lists them."""
    limit = min(limit, MAX_PIPELINES)
    found: dict[int, Mapping[str, Any]] = {}
    for source in sources:
        query: dict[str, Any] = {"ref": ref, "source": source, "scope": "finished",
                                 "order_by": "id", "sort": "desc"}  # fmt: skip
        if updated_after:
            query["updated_after"] = updated_after
        with api(f"listing the {source} pipelines of {ref}", forge.token_source):
            for attrs in _pages(forge.project.pipelines, limit, query):
                pid = entities.number(attrs, "id", "pipeline")
                if (
                    attrs.get("ref") == ref
                    and attrs.get("status") in FINISHED
                    and attrs.get("source", source) == source  # a GitLab that ignored it
                ):
                    found[pid] = attrs
    newest = sorted(found, reverse=True)[:limit]
    return [found[pid] for pid in newest]


def recent_finished(forge: Forge, ref: str, count: int) -> list[Mapping[str, Any]]:
    """The newest ``count`` (at most 100) finished pipelines of ``ref``, any source: one
    listing page (a closed gate's look at the target)."""
    query: dict[str, Any] = {"ref": ref, "scope": "finished", "order_by": "id", "sort": "desc"}
    with api(f"listing the finished pipelines of {ref}", forge.token_source):
        found = forge.project.pipelines.list(get_all=False, per_page=min(count, PER_PAGE), **query)
    listed: list[Mapping[str, Any]] = [dict(p.attributes) for p in found]
    return [a for a in listed if a.get("ref") == ref and a.get("status") in FINISHED][:count]


def cache_key(forge: Forge) -> tuple[str, str]:
    """Which GitLab and project a cache of its pipelines is for."""
    return str(forge.gl.url), forge.info.path


def _pages(manager: Any, limit: int, query: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Pages of ``manager``'s listing until ``limit`` items, its last page, or MAX_PAGES."""
    items: list[Mapping[str, Any]] = []
    page = 1
    for _ in range(MAX_PAGES):
        path = manager.path if page == 1 else f"{manager.path}?page={page}"  # as every_page
        batch = manager.list(iterator=True, get_next=False, path=path, per_page=PER_PAGE, **query)
        items.extend(dict(obj.attributes) for obj in batch)
        following = _next_page(batch, page)  # X-Next-Page, else Link: rel="next"
        if len(items) >= limit or following is None:
            return items[:limit]
        if batch.total_pages is not None and following > batch.total_pages:
            raise EndlessListing(
                f"GitLab's list offered page {following} after the {batch.total_pages} pages "
                "it said it holds (X-Total-Pages); not followed"
            )
        page = following
    return items[:limit]


def pipeline_attempts(forge: Forge, pipeline_id: int) -> list[Mapping[str, Any]]:
    """Every job of the pipeline, retried attempts included (not its bridges)."""
    pipeline = forge.project.pipelines.get(pipeline_id, lazy=True)
    with api(f"listing the jobs of pipeline {pipeline_id}", forge.token_source):
        found = every_page(pipeline.jobs, per_page=PER_PAGE, include_retried="true")
    return [dict(job.attributes) for job in found]


def attempt(attrs: Mapping[str, Any], pipeline_id: int) -> Attempt:
    """One job's attempt, its fields checked as ``entities.job`` checks them."""
    job = entities.job(attrs, pipeline_id)
    return Attempt(
        id=job.id,
        name=job.name,
        status=job.status,
        stage=job.stage,
        allow_failure=job.allow_failure,
        retried=job.retried,
        finished_at=parse_time(job.finished_at),
        duration=job.duration,
    )


def record(attrs: Mapping[str, Any], attempts: Sequence[Attempt]) -> PipelineRecord:
    pid = entities.number(attrs, "id", "pipeline")
    created = parse_time(str(attrs.get("created_at") or "")) or 0.0
    return PipelineRecord(pid, created, tuple(attempts), str(attrs.get("updated_at") or ""))


def fetch_history(
    forge: Forge,
    listed: Sequence[Mapping[str, Any]],
    cached: Callable[[int, str], tuple[Attempt, ...] | None],
    progress: Callable[[int], None] = lambda _done: None,
) -> tuple[list[PipelineRecord], int]:
    """A record for each listed pipeline: its attempts from ``cached(id, updated_at)``
    when the cache has that version, else from GitLab. Returns the records and how many
    pipelines were read from GitLab. ``progress`` hears the count done after each one."""
    records: list[PipelineRecord] = []
    fetched = 0
    for done, attrs in enumerate(listed, 1):
        pid = entities.number(attrs, "id", "pipeline")
        attempts = cached(pid, str(attrs.get("updated_at") or ""))
        if attempts is None:
            attempts = tuple(attempt(a, pid) for a in pipeline_attempts(forge, pid))
            fetched += 1
        records.append(record(attrs, attempts))
        progress(done)
    return records, fetched
