"""The one ``--json`` document of an ``apply`` run, built once from its result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from send_mergereq.apply.outcome import ApplyResult, PullOutcome, Result


def to_json(
    result: ApplyResult, *, passed_over: Sequence[str] = (), replies: Sequence[str] = ()
) -> dict[str, Any]:
    return {
        "command": "apply",
        "dry_run": result.dry_run,
        "branch": result.branch,
        "target": result.target,
        "branch_before": result.branch_before,
        "branch_after": result.branch_after,
        "afresh": result.afresh,
        "pulls": [_pull(p) for p in result.pulls],
        "counts": {str(r): result.count(r) for r in Result},
        "passed_over": list(passed_over),
        "replies": list(replies),
        "exit_code": int(result.exit_code),
    }


def _pull(outcome: PullOutcome) -> dict[str, Any]:
    pull = outcome.pull
    return {
        "source": pull.source,
        "url": pull.url,
        "tag": pull.tag,
        "signer": outcome.signer or None,
        "tagged": outcome.tagged or None,
        "base": pull.base,
        "head": pull.head,
        "commits": outcome.commits,
        "findings": [
            {
                "check": f.check,
                "severity": str(f.severity),
                "commit": f.commit,
                "subject": outcome.subjects.get(f.commit, ""),
                "message": f.message,
                "hint": f.hint,
            }
            for f in outcome.findings
        ],
        "result": str(outcome.result),
        "reason": outcome.reason,
        "hint": outcome.hint,
        "conflicts": list(outcome.conflicts),
        "merge_sha": outcome.merge_sha,
        "notices": list(outcome.notices),
        "message_id": outcome.pull.mail.message_id if outcome.pull.mail else None,
    }
