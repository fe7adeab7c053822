"""Helpers for the sandbox tests: python-gitlab set up like a user's code, git with the
token in its environment, a local repository wired to a sandbox project."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Any

import gitlab

from send_mergereq.sandbox import ProjectInfo, Sandbox


def client(sb: Sandbox, **options: Any) -> gitlab.Gitlab:
    """python-gitlab the way a user's code sets it up (it obeys 429s by default)."""
    settings = {"retry_transient_errors": True, **options}
    return gitlab.Gitlab(sb.url, private_token=sb.token, **settings)


def token_env(token: str, header: str = "Authorization: Bearer {}") -> dict[str, str]:
    """git's environment carrying the token as an extra HTTP header (never in argv)."""
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": header.format(token),
    }


@dataclass
class Pusher:
    """A local repository (``master`` + ``staging``) wired to a sandbox project."""

    repo: Any  # tests/conftest.py Repo
    project: ProjectInfo
    env: dict[str, str]

    def push(self, *refspecs: str) -> str:
        return self.repo.git("push", "-q", self.project.http_url_to_repo, *refspecs, env=self.env)

    def remote_git(self, *args: str) -> str:
        """git in the project's bare repository on the sandbox side."""
        out = subprocess.run(
            ["git", "--git-dir", str(self.project.repo_path), *args],
            capture_output=True,
            text=True,
            check=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("GIT_DIR")},
        )
        return out.stdout.strip()
