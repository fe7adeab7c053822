"""``send-mergereq check`` in a CI job: which commits, and whose policy (issue 25 §2, issue 20
§4).

A real GitLab-like setup: a bare "server" repository the developer pushes to, and the job's
clone made as GitLab's runner makes it (``git init``, ``origin``, the pipeline's refspecs
``+refs/pipelines/ID`` and ``+refs/heads/BRANCH:refs/remotes/origin/BRANCH``, a detached
checkout), then the README job's ``git fetch origin "$CI_DEFAULT_BRANCH:refs/remotes/…"``.
The variables are the ones GitLab sets for each kind of pipeline (docs.gitlab.com/ci/variables/
predefined_variables): in a branch pipeline ``CI_COMMIT_BRANCH``, ``CI_DEFAULT_BRANCH``,
``CI_COMMIT_BEFORE_SHA`` (zeros on a branch's first push); in a merge request pipeline
``CI_MERGE_REQUEST_TARGET_BRANCH_NAME``, ``CI_MERGE_REQUEST_DIFF_BASE_SHA``,
``CI_MERGE_REQUEST_EVENT_TYPE`` and a zero ``CI_COMMIT_BEFORE_SHA``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from gitrepo import Repo, run_git
from send_mergereq import cli

ZEROS = "0" * 40
# every variable this module sets somewhere: unset unless a pipeline sets it
CI_VARIABLES = (
    "CI", "GITLAB_CI", "CI_PIPELINE_SOURCE", "CI_COMMIT_SHA", "CI_COMMIT_BEFORE_SHA",
    "CI_COMMIT_BRANCH", "CI_COMMIT_REF_NAME", "CI_DEFAULT_BRANCH",
    "CI_MERGE_REQUEST_EVENT_TYPE", "CI_MERGE_REQUEST_DIFF_BASE_SHA",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
    "CI_MERGE_REQUEST_TARGET_BRANCH_SHA", "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA",
)  # fmt: skip
EVERYTHING_OFF = """\
[checks.utf8]
severity = "off"
[checks.list-address]
severity = "off"
[checks.signed-tags]
severity = "off"
[checks.signoff]
severity = "off"
"""
POLICY = ".send-mergereq.toml"


@dataclass
class Project:
    """The server's repository, a developer's clone of it, and pipelines run on it."""

    server: Path
    dev: Repo
    root: Path
    pipelines: int = 0

    def push(self, *refspecs: str) -> None:
        self.dev.git("push", "-q", "origin", *refspecs)

    def job_clone(self, branch_ref: str, sha: str, *, fetch_default: str | None) -> Path:
        """The job's clone as GitLab's runner makes it, then the README job's fetch."""
        self.pipelines += 1
        clone = self.root / f"job{self.pipelines}"
        run_git(self.server, "update-ref", f"refs/pipelines/{self.pipelines}", sha)
        run_git(self.root, "init", "-q", str(clone))
        run_git(clone, "remote", "add", "origin", str(self.server))
        refspecs = [f"+refs/pipelines/{self.pipelines}:refs/pipelines/{self.pipelines}"]
        if branch_ref:
            refspecs.append(f"+{branch_ref}:refs/remotes/origin/{branch_ref.rsplit('/', 1)[1]}")
        run_git(clone, "fetch", "-q", "origin", *refspecs)
        run_git(clone, "checkout", "-q", "--detach", sha)
        if fetch_default:  # as the README's job does
            tracking = f"refs/remotes/origin/{fetch_default}"
            run_git(clone, "fetch", "-q", "origin", f"{fetch_default}:{tracking}")
        return clone


def project(make_repo: Any, tmp_path: Path) -> Project:
    dev: Repo = make_repo("dev")
    server = tmp_path / "server.git"
    run_git(tmp_path, "init", "-q", "--bare", str(server))
    dev.git("remote", "add", "origin", str(server))
    dev.git("push", "-q", "origin", "master")
    return Project(server, dev, tmp_path)


def branch_pipeline(branch: str, sha: str, before: str, default: str = "master") -> dict[str, Any]:
    env: dict[str, Any] = dict.fromkeys(CI_VARIABLES)
    env |= {
        "CI": "true", "GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push",
        "CI_COMMIT_SHA": sha, "CI_COMMIT_BEFORE_SHA": before, "CI_COMMIT_BRANCH": branch,
        "CI_COMMIT_REF_NAME": branch, "CI_DEFAULT_BRANCH": default,
    }  # fmt: skip
    return env


def check(clone: Path, env: dict[str, Any], *args: str) -> tuple[int, str, str]:
    with CliRunner(env=env).isolation() as (out, err, _):
        code = cli.run(["-C", str(clone), "check", *args])
    return code, out.getvalue().decode(), err.getvalue().decode()


def add_policy(repo: Repo, text: str) -> str:
    (repo.path / POLICY).write_text(text)
    repo.git("add", POLICY)
    repo.git("commit", "-q", "--no-gpg-sign", "-m", "Relax the policy\n\nSigned-off-by: A <a@b>")
    return repo.head()


def bad_commits(repo: Repo) -> str:
    repo.commit("No sign-off here", signoff=None)
    return repo.commit("From the list", author="Ada via Qemu-devel <qemu-devel@nongnu.org>")


def test_a_push_that_relaxes_the_policy_does_not_relax_the_next_push(
    make_repo: Any, tmp_path: Path
) -> None:
    p = project(make_repo, tmp_path)
    first = add_policy(p.dev, EVERYTHING_OFF)
    p.push("staging")  # push 1: the branch turns every check off for itself
    second = bad_commits(p.dev)
    p.push("staging")  # push 2: its bad commits
    clone = p.job_clone("refs/heads/staging", second, fetch_default="master")
    junit = tmp_path / "junit.xml"

    code, out, err = check(
        clone, branch_pipeline("staging", second, first), "--json", "--report", f"junit={junit}"
    )

    assert code == 3, err
    doc = json.loads(out)
    assert doc["commits"] == 2 and doc["range"]["target_sha"] == first
    assert {f["check"] for f in doc["findings"]} == {"signoff", "list-address"}
    master = p.dev.git("rev-parse", "master")
    assert doc["policy"] == {
        "file": f"refs/remotes/origin/master:{POLICY}",
        "commit": master,
        "found": False,
        "why": "the project's default branch master (CI_DEFAULT_BRANCH)",
    }
    said = (
        f"policy: none in refs/remotes/origin/master:{POLICY} at {master[:12]}: the profile "
        "alone, from the project's default branch master (CI_DEFAULT_BRANCH)"
    )
    assert said in err.splitlines()  # the human report (on stderr under --json)
    properties = ET.parse(junit).getroot().findall("testsuite/properties/property")
    assert properties and {p.get("value") for p in properties} == {said.removeprefix("policy: ")}


def test_the_default_branch_policy_applies_not_the_branch_one(
    make_repo: Any, tmp_path: Path
) -> None:
    """The default branch has a policy (sign-off only a warning); the branch's relaxation
    of everything else is not read."""
    p = project(make_repo, tmp_path)
    p.dev.git("checkout", "-q", "master")
    add_policy(p.dev, '[checks.signoff]\nseverity = "warning"\n')
    p.push("master")
    p.dev.git("checkout", "-q", "staging")
    p.dev.git("merge", "-q", "--ff-only", "master")
    first = add_policy(p.dev, EVERYTHING_OFF)
    p.push("staging")
    second = bad_commits(p.dev)
    p.push("staging")
    clone = p.job_clone("refs/heads/staging", second, fetch_default="master")

    code, out, _ = check(clone, branch_pipeline("staging", second, first), "--json")

    doc = json.loads(out)
    assert code == 3
    assert {(f["check"], f["severity"]) for f in doc["findings"]} == {
        ("signoff", "warning"), ("list-address", "error")
    }  # fmt: skip
    assert doc["policy"]["found"] is True


def test_the_first_push_of_a_new_branch_checks_what_it_adds_over_the_default_branch(
    make_repo: Any, tmp_path: Path
) -> None:
    p = project(make_repo, tmp_path)
    p.dev.git("checkout", "-q", "-b", "feature")
    added = [p.dev.commit("One"), p.dev.commit("Two")]
    p.push("feature")
    clone = p.job_clone("refs/heads/feature", added[-1], fetch_default="master")

    code, out, err = check(clone, branch_pipeline("feature", added[-1], ZEROS), "--json")

    assert code == 0, err
    doc = json.loads(out)
    assert doc["commits"] == 2
    assert doc["range"]["target"] == "refs/remotes/origin/master"
    assert doc["range"]["target_sha"] == p.dev.git("rev-parse", "master")
    assert doc["range"]["branch_sha"] == added[-1]

    # the same first push with a relaxing policy and bad commits among what it adds
    add_policy(p.dev, EVERYTHING_OFF)
    head = bad_commits(p.dev)
    p.dev.git("push", "-q", "origin", "feature:other")
    clone = p.job_clone("refs/heads/other", head, fetch_default="master")
    code, out, _ = check(clone, branch_pipeline("other", head, ZEROS), "--json")
    assert code == 3
    assert json.loads(out)["commits"] == 5


def test_a_first_push_without_the_default_branch_fetched_says_how_to_fetch_it(
    make_repo: Any, tmp_path: Path
) -> None:
    """The hinted fetch writes origin/master even in a clone without the default fetch
    refspec (where ``git fetch origin master`` writes FETCH_HEAD alone)."""
    p = project(make_repo, tmp_path)
    head = p.dev.commit("One")
    p.push("staging")
    clone = p.job_clone("refs/heads/staging", head, fetch_default=None)
    run_git(clone, "config", "--unset-all", "remote.origin.fetch")

    code, _, err = check(clone, branch_pipeline("staging", head, ZEROS))

    assert code == 2
    hinted = "git fetch origin master:refs/remotes/origin/master"
    assert err.splitlines() == [
        "send-mergereq: cannot read the policy from the project's default branch master "
        "(CI_DEFAULT_BRANCH): refs/remotes/origin/master is not in this clone",
        f"hint: fetch it in the job first: {hinted} (the README's CI job)",
    ]
    run_git(clone, "fetch", "-q", "origin", "master")  # FETCH_HEAD alone, here
    assert check(clone, branch_pipeline("staging", head, ZEROS))[0] == 2
    run_git(clone, *hinted.split()[1:])
    code, out, err = check(clone, branch_pipeline("staging", head, ZEROS), "--json")
    assert code == 0, err
    assert json.loads(out)["policy"]["file"] == f"refs/remotes/origin/master:{POLICY}"
    assert json.loads(out)["commits"] == 1


def test_a_local_branch_named_as_the_default_one_is_no_policy_source(
    make_repo: Any, tmp_path: Path
) -> None:
    """A job's script can make a local ``master`` at the previous push, which relaxed the
    policy: only origin/master, as the job fetched it, is read."""
    p = project(make_repo, tmp_path)
    p.dev.git("checkout", "-q", "-b", "feature")
    relaxed = add_policy(p.dev, EVERYTHING_OFF)
    head = bad_commits(p.dev)
    p.push("feature")
    clone = p.job_clone("refs/heads/feature", head, fetch_default=None)
    run_git(clone, "branch", "master", relaxed)

    code, _, err = check(clone, branch_pipeline("feature", head, ZEROS))

    assert code == 2, err
    assert "refs/remotes/origin/master is not in this clone" in err
    assert "refs/heads/master" not in err


def test_a_push_to_the_default_branch_is_checked_with_its_policy_before_the_push(
    make_repo: Any, tmp_path: Path
) -> None:
    p = project(make_repo, tmp_path)
    p.dev.git("checkout", "-q", "master")
    before = p.dev.head()
    add_policy(p.dev, EVERYTHING_OFF)
    head = bad_commits(p.dev)
    p.push("master")
    clone = p.job_clone("refs/heads/master", head, fetch_default="master")

    code, out, _ = check(clone, branch_pipeline("master", head, before), "--json")

    assert code == 3
    doc = json.loads(out)
    assert doc["policy"]["file"] == f"{before}:{POLICY}"
    assert doc["policy"]["why"] == (
        "the default branch master before this push (CI_COMMIT_BEFORE_SHA)"
    )


def mr_pipeline(target: str, base: str, sha: str, event: str) -> dict[str, Any]:
    env: dict[str, Any] = dict.fromkeys(CI_VARIABLES)
    env |= {
        "CI": "true", "GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_COMMIT_SHA": sha, "CI_COMMIT_BEFORE_SHA": ZEROS, "CI_DEFAULT_BRANCH": "master",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": target, "CI_MERGE_REQUEST_DIFF_BASE_SHA": base,
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "staging", "CI_MERGE_REQUEST_EVENT_TYPE": event,
    }  # fmt: skip
    return env


def test_a_merge_request_pipeline_reads_the_policy_of_its_target(
    make_repo: Any, tmp_path: Path
) -> None:
    p = project(make_repo, tmp_path)
    base = p.dev.git("rev-parse", "master")
    add_policy(p.dev, EVERYTHING_OFF)
    head = bad_commits(p.dev)
    p.push("staging")
    p.push("staging:refs/merge-requests/1/head")

    # a detached pipeline: the MR's head; the target as the job fetched it, else the base
    for fetch in ("master", None):
        clone = p.job_clone("refs/merge-requests/1/head", head, fetch_default=fetch)
        code, out, _ = check(clone, mr_pipeline("master", base, head, "detached"), "--json")
        assert code == 3
        doc = json.loads(out)
        assert doc["commits"] == 3
        ref = "refs/remotes/origin/master" if fetch else base
        assert doc["policy"]["file"] == f"{ref}:{POLICY}"
        assert doc["policy"]["commit"] == base

    # a merged results pipeline: the merge commit GitLab made; the target is its first parent
    p.dev.git("checkout", "-q", "master")
    p.dev.commit("Target moved", filename="other")
    p.dev.git("merge", "-q", "--no-ff", "--no-edit", "staging")
    merge = p.dev.head()
    p.push(f"{merge}:refs/merge-requests/1/merge")
    clone = p.job_clone("refs/merge-requests/1/merge", merge, fetch_default=None)
    code, out, _ = check(clone, mr_pipeline("master", base, merge, "merged_result"), "--json")
    assert code == 3
    doc = json.loads(out)
    assert doc["policy"]["file"] == f"{merge}^1:{POLICY}"
    assert doc["policy"]["commit"] == p.dev.git("rev-parse", f"{merge}^1")


def test_a_policy_source_among_the_commits_under_check_is_refused(
    make_repo: Any, tmp_path: Path
) -> None:
    """Variables that would make the policy come from a commit the push adds (the default
    branch said to be one the pushed branch contains) are a usage error, not a policy."""
    p = project(make_repo, tmp_path)
    before = p.dev.git("rev-parse", "master")
    add_policy(p.dev, EVERYTHING_OFF)
    p.push("staging")
    head = bad_commits(p.dev)
    p.dev.git("push", "-q", "origin", "HEAD:refs/heads/feature")
    clone = p.job_clone("refs/heads/feature", head, fetch_default="staging")

    code, _, err = check(clone, branch_pipeline("feature", head, before, default="staging"))

    assert code == 2
    assert "is a commit of the range under check" in err
    assert "a branch does not set its own policy" in err


def test_the_readme_job_script_passes_on_a_new_branch_first_push(
    make_repo: Any, tmp_path: Path
) -> None:
    """The README's job, its two script lines run by a shell as the runner runs them, with
    the installed CLI, on the first push of a new branch; in a clone without the default
    fetch refspec too (its fetch names where the branch goes)."""
    import os
    import subprocess
    import sys

    p = project(make_repo, tmp_path)
    p.dev.git("checkout", "-q", "-b", "topic")
    head = p.dev.commit("One")
    p.push("topic")
    clone = p.job_clone("refs/heads/topic", head, fetch_default=None)
    run_git(clone, "config", "--unset-all", "remote.origin.fetch")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CI_")}
    env |= {k: v for k, v in branch_pipeline("topic", head, ZEROS).items() if v is not None}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    job = readme[readme.index("  script:\n") :].split("\n  artifacts:")[0]
    script = "".join(line.removeprefix("    - ") + "\n" for line in job.splitlines()[1:])
    script = "\n".join(line for line in script.splitlines() if not line.startswith("    #"))
    assert script.splitlines() == [
        'git fetch origin "$CI_DEFAULT_BRANCH:refs/remotes/origin/$CI_DEFAULT_BRANCH"',
        "send-mergereq check --report junit=conformance.xml --report codequality=conformance.json",
    ]

    done = subprocess.run(
        ["sh", "-e", "-c", script], cwd=clone, env=env, capture_output=True, text=True, check=False
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "checks passed: 1 commit in refs/remotes/origin/master.." in done.stdout
    assert (
        "policy: none in refs/remotes/origin/master:.send-mergereq.toml at "
        f"{p.dev.git('rev-parse', 'master')[:12]}: the profile alone, from the project's "
        "default branch master (CI_DEFAULT_BRANCH)"
    ) in done.stdout.splitlines()
    assert json.loads((clone / "conformance.json").read_text()) == []
    assert ET.parse(clone / "conformance.xml").getroot().get("tests") != "0"


def test_ci_variables_that_look_like_options_reach_git_only_as_revisions(
    make_repo: Any, tmp_path: Path
) -> None:
    p = project(make_repo, tmp_path)
    head = p.dev.commit("One")
    p.push("staging")
    clone = p.job_clone("refs/heads/staging", head, fetch_default="master")
    canary = tmp_path / "written"

    code, _, err = check(clone, branch_pipeline("staging", head, f"--output={canary}"))
    assert code == 2 and "is not a ref" in err, err
    code, _, err = check(clone, branch_pipeline(f"--output={canary}", head, ZEROS, f"-{canary}"))
    assert code == 2 and "cannot read the policy" in err, err
    assert not canary.exists()
