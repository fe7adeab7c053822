"""``Forge``'s merge-train calls (issue 24; GitLab's ee/lib/api/merge_trains.rb): add a
merge request to the train with the tested ``sha``, read its car back, the car's pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import gitlab.exceptions as glexc

from send_mergereq.errors import TransientForgeError, sanitize_text
from send_mergereq.gitlab import entities
from send_mergereq.gitlab.entities import TrainCar
from send_mergereq.gitlab.forge_landing import REFUSALS
from send_mergereq.gitlab.forge_pipelines import ONCE, WATCH_READ
from send_mergereq.gitlab.refusals import refusal_reason
from send_mergereq.models import Pipeline

if TYPE_CHECKING:
    import gitlab

    from send_mergereq.gitlab.entities import ProjectInfo


class MergeRefused(Exception):
    """GitLab refused to add the MR to the merge train; ``reason`` is one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TrainCalls:
    """The merge-train calls of one project (mixed into ``Forge``, which has the client,
    its info, ``_api`` and ``_pipeline``)."""

    gl: gitlab.Gitlab
    info: ProjectInfo

    if TYPE_CHECKING:  # Forge's own

        def _api(self, what: str) -> Any: ...

        def _pipeline(self, attrs: Mapping[str, Any]) -> Pipeline: ...

    def _train_path(self, iid: int) -> str:
        return f"/projects/{self.info.id}/merge_trains/merge_requests/{iid}"

    def add_to_merge_train(self, iid: int, sha: str) -> TrainCar | None:
        """``POST /projects/:id/merge_trains/merge_requests/:iid`` with the tested ``sha``
        (GitLab refuses with 409 if the source moved): the MR joins the train now (its
        pipeline passed). Sent once; a lost answer is read back (the car, if it exists).
        Returns the car, or raises ``MergeRefused`` with GitLab's reason."""
        try:
            with self._api(f"adding !{iid} to the merge train"):
                try:
                    train = self.gl.http_post(self._train_path(iid), post_data={"sha": sha}, **ONCE)
                except glexc.GitlabHttpError as exc:
                    if exc.response_code not in (*REFUSALS, 403):
                        raise
                    message = sanitize_text(str(exc.error_message or "")).strip()
                    raise MergeRefused(
                        refusal_reason(exc.response_code, message, iid=iid)
                    ) from None
        except TransientForgeError:
            found = self.merge_train_car(iid)
            if found is None:
                raise
            return found
        mine = [
            car
            for car in (train if isinstance(train, list) else [])
            if isinstance(car, Mapping)
            and isinstance(car.get("merge_request"), Mapping)
            and car["merge_request"].get("iid") == iid
        ]
        return entities.train_car(mine[-1]) if mine else self.merge_train_car(iid)

    def merge_train_car(self, iid: int) -> TrainCar | None:
        """The MR's car on the merge train, None when it has none (GitLab's 404: never
        added, or dropped)."""
        with self._api(f"reading the merge train car of !{iid}"):
            try:
                attrs = self.gl.http_get(self._train_path(iid), **WATCH_READ)
            except glexc.GitlabHttpError as exc:
                if exc.response_code == 404:
                    return None
                raise
        return entities.train_car(attrs) if isinstance(attrs, Mapping) else None

    def train_pipeline(self, car: TrainCar) -> Pipeline | None:
        return self._pipeline(car.pipeline) if car.pipeline else None
