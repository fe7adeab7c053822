"""Which pipeline tests this push, in both modes, and the one poller that waits for it.

The selection is pure, over the pipelines GitLab lists (``matches_push``, ``best``).

A merge request pipeline is known by its ref: ``refs/merge-requests/IID/merge``
(merged results; its sha is the merge commit GitLab built, never our head) or
``refs/merge-requests/IID/head`` (detached; its sha is our head). A branch
pipeline's ref is the source branch and its sha our head. "Created after the
push" is "its id is above every pipeline id we saw before pushing" (GitLab's ids
only grow), which needs no clock shared with the server. Decoys — an older MR
pipeline, a pipeline for another head, another MR's ref, a merge train — never
match. When the push changed nothing, older pipelines for the same head may be
reused instead of running the same tests again.

``poll`` is the one "wait until the pipeline appears" loop (1 s, then 1.5 times
longer, at most 5 s between asks). It serves the merge request mode
(``find_mr_pipeline``: an MR pipeline, else after a grace the branch pipeline, else
one created on request), push-only mode (``find_branch_pipeline``) and ``status``
(``current_pipeline``: re-attach without pushing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from send_mergereq.errors import ConfigError, ForgeError
from send_mergereq.models import MergeRequest, Pipeline, PipelineKind
from send_mergereq.run.clock import Clock, Notify, quiet

if TYPE_CHECKING:
    from send_mergereq.gitlab.forge import Forge

CHILD_SOURCE = "parent_pipeline"
# A branch pipeline's source: the push's is ``push``; ``schedule``, ``api``, ``web``,
# ``trigger`` and a cross-project ``pipeline`` may run on the same ref and sha. A pipeline
# without a source (older GitLab, a basic field set) is taken as the push's.
PUSH_SOURCES = frozenset({"push", "merge_request_event", ""})
OTHER_SOURCE_GRACE = 15.0  # seconds the push's own pipeline is waited for before another
_PREFERENCE = {PipelineKind.MERGED_RESULT: 0, PipelineKind.DETACHED: 1, PipelineKind.BRANCH: 2}


@dataclass(frozen=True)
class Target:
    """What the pipeline must test."""

    iid: int  # the merge request
    branch: str  # its source branch
    head: str  # the pushed commit
    floor: int  # highest pipeline id seen before the push; newer ones have higher ids
    reuse: bool = False  # the push changed nothing: older pipelines for ``head`` count too
    head_pipeline_id: int | None = None  # GitLab's own pick for the MR's current head


def matches_push(pipeline: Pipeline, target: Target) -> bool:
    """Whether ``pipeline`` tests exactly the pushed head of this merge request. A child
    pipeline (``source`` ``parent_pipeline``: same ref and sha as its parent, a higher id)
    is never the gate, should a list include it."""
    if pipeline.source == CHILD_SOURCE:
        return False
    new = pipeline.id > target.floor
    if pipeline.ref == f"refs/merge-requests/{target.iid}/merge":
        return new or (target.reuse and pipeline.id == target.head_pipeline_id)
    if pipeline.ref in (f"refs/merge-requests/{target.iid}/head", target.branch):
        return pipeline.sha == target.head and (new or target.reuse)
    return False


def best(pipelines: Iterable[Pipeline], target: Target) -> Pipeline | None:
    """The pipeline to watch among ``pipelines``: merged results, else detached, else
    branch; the newest of its kind. None when none tests the push."""
    matching = [p for p in pipelines if matches_push(p, target)]
    if not matching:
        return None
    return min(matching, key=lambda p: (_PREFERENCE[p.kind], p.source not in PUSH_SOURCES, -p.id))


def push_choice(
    pipelines: Iterable[Pipeline],
    branch: str,
    sha: str,
    floor: int,
    *,
    reuse: bool,
    waited: float,
) -> Pipeline | None:
    """Push-only mode's pick: the branch pipeline of ``branch`` at exactly ``sha`` created
    after the push (or before it, with ``reuse``), its source ``push`` first (the newest);
    one of another source (a schedule, the API, the web) only once the push's own has not
    come for ``OTHER_SOURCE_GRACE`` seconds. Pure."""
    found = [
        p
        for p in pipelines
        if p.kind is PipelineKind.BRANCH and p.ref == branch and p.sha == sha
        if p.source != CHILD_SOURCE
        if p.id > floor or reuse
    ]
    pushed = [p for p in found if p.source in PUSH_SOURCES]
    if pushed:
        return max(pushed, key=lambda p: p.id)
    if found and waited >= OTHER_SOURCE_GRACE:
        return max(found, key=lambda p: p.id)
    return None


def floor_of(pipelines: Iterable[Pipeline]) -> int:
    """The highest id among ``pipelines`` (0 for none): the line later pipelines cross."""
    return max((p.id for p in pipelines), default=0)


# -- the one poller ---------------------------------------------------------------------

Probe = Callable[[float], "Pipeline | None"]


def poll(
    probe: Probe, *, timeout: float, clock: Clock, notify: Notify, waiting: str
) -> Pipeline | None:
    """Ask ``probe(seconds waited)`` until it gives a pipeline; None once ``timeout`` seconds
    have passed. ``waiting`` is said once, before the first wait."""
    start, delay, said = clock.now(), 1.0, False
    while True:
        found = probe(clock.now() - start)
        if found is not None:
            return found
        waited = clock.now() - start
        if waited >= timeout:
            return None
        if not said:
            notify(waiting)
            said = True
        clock.sleep(min(delay, timeout - waited))
        delay = min(delay * 1.5, 5.0)


# -- merge request mode -------------------------------------------------------------------


@dataclass
class _MrProbe:
    """One look for the pipeline testing ``target``: a merge request pipeline as soon as it
    shows; a branch pipeline only after ``grace`` seconds (an MR pipeline for the same push
    may still come), never while the project runs MR pipelines (merged results on, this MR
    had MR pipelines, or the project has run any)."""

    forge: Forge
    target: Target
    grace: float
    branch: Pipeline | None = None  # the branch pipeline seen last
    expect_mr: bool = False
    decoys: set[int] = field(default_factory=set)
    runs_mr: bool | None = None  # asked once, when a branch pipeline shows first
    grace_end: float | None = None

    def __call__(self, waited: float) -> Pipeline | None:
        forge, target = self.forge, self.target
        mr_pipelines = forge.mr_pipelines(target.iid)
        choice = _verified_best(forge, mr_pipelines, target, self.decoys)
        if choice is not None and choice.kind != PipelineKind.BRANCH:
            return choice
        self.branch = choice or best(forge.branch_pipelines(target.branch, target.head), target)
        self.expect_mr = forge.info.merge_pipelines_enabled or any(
            p.kind != PipelineKind.BRANCH for p in mr_pipelines
        )
        if self.branch is not None and not self.expect_mr:
            self.runs_mr = forge.runs_mr_pipelines() if self.runs_mr is None else self.runs_mr
            self.expect_mr = self.runs_mr
        if self.branch is not None and not self.expect_mr:
            self.grace_end = self.grace_end if self.grace_end is not None else waited + self.grace
            if waited >= self.grace_end:
                return self.branch
        return None


def find_mr_pipeline(
    forge: Forge,
    target: Target,
    *,
    appear_timeout: float = 60.0,
    branch_grace: float = 20.0,
    clock: Clock | None = None,
    notify: Notify = quiet,
) -> tuple[Pipeline, bool]:
    """Wait for the pipeline that tests ``target`` (see ``_MrProbe``); when none comes
    within ``appear_timeout``, take the branch pipeline if the project runs no MR
    pipelines, else ask GitLab to create one. Returns (pipeline, created by us)."""
    probe = _MrProbe(forge, target, branch_grace)
    found = poll(probe, timeout=appear_timeout, clock=clock or Clock(), notify=notify,
                 waiting="waiting for GitLab to create the pipeline …")  # fmt: skip
    if found is not None:
        return found, False
    if probe.branch is not None and not probe.expect_mr:
        return probe.branch, False
    notify(f"no merge request pipeline came for !{target.iid}: asking GitLab for one")
    try:
        return forge.create_mr_pipeline(target.iid), True
    except ForgeError:
        if probe.branch is None:
            raise
        return probe.branch, False


def _verified_best(
    forge: Forge, pipelines: list[Pipeline], target: Target, decoys: set[int]
) -> Pipeline | None:
    """``best`` among ``pipelines``, skipping merged results pipelines whose merge commit
    does not merge ``target.head`` (a late run for an earlier push: its ref says nothing
    of the head it tested); those found are added to ``decoys`` and never read again."""
    while True:
        choice = best((p for p in pipelines if p.id not in decoys), target)
        if choice is None or choice.kind is not PipelineKind.MERGED_RESULT:
            return choice
        if _merges_head(forge, choice.sha, target.head):
            return choice
        decoys.add(choice.id)


def _merges_head(forge: Forge, merge_sha: str, head: str) -> bool:
    """Whether GitLab's merge commit ``merge_sha`` has ``head`` as its merged parent; True
    too when GitLab will not show the commit or fails (landing checks the parents again)."""
    if merge_sha == head:
        return True
    try:
        parents = forge.commit_parents(merge_sha)
    except ForgeError:  # not shown, or GitLab failing: as before this check (never worse)
        return True
    return len(parents) < 2 or head in parents[1:]


# -- push-only mode -------------------------------------------------------------------------


def find_branch_pipeline(
    forge: Forge,
    branch: str,
    sha: str,
    floor: int,
    *,
    reuse: bool,
    timeout: float,
    clock: Clock | None = None,
    notify: Notify = quiet,
) -> Pipeline:
    """The newest pipeline of ``branch`` at exactly ``sha`` created after the push (id above
    ``floor``; an older one too when the push changed nothing), the push's own first
    (``push_choice``). ForgeError after ``timeout``."""

    def probe(waited: float) -> Pipeline | None:
        listed = forge.branch_pipelines(branch, sha)
        return push_choice(listed, branch, sha, floor, reuse=reuse, waited=waited)

    found = poll(probe, timeout=timeout, clock=clock or Clock(), notify=notify,
                 waiting=f"waiting for GitLab to create the pipeline of {branch} …")  # fmt: skip
    if found is None:
        raise ForgeError(
            f"no pipeline for {sha[:12]} on {branch} appeared within {timeout:.0f}s",
            hint="push-only mode gates on the branch pipeline: the project's CI must run "
            "pipelines for pushes to this branch (.gitlab-ci.yml rules / workflow)",
        )
    return found


# -- status: re-attach without pushing ----------------------------------------------------


def current_pipeline(
    forge: Forge,
    which: str,
    branch: str,
    target: str,
    *,
    clock: Clock | None = None,
    notify: Notify = quiet,
) -> tuple[MergeRequest | None, Pipeline]:
    """The merge request (``!IID``, or the open one from ``branch`` into ``target``) and the
    pipeline gating it now; with no merge request, the newest pipeline of ``branch``."""
    mr, head = merge_request_of(forge, which, branch, target)
    return mr, gate_of(forge, mr, head, branch, which, clock=clock, notify=notify)


def merge_request_of(
    forge: Forge, which: str, branch: str, target: str
) -> tuple[MergeRequest | None, Pipeline | None]:
    """The merge request ``which`` names (``!IID``, else the open one from ``branch`` into
    ``target``; None when there is none) and GitLab's head pipeline of it."""
    if which.startswith("!"):
        if not which[1:].isdigit():
            raise ConfigError(f"{which!r} is not a merge request: use !IID, e.g. !42")
        return forge.merge_request(int(which[1:]))
    found = forge.find_open_mr(branch, target)
    if found is None:
        return None, None
    return forge.merge_request(found.iid)


def gate_of(
    forge: Forge,
    mr: MergeRequest | None,
    head: Pipeline | None,
    branch: str,
    which: str,
    *,
    clock: Clock | None = None,
    notify: Notify = quiet,
    hint: str | None = None,
) -> Pipeline:
    """The pipeline gating ``mr`` now (``head``: GitLab's pick); with no merge request, the
    newest pipeline of ``branch`` (``hint``: said when there is none)."""
    if mr is None:
        return _latest_branch_pipeline(forge, branch, which, hint)
    if head is None:
        return _latest(forge, mr)
    return _gate_pipeline(forge, mr, head, clock or Clock(), notify)


def _gate_pipeline(
    forge: Forge, mr: MergeRequest, head: Pipeline, clock: Clock, notify: Notify
) -> Pipeline:
    """GitLab's head pipeline may be the branch pipeline of the MR's head while the project
    runs MR pipelines: then the gate is the MR pipeline of the same push (a newer id); wait
    for it as publishing does, and fall back on the branch pipeline only if none comes."""
    if head.kind is not PipelineKind.BRANCH:
        return head
    target = Target(mr.iid, mr.source_branch, mr.sha, floor=head.id)

    def probe(_waited: float) -> Pipeline | None:
        pipelines = forge.mr_pipelines(mr.iid)
        found = best(pipelines, target)
        if found is not None and found.kind is not PipelineKind.BRANCH:
            return found
        mr_kinds = any(p.kind is not PipelineKind.BRANCH for p in pipelines)
        return None if forge.info.merge_pipelines_enabled or mr_kinds else head

    waiting = f"waiting for GitLab to create the merge request pipeline of !{mr.iid} …"
    return poll(probe, timeout=60.0, clock=clock, notify=notify, waiting=waiting) or head


def _latest_branch_pipeline(
    forge: Forge, branch: str, which: str, hint: str | None = None
) -> Pipeline:
    """No merge request (push-only mode): the newest pipeline of the branch."""
    pipelines = gates(forge.branch_pipelines(branch))
    if not pipelines:
        send = f"send it first: send-mergereq {which}"
        raise ConfigError(
            f"no open merge request and no pipeline for {branch} in {forge.info.path}",
            hint=f"{hint}; {send}" if hint else send,
        )
    return max(pipelines, key=lambda p: p.id)


def _latest(forge: Forge, mr: MergeRequest) -> Pipeline:
    pipelines = gates(forge.mr_pipelines(mr.iid))
    if not pipelines:
        raise ConfigError(
            f"merge request !{mr.iid} has no pipeline yet",
            hint=f"start one by sending again: send-mergereq {mr.source_branch}",
        )
    return max(pipelines, key=lambda p: p.id)


def gates(pipelines: list[Pipeline]) -> list[Pipeline]:
    """Leave out child pipelines: same ref and sha as their parent and a higher id, never
    the gate themselves (the watch follows them through the parent's bridge)."""
    return [p for p in pipelines if p.source != CHILD_SOURCE]
