"""``send-mergereq eject``: rebuild a staging branch without one pull request."""

from __future__ import annotations

from typing import Any

import click

from send_mergereq.cli.options import EPILOG, common_options, settings


@click.command(epilog=EPILOG)
@click.argument("which", metavar="TAG|SHA")
@click.argument("branch", default="staging")
@common_options
def eject(*, which: str, branch: str, **values: Any) -> int:
    """Rebuild BRANCH, locally, as the target plus every pull request but TAG|SHA.

    \b
    The pull requests before it keep their commits; each later merge is remade
    from the same tag (its mergetag and message kept, signed when the config
    signs) with apply's merge code. One that now conflicts is left out and
    named (exit 8 when nothing could be rebuilt). The branch moves by
    compare-and-swap; a checked-out clean work tree follows it, a dirty one is
    refused. Nothing is pushed: send the branch again (send-mergereq BRANCH).
    """
    from send_mergereq.bisect.ejection import eject as run_eject
    from send_mergereq.output import Output

    said = settings(branch, values)
    out = Output(as_json=values["as_json"], color=values["color"])
    done = run_eject(said.repo, said.target, branch, which)
    for line in done.lines():
        out.say(line)
    if out.as_json:
        out.document({**done.document(), "exit_code": int(done.exit_code)})
    return int(done.exit_code)
