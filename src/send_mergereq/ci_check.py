"""``send-mergereq check [RANGE]``: the range a CI job checks, and the branch its policy
comes from, from GitLab's predefined variables.

With no RANGE, the range is what the pipeline tests:

1. a merged results pipeline (``CI_MERGE_REQUEST_EVENT_TYPE=merged_result``): the
   merge commit's first parent (the target) to its second parent (the source head);
2. else a merge request pipeline: ``$CI_MERGE_REQUEST_DIFF_BASE_SHA..$CI_COMMIT_SHA``;
3. else a push: ``$CI_COMMIT_BEFORE_SHA..$CI_COMMIT_SHA``; on a new branch's first push
   (GitLab sets the "before" to zeros) the commits it adds over the project's default
   branch, ``origin/$CI_DEFAULT_BRANCH`` as the job fetched it.

The policy (``.send-mergereq.toml``) is never read from a commit of the branch under
check, nor from the branch's previous push (``CI_COMMIT_BEFORE_SHA`` is that branch's own
earlier head: a push could relax the policy for the next one). It comes from the merge
request's target (``CI_MERGE_REQUEST_TARGET_BRANCH_NAME``: the merged results commit's
first parent, else ``origin/TARGET``, else the diff's base), or in a push pipeline from
the project's default branch (``origin/$CI_DEFAULT_BRANCH`` only, as the job fetched it: a
local branch of that name could be anything the job's script made, the previous push
included; for a push to the default branch itself, its head before the push).
``policy_source`` picks the first candidate the clone has and refuses one that is a
commit under check.

A RANGE is ``A..B`` (the policy from ``A``, the target), or one revision ``B`` checked
over the target as for ``--dry-run``.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from send_mergereq import git
from send_mergereq.errors import ConfigError

REMOTE = "origin"  # the remote a GitLab runner's clone has


@dataclass(frozen=True)
class PolicySource:
    """A revision ``.send-mergereq.toml`` may be read from, and why, in words."""

    ref: str
    why: str


@dataclass(frozen=True)
class CheckRange:
    """What ``check`` checks: ``base..branch`` (``base`` None: the target), and where
    the policy comes from (the first of ``policy`` the clone has; none: the target, which
    is ``target`` for an ``A..B`` given, else the one configured)."""

    base: str | None
    branch: str
    policy: tuple[PolicySource, ...] = ()
    target: str | None = None


def _head(env: Mapping[str, str]) -> str:
    return env.get("CI_COMMIT_SHA") or "HEAD"


def _tracking(branch: str) -> str:
    return f"refs/remotes/{REMOTE}/{branch}"


def default_range(env: Mapping[str, str]) -> CheckRange:
    """The range and policy sources for the pipeline described by ``env``."""
    head = _head(env)
    target = env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "").strip()
    said = f"the merge request's target {target}" if target else "the merge request's target"
    named = f"{said} (CI_MERGE_REQUEST_TARGET_BRANCH_NAME)"
    by_name = (PolicySource(_tracking(target), named),) if target else ()
    if env.get("CI_MERGE_REQUEST_EVENT_TYPE") == "merged_result":
        first = PolicySource(f"{head}^1", f"{said}, the merged results commit's first parent")
        return CheckRange(f"{head}^1", f"{head}^2", (first, *by_name))
    base = env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA")
    if base:
        at_base = PolicySource(base, f"{said} at the diff's base (CI_MERGE_REQUEST_DIFF_BASE_SHA)")
        return CheckRange(base, head, (*by_name, at_base))
    return _push_range(env, head)


def _push_range(env: Mapping[str, str], head: str) -> CheckRange:
    before = env.get("CI_COMMIT_BEFORE_SHA", "").strip()
    before = before if before.strip("0") else ""
    default = env.get("CI_DEFAULT_BRANCH", "").strip()
    if default and before and env.get("CI_COMMIT_BRANCH") == default:
        why = f"the default branch {default} before this push (CI_COMMIT_BEFORE_SHA)"
        return CheckRange(before, head, (PolicySource(before, why),))
    if default:  # the base of a new branch's first push: the policy's branch itself (None)
        why = f"the project's default branch {default} (CI_DEFAULT_BRANCH)"
        return CheckRange(before or None, head, (PolicySource(_tracking(default), why),))
    if before:  # not GitLab's variables (it always sets CI_DEFAULT_BRANCH): the target
        return CheckRange(before, head)
    raise ConfigError(
        "no range to check: not a merge request pipeline, no previous push "
        "(CI_COMMIT_BEFORE_SHA is unset or zeros) and no CI_DEFAULT_BRANCH",
        hint="pass the range: send-mergereq check origin/master..HEAD",
    )


def parse_range(text: str | None, env: Mapping[str, str]) -> CheckRange:
    """What ``check [RANGE]`` checks: RANGE, else the pipeline's range (``default_range``)."""
    if text is None:
        return default_range(env)
    target, dots, branch = text.partition("..")
    if dots and (branch.startswith(".") or not target or not branch):
        raise ConfigError(f"range {text!r}: expected A..B (two dots) or one revision")
    return CheckRange(target, branch, target=target) if dots else CheckRange(None, text)


def policy_source(repo: Path, rng: CheckRange) -> PolicySource | None:
    """The first of ``rng.policy`` this clone has (None when the range names none: the
    target's policy then). A ConfigError when it has none of them, or when the one it
    has is a commit under check (the branch would set its own policy)."""
    if not rng.policy:
        return None
    found = next((s for s in rng.policy if git.resolve_commit(repo, s.ref)), None)
    if found is None:
        names = " or ".join(s.ref for s in rng.policy)
        names = f"none of {names} is" if len(rng.policy) > 1 else f"{names} is not"
        first = rng.policy[0].ref
        wanted = first.removeprefix(f"refs/remotes/{REMOTE}/")
        if wanted != first:  # the refspec writes the tracking ref in any clone
            wanted = shlex.quote(f"{wanted}:{first}")
        raise ConfigError(
            f"cannot read the policy from {rng.policy[0].why}: {names} in this clone",
            hint=f"fetch it in the job first: git fetch {REMOTE} {wanted} (the README's CI job)",
        )
    base = rng.base or found.ref
    commit = git.resolve_commit(repo, found.ref) or ""
    base_commit = git.resolve_commit(repo, base)  # none: the range is refused when resolved
    if base_commit and _adds(repo, rng.branch, base_commit, commit):
        raise ConfigError(
            f"the policy's source {found.ref} ({found.why}) is a commit of the range under "
            f"check ({base}..{rng.branch}): a branch does not set its own policy",
            hint="check the CI variables, or pass the range with its target: "
            "send-mergereq check origin/master..HEAD",
        )
    return found


def _adds(repo: Path, branch: str, base: str, commit: str) -> bool:
    """Whether ``commit`` is one ``base..branch`` adds (reachable from branch, not from
    base); ``commit`` and ``base`` are ids, ``branch`` (a CI variable) comes after
    ``--end-of-options``."""
    reached = git.run(repo, "merge-base", "--is-ancestor", "--end-of-options", commit, branch)
    return reached.returncode == 0 and not git.adds_nothing(repo, commit, base)
