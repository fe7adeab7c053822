"""``send-mergereq check [RANGE]``: the range a CI job checks, from GitLab's variables.

With no RANGE, the range is what the pipeline tests:

1. a merged results pipeline (``CI_MERGE_REQUEST_EVENT_TYPE=merged_result``): the
   merge commit's first parent (the target) to its second parent (the source head);
2. else a merge request pipeline: ``$CI_MERGE_REQUEST_DIFF_BASE_SHA..$CI_COMMIT_SHA``;
3. else a push: ``$CI_COMMIT_BEFORE_SHA..$CI_COMMIT_SHA`` (not on a new branch, where
   GitLab sets the "before" to zeros: pass the range then).

A RANGE is ``A..B``, or one revision ``B`` checked over the target as for ``--dry-run``.
"""

from __future__ import annotations

from collections.abc import Mapping

from send_mergereq.errors import ConfigError

_ZEROS = "0" * 40


def _head(env: Mapping[str, str]) -> str:
    return env.get("CI_COMMIT_SHA") or "HEAD"


def default_range(env: Mapping[str, str]) -> tuple[str, str]:
    """``(target, branch)`` revisions for the pipeline described by ``env``."""
    if env.get("CI_MERGE_REQUEST_EVENT_TYPE") == "merged_result":
        head = _head(env)
        return f"{head}^1", f"{head}^2"
    base = env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA")
    if base:
        return base, _head(env)
    before = env.get("CI_COMMIT_BEFORE_SHA")
    if before and before.strip("0"):
        return before, _head(env)
    raise ConfigError(
        "no range to check: not a merge request pipeline, and no previous push "
        "(CI_COMMIT_BEFORE_SHA is unset or zeros)",
        hint="pass the range: send-mergereq check origin/master..HEAD",
    )


def parse_range(text: str | None, env: Mapping[str, str]) -> tuple[str | None, str]:
    """``(target or None for the default target, branch)`` for ``check [RANGE]``."""
    if text is None:
        return default_range(env)
    target, dots, branch = text.partition("..")
    if dots and (branch.startswith(".") or not target or not branch):
        raise ConfigError(f"range {text!r}: expected A..B (two dots) or one revision")
    return (target, branch) if dots else (None, text)
