"""Who owns what, read from the *target* (never from the commits under test, which could
rewrite their own owners): the ``[[jobs]]`` tables of its ``.send-mergereq.toml`` and its
``MAINTAINERS`` file. The I/O edge of ``owners.py``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from send_mergereq import git
from send_mergereq.config import read_policy_file
from send_mergereq.errors import ConfigError
from send_mergereq.triage.owners import (
    MAX_MAINTAINERS_BYTES,
    JobOwners,
    Routing,
    Section,
    job_owners,
    job_paths,
    parse_maintainers,
    route,
)

MAINTAINERS = "MAINTAINERS"


@dataclass(frozen=True)
class Owners:
    """The target's job owners and MAINTAINERS sections (either may be empty)."""

    jobs: tuple[JobOwners, ...] = ()
    sections: tuple[Section, ...] = ()

    def of_job(self, job: str) -> tuple[str, ...]:
        return job_owners(self.jobs, job)

    def paths_of_job(self, job: str) -> tuple[str, ...]:
        return job_paths(self.jobs, job)

    def of_files(self, files: tuple[str, ...] | list[str]) -> Routing:
        return route(self.sections, files)


def read_owners(repo: Path, target: str) -> Owners:
    """What ``target`` (a commit id or ref the caller resolved) says about owners.

    :raises ConfigError: the policy file or MAINTAINERS is invalid or too large.
    """
    policy, _ = read_policy_file(repo, target)
    spec = f"{target}:{MAINTAINERS}"
    size = git.blob_size(repo, spec)
    sections: tuple[Section, ...] = ()
    if size is not None:
        if size > MAX_MAINTAINERS_BYTES:
            raise ConfigError(f"{spec}: {size} bytes, more than {MAX_MAINTAINERS_BYTES} read")
        data = git.read_blob(repo, spec)
        sections = parse_maintainers(data.decode("utf-8", errors="replace")) if data else ()
    return Owners(tuple(policy.get("jobs", ())), sections)
