"""``python -m send_mergereq.sandbox``: run the sandbox in the foreground.

Prints ``URL TOKEN REPO_URL`` on one line (handy in tmux: ``read URL TOKEN REPO``), then
serves until interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from send_mergereq.sandbox.app import Sandbox
from send_mergereq.sandbox.errors import ScenarioError
from send_mergereq.sandbox.scenarios import available_scenarios


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m send_mergereq.sandbox",
        description="A GitLab-compatible sandbox on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--scenario",
        default="green",
        help="a scenario name or .toml file: " + ", ".join(available_scenarios()),
    )
    parser.add_argument("--project", default="sandbox/demo", help="project path to create")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=20.0,
        help="virtual seconds per real second (default 20)",
    )
    parser.add_argument("--token", default=None, help="token to accept (default: random)")
    parser.add_argument("--merge-method", default="merge", choices=("merge", "rebase_merge", "ff"))
    parser.add_argument(
        "--no-merged-results",
        action="store_true",
        help="detached MR pipelines instead of merged results",
    )
    parser.add_argument("--branch-pipelines", action="store_true")
    parser.add_argument(
        "--mr-pipeline-delay",
        type=float,
        default=None,
        metavar="SECONDS",
        help="virtual seconds until a merge request's pipeline appears (default: the scenario's)",
    )
    parser.add_argument("--readme", action="store_true", help="seed master with a README commit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sandbox = Sandbox(time_scale=args.time_scale, token=args.token, host=args.host, port=args.port)
    try:
        sandbox.start()
        info = sandbox.create_project(
            args.project,
            scenario=args.scenario,
            merge_method=args.merge_method,
            merge_pipelines_enabled=not args.no_merged_results,
            branch_pipelines=args.branch_pipelines,
            mr_pipeline_delay=args.mr_pipeline_delay,
            initialize_with_readme=args.readme,
        )
    except ScenarioError as exc:
        sandbox.stop()
        sys.stderr.write(f"error: {exc.message}\n" + (f"hint: {exc.hint}\n" if exc.hint else ""))
        return 2
    sys.stdout.write(f"{sandbox.url} {sandbox.token} {info.http_url_to_repo}\n")
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
