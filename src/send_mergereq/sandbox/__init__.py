"""A small GitLab-compatible server on loopback, behind ``send-mergereq demo`` and the tests.

Standard library only: ``http.server`` for REST v4 and ``git http-backend`` for git smart
HTTP, so it starts in well under a second. Field names, status values, pagination headers
and error bodies follow GitLab's REST API documentation. Pipelines come from scenario files
(``scenarios/*.toml``) and advance on a virtual clock, computed lazily on each request.

Use::

    from send_mergereq.sandbox import Sandbox

    with Sandbox(time_scale=600) as sandbox:          # 10 virtual minutes per real second
        project = sandbox.create_project("group/proj", scenario="red")
        # git push: remote project.http_url_to_repo, token as the password, as a
        #   "PRIVATE-TOKEN" header, or "Authorization: Bearer <token>" (http.extraHeader)
        # python-gitlab: gitlab.Gitlab(sandbox.url, private_token=sandbox.token)
        sandbox.advance(600)                           # deterministic time (time_scale=0)
        sandbox.inject_fault("502", match="/jobs", count=3)
        sandbox.move_target("group/proj")              # someone else lands on master
        [r for r in sandbox.request_log if r.kind == "api"]

Run it by hand: ``python -m send_mergereq.sandbox --port 0 --scenario red`` prints
``URL TOKEN REPO_URL`` on one line and serves until interrupted.
"""

from send_mergereq.sandbox.app import ProjectInfo, Sandbox, new_token
from send_mergereq.sandbox.reqlog import RequestRecord
from send_mergereq.sandbox.scenarios import Scenario, available_scenarios, load_scenario

__all__ = [
    "ProjectInfo",
    "RequestRecord",
    "Sandbox",
    "Scenario",
    "available_scenarios",
    "load_scenario",
    "new_token",
]
