"""The Forge calls bisect needs (issue 22 §2): the pipelines of a commit on any ref, a
pipeline started for a branch, a pipeline canceled. Against recorded GitLab answers."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
import responses
from responses import matchers

import gitlab_api as g
from send_mergereq.errors import ForgeError
from send_mergereq.gitlab.credentials import Secret, Token
from send_mergereq.gitlab.forge import Forge
from send_mergereq.models import PipelineKind

PROJECT_URL = f"{g.API}/projects/{quote(g.PROJECT_PATH, safe='')}"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
    for call in mock.calls:
        assert g.TOKEN not in call.request.url
        assert call.request.headers.get("PRIVATE-TOKEN") == g.TOKEN


@pytest.fixture
def forge(rsps: responses.RequestsMock) -> Forge:
    g.get(rsps, PROJECT_URL, g.project())
    return Forge.connect(g.URL, Token(Secret(g.TOKEN), "GITLAB_TOKEN"), g.PROJECT_PATH)


def test_pipelines_of_a_commit_on_any_ref(rsps: responses.RequestsMock, forge: Forge) -> None:
    g.get(
        rsps,
        f"{g.P}/pipelines",
        [g.pipeline(512, "staging-bisect-2", g.HEAD, "failed"),
         g.pipeline(511, "refs/merge-requests/7/merge", g.HEAD, "success"),
         g.pipeline(510, "master", g.MERGE_SHA)],  # a server that ignored the filter
        sha=g.HEAD, order_by="id", sort="desc", per_page="100",
    )  # fmt: skip
    found = forge.sha_pipelines(g.HEAD)
    assert [(p.id, p.kind) for p in found] == [
        (512, PipelineKind.BRANCH),
        (511, PipelineKind.MERGED_RESULT),
    ]


def test_create_a_branch_pipeline(rsps: responses.RequestsMock, forge: Forge) -> None:
    body = g.pipeline(530, "staging-bisect-1", g.HEAD, "created")
    rsps.post(f"{g.P}/pipeline", status=201, json=body,
              match=[matchers.json_params_matcher({"ref": "staging-bisect-1"})])  # fmt: skip
    created = forge.create_pipeline("staging-bisect-1")
    assert (created.id, created.ref, created.sha, created.status) == (
        530,
        "staging-bisect-1",
        g.HEAD,
        "created",
    )


def test_a_branch_without_ci_config_is_one_forge_error(
    rsps: responses.RequestsMock, forge: Forge
) -> None:
    rsps.post(f"{g.P}/pipeline", status=400,
              json={"message": {"base": ["Missing CI config file"]}})  # fmt: skip
    with pytest.raises(ForgeError, match=r"400 while creating a pipeline for x: .*Missing CI"):
        forge.create_pipeline("x")


def test_cancel_a_pipeline(rsps: responses.RequestsMock, forge: Forge) -> None:
    rsps.post(f"{g.P}/pipelines/530/cancel", json=g.pipeline(530, "b", g.HEAD, "canceled"))
    assert forge.cancel_pipeline(530).status == "canceled"
    assert rsps.calls[-1].request.method == "POST"
