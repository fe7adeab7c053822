"""What REST handlers take and give: a parsed request, a response, GitLab's error shapes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


class ApiError(Exception):
    """An error answer with GitLab's body (``{"message": …}`` or ``{"error": …}``)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body


def not_found(what: str | None = None) -> ApiError:
    """GitLab's 404: ``404 Project Not Found`` for a named resource, else ``404 Not found``."""
    return ApiError(404, {"message": f"404 {what} Not Found" if what else "404 Not found"})


def bad_request(reason: str) -> ApiError:
    return ApiError(400, {"message": f"400 Bad request - {reason}"})


def forbidden(reason: str) -> ApiError:
    return ApiError(403, {"message": f"403 Forbidden - {reason}"})


def missing(*names: str) -> ApiError:
    """Grape's answer to missing required parameters."""
    return ApiError(400, {"error": ", ".join(f"{n} is missing" for n in names)})


def invalid(name: str) -> ApiError:
    return ApiError(400, {"error": f"{name} does not have a valid value"})


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class Request:
    """One API request: ``params`` merges the query string and the JSON or form body."""

    method: str
    path: str  # under /api/v4, still URL-encoded
    query: str
    params: Mapping[str, Any]
    base_url: str  # scheme://host of the request, for absolute links
    groups: tuple[str, ...] = ()

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def flag(self, name: str) -> bool | None:
        """A boolean parameter as GitLab reads it (``true``/``false``/``1``/``0``), or None."""
        value = self.params.get(name)
        if value is None or isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "1", "yes", "t")

    def int_param(self, name: str, default: int) -> int:
        value = self.params.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise invalid(name) from None

    def list_param(self, name: str) -> list[str]:
        """``scope=x``, ``scope[]=x&scope[]=y`` or a JSON list."""
        value = self.params.get(name, self.params.get(f"{name}[]"))
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
