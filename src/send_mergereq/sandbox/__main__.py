"""``python -m send_mergereq.sandbox``: run the sandbox in the foreground.

Prints where it is, each value labelled (the GitLab URL, its throwaway token, the project
and its repository), and the ``git clone`` command that works: user ``oauth2`` with the
token as the password, handed to git by a credential helper that reads ``GITLAB_TOKEN``,
so that neither the URL nor the clone's ``.git/config`` holds the token. Then serves until
interrupted.
"""

from __future__ import annotations

import argparse
import shlex
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


# git asks a helper for the credentials; this one answers user oauth2 and the token from the
# environment when git runs it (the token is never written to the clone's .git/config).
CREDENTIAL_HELPER = '!f() { echo username=oauth2; echo "password=${GITLAB_TOKEN}"; }; f'


def start_lines(
    url: str,
    token: str,
    project: str,
    repo_url: str,
    *,
    scenario: str,
    time_scale: float,
    seeded: bool = True,
) -> list[str]:
    """What the sandbox says when it is up: each value labelled, then how to clone."""
    clone = shlex.join(["git", "clone", "--config", f"credential.helper={CREDENTIAL_HELPER}",
                        repo_url])  # fmt: skip
    return [
        f"sandbox GitLab is up (scenario {scenario!r}, {time_scale:g}x real time); Ctrl-C stops it",
        f"  GitLab URL:  {url}",
        f"  token:       {token}   (throwaway: this sandbox only; send it as PRIVATE-TOKEN)",
        f"  project:     {project}",
        f"  repository:  {repo_url}",
        "clone it (user oauth2, the token as the password, read from GITLAB_TOKEN; "
        "neither the URL nor .git/config keeps the token):",
        f"  export GITLAB_TOKEN={shlex.quote(token)}",
        f"  {clone}",
        "then, in the clone, with GITLAB_TOKEN set: send-mergereq BRANCH --wait "
        "(it pushes BRANCH and gates it)"
        + ("" if seeded else "; the project is empty: push master first, or start with --readme"),
    ]


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
        seeded: list[int] = []
        if args.readme and sandbox.has_history(info.path_with_namespace):
            seeded = sandbox.seed_history(info.path_with_namespace)  # e.g. scenario tiers
    except ScenarioError as exc:
        sandbox.stop()
        sys.stderr.write(f"error: {exc.message}\n" + (f"hint: {exc.hint}\n" if exc.hint else ""))
        return 2
    lines = start_lines(
        sandbox.url, sandbox.token, info.path_with_namespace, info.http_url_to_repo,
        scenario=args.scenario, time_scale=args.time_scale, seeded=args.readme,
    )  # fmt: skip
    if seeded:
        lines.append(f"  {len(seeded)} past pipelines seeded (the scenario's [history])")
    sys.stdout.write("\n".join(lines) + "\n")
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
