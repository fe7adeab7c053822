"""The resume hint is the run's own state: a second run in the same process never says
the first one's command (it was a module-global list, never cleared)."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from send_mergereq import cli


def _interrupted(*args: Any, **kwargs: Any) -> Any:
    raise KeyboardInterrupt


def _run(repo: Any, *args: str) -> tuple[int, str]:
    with CliRunner().isolation() as (_, err, _):
        code = cli.run(["-C", str(repo.path), *args])
    return code, err.getvalue().decode()


def test_the_rerun_hint_belongs_to_its_run(make_repo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo()
    repo.commit("A commit")
    monkeypatch.setattr("send_mergereq.run.check.check_phase", _interrupted)
    code, err = _run(repo, "staging", "--dry-run")
    assert code == 130
    assert "nothing was sent: run it again with: send-mergereq -C " in err
    assert err.rstrip().endswith("staging --dry-run")
    code, err = _run(repo, "check", "master..staging")  # CI: nothing to resume or rerun
    assert code == 130
    assert err.strip() == "send-mergereq: interrupted"
