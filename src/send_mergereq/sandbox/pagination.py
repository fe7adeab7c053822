"""GitLab's offset pagination: ``page``/``per_page`` in, ``x-*`` and ``Link`` headers out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode

T = TypeVar("T")

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
# GitLab counts at most this many (Kaminari's MAX_COUNT_LIMIT): a longer listing is served
# ``without_count``, with no x-total, x-total-pages or rel="last".
COUNT_LIMIT = 10_000


def _positive(value: str | None, default: int) -> int:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return number if number > 0 else default


def paginate(
    items: Sequence[T], url: str, query: str, *, count: bool = True
) -> tuple[list[T], dict[str, str]]:
    """The requested page of ``items`` and GitLab's pagination headers (absolute links).

    ``count=False`` is GitLab's ``without_count`` (the project jobs list): no ``x-total``,
    no ``x-total-pages``, no ``rel="last"``; GitLab does the same for any listing of more
    than ``COUNT_LIMIT`` items.
    """
    params = dict(parse_qsl(query, keep_blank_values=True))
    per_page = min(_positive(params.get("per_page"), DEFAULT_PER_PAGE), MAX_PER_PAGE)
    page = _positive(params.get("page"), 1)
    total = len(items)
    count = count and total <= COUNT_LIMIT
    pages = max(1, math.ceil(total / per_page))
    chunk = list(items[(page - 1) * per_page : page * per_page])
    headers = {
        "x-page": str(page),
        "x-per-page": str(per_page),
        "x-total": str(total),
        "x-total-pages": str(pages),
        "x-next-page": str(page + 1) if page < pages else "",
        "x-prev-page": str(page - 1) if 1 < page <= pages + 1 else "",
    }
    links = []
    if 1 < page <= pages + 1:
        links.append((page - 1, "prev"))
    if page < pages:
        links.append((page + 1, "next"))
    links += [(1, "first"), (pages, "last")]
    if not count:
        for name in ("x-total", "x-total-pages"):
            del headers[name]
        links.pop()
    headers["Link"] = ", ".join(
        f'<{_page_url(url, params, number, per_page)}>; rel="{rel}"' for number, rel in links
    )
    return chunk, headers


def _page_url(url: str, params: dict[str, str], page: int, per_page: int) -> str:
    query = {**params, "page": str(page), "per_page": str(per_page)}
    return f"{url}?{urlencode(query)}"
