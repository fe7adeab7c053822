"""``--assignee`` and ``--reviewer``: GitLab usernames made user ids before anything is
pushed, so that a mistyped name stops the run with nothing sent (exit 2) and the names
GitLab has that come close (``did you mean``)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from send_mergereq.errors import ConfigError

if TYPE_CHECKING:
    from send_mergereq.gitlab.forge import Forge


@dataclass(frozen=True)
class People:
    """The user ids to set on the merge request; None leaves the field as it is."""

    assignee_ids: tuple[int, ...] | None = None
    reviewer_ids: tuple[int, ...] | None = None


def resolve(forge: Forge, assignees: Sequence[str], reviewers: Sequence[str]) -> People:
    """Every name given, as a user id; ConfigError (exit 2) for the first one GitLab does
    not know, with the close names it has."""
    return People(
        assignee_ids=_ids(forge, assignees, "--assignee") if assignees else None,
        reviewer_ids=_ids(forge, reviewers, "--reviewer") if reviewers else None,
    )


def _ids(forge: Forge, names: Sequence[str], flag: str) -> tuple[int, ...]:
    ids = []
    for name in dict.fromkeys(n.strip().removeprefix("@") for n in names):  # @alice: alice
        if not name:
            raise ConfigError(f"{flag} needs a GitLab username", hint=f"e.g. {flag} alice")
        found = forge.user_id(name)
        if found is None:
            found_by_search, near = forge.usernames_like(name)
            raise unknown_user(name, flag, found_by_search, near)
        ids.append(found)
    return tuple(ids)


def unknown_user(
    name: str, flag: str, found_by_search: Sequence[str], near: Iterable[str]
) -> ConfigError:
    """The error for ``flag NAME`` that GitLab does not know; the hint names up to three
    usernames: the closest (difflib, case-insensitively) among all, then those GitLab's
    search found for the name."""
    close = did_you_mean(name, [*found_by_search, *near])
    close = list(dict.fromkeys([*close, *found_by_search]))[:3]
    nothing = "nothing was pushed"
    if close:
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? {nothing}"
    else:
        hint = f"check the {flag} name: a GitLab username, as in @name; {nothing}"
    return ConfigError(f"{flag} {name}: no such GitLab user", hint=hint)


def did_you_mean(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The candidates closest to ``name``, closest first (case does not count)."""
    by_folded = {c.casefold(): c for c in candidates}
    close = difflib.get_close_matches(name.casefold(), list(by_folded), n=n, cutoff=0.6)
    return [by_folded[c] for c in close]
