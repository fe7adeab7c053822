"""The jobs of finished pipelines, kept on disk between runs of ``send-mergereq jobs``.

A finished pipeline's jobs do not change (a retry changes its ``updated_at``, which is
part of the key), so they are read from GitLab once. The cache is one JSON file a GitLab
project, under the repository's git directory
(``.git/send-mergereq/jobs/<hash of GitLab URL and project>.json``, mode 0600): it holds
only the job fields ``jobs`` counts (ids, names, statuses, flags, times), never the token
or a URL with it. It is bounded: at most ``MAX_PIPELINES`` pipelines (the newest kept)
and ``MAX_BYTES`` read; a file that is too big, not JSON or of the wrong shape is
ignored (and rewritten), never trusted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from send_mergereq.jobs.health import Attempt, PipelineRecord

VERSION = 1
MAX_PIPELINES = 2000
MAX_BYTES = 64 * 1024 * 1024
_FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": int,
    "name": str,
    "status": str,
    "stage": str,
    "allow_failure": bool,
    "retried": bool,
    "finished_at": (float, int, type(None)),
    "duration": (float, int, type(None)),
}


def cache_path(git_dir: Path, gitlab_url: str, project: str) -> Path:
    key = hashlib.sha256(f"{gitlab_url.rstrip('/')}\0{project}".encode()).hexdigest()[:24]
    return git_dir / "send-mergereq" / "jobs" / f"{key}.json"


class JobsCache:
    """Finished pipelines' attempts by ``(pipeline id, updated_at)``."""

    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: --no-cache, nothing read or written
        self.entries: dict[int, tuple[str, tuple[Attempt, ...]]] = {}
        if path is not None:
            self.entries = _load(path)

    def get(self, pipeline_id: int, updated_at: str) -> tuple[Attempt, ...] | None:
        entry = self.entries.get(pipeline_id)
        return entry[1] if entry is not None and entry[0] == updated_at else None

    def save(self, records: Iterable[PipelineRecord]) -> None:
        """Remember ``records`` (with what was there), the newest ``MAX_PIPELINES``."""
        if self.path is None:
            return
        for record in records:
            self.entries[record.id] = (record.updated_at, record.attempts)
        kept = sorted(self.entries, reverse=True)[:MAX_PIPELINES]
        doc = {
            "version": VERSION,
            "pipelines": {
                str(pid): {
                    "updated_at": self.entries[pid][0],
                    "jobs": [asdict(a) for a in self.entries[pid][1]],
                }
                for pid in kept
            },
        }
        _write(self.path, json.dumps(doc, separators=(",", ":")).encode())


def _load(path: Path) -> dict[int, tuple[str, tuple[Attempt, ...]]]:
    try:
        if path.stat().st_size > MAX_BYTES:
            return {}
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        return {}
    pipelines = doc.get("pipelines")
    if not isinstance(pipelines, dict):
        return {}
    entries: dict[int, tuple[str, tuple[Attempt, ...]]] = {}
    for key, entry in list(pipelines.items())[:MAX_PIPELINES]:
        read = _entry(key, entry)
        if read is not None:
            entries[read[0]] = read[1]
    return entries


def _entry(key: str, entry: Any) -> tuple[int, tuple[str, tuple[Attempt, ...]]] | None:
    if not key.isdigit() or not isinstance(entry, dict):
        return None
    updated, jobs = entry.get("updated_at"), entry.get("jobs")
    if not isinstance(updated, str) or not isinstance(jobs, list):
        return None
    attempts = []
    for job in jobs:
        if not _valid(job):
            return None
        attempts.append(Attempt(**job))
    return int(key), (updated, tuple(attempts))


def _valid(job: Any) -> bool:
    if not isinstance(job, Mapping) or set(job) != set(_FIELDS):
        return False
    for name, kind in _FIELDS.items():
        value = job[name]
        if isinstance(value, bool) and kind is not bool:
            return False
        if not isinstance(value, kind):
            return False
    return True


def _write(path: Path, data: bytes) -> None:
    """Write atomically (a temporary file renamed over it), readable by the owner only."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, name = tempfile.mkstemp(prefix=".jobs-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(name, 0o600)
            os.replace(name, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(name)
            raise
    except OSError:
        return  # a cache that cannot be written costs requests next time, nothing more
