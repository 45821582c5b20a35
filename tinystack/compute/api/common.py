"""What the compute handlers share: dependencies, links, pagination, bodies, rendering."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends
from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import BadRequest
from tinystack.compute.api.microversion import URL_PROJECT_KEY, Version, VersionDep
from tinystack.compute.context import CallContext
from tinystack.compute.services.common import Deps

__all__ = ["ContextDep", "DepsDep", "VersionDep", "Version"]


def _deps(request: Request, ctx: ContextDep) -> Deps:
    url_project = getattr(request.state, URL_PROJECT_KEY, None)
    if url_project is not None and url_project != ctx.project_id:
        raise BadRequest(
            f"Malformed request URL: URL's project_id '{url_project}' doesn't match "
            f"Context's project_id '{ctx.project_id}'"
        )
    deps: Deps = request.app.state.compute
    return deps


DepsDep = Annotated[Deps, Depends(_deps)]


class Strict(BaseModel):
    """A request body part that refuses unknown keys (upstream's additionalProperties)."""

    model_config = ConfigDict(extra="forbid")


def policies(*rules: str) -> dict[str, Any]:
    """Route metadata naming the policy rules a route checks (read by the route meta-tests)."""
    return {"x-policies": list(rules)}


def call_context(request: Request, ctx: Any) -> CallContext:
    del request
    return CallContext.from_request(ctx)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Render with the standard library encoder directly (no second validation pass)."""
    data = json.dumps(body, separators=(",", ":"), default=_default).encode()
    return Response(data, status_code=status, media_type="application/json", headers=headers)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def isotime(value: datetime | None) -> str | None:
    """``2024-05-01T12:00:00Z``, as upstream formats created/updated."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + "Z"


def plain_time(value: datetime | None) -> str | None:
    """``2024-05-01T12:00:00.123456`` (no zone), as upstream renders OS-SRV-USG times."""
    return value.isoformat() if value is not None else None


def parse_time(raw: str, name: str) -> datetime:
    text = raw.strip().replace(" ", "+") if "T" in raw else raw.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            f"Invalid input for query parameters {name}. Value: {raw}. '{raw}' is not a 'date-time'"
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def link(request: Request, collection: str, item: str) -> list[dict[str, str]]:
    """The self and bookmark links of one resource."""
    base = base_url(request)
    return [
        {"rel": "self", "href": f"{base}/v2.1/{collection}/{item}"},
        {"rel": "bookmark", "href": f"{base}/{collection}/{item}"},
    ]


def bookmark(request: Request, collection: str, item: str) -> list[dict[str, str]]:
    return [{"rel": "bookmark", "href": f"{base_url(request)}/{collection}/{item}"}]


def next_link(request: Request, collection: str, marker: str) -> list[dict[str, str]]:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    params.append(("marker", marker))
    return [{"rel": "next", "href": f"{base_url(request)}/v2.1/{collection}?{urlencode(params)}"}]


def limit_and_marker(request: Request, max_limit: int) -> tuple[int, str | None]:
    raw = request.query_params.get("limit")
    limit = max_limit
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            raise BadRequest("limit param must be an integer") from None
        if limit < 0:
            raise BadRequest("limit param must be positive")
        limit = min(limit, max_limit)
    return limit, request.query_params.get("marker")


def bool_param(raw: str | None, name: str) -> bool | None:
    if raw is None:
        return None
    lowered = raw.strip().lower()
    if lowered in ("1", "t", "true", "on", "y", "yes"):
        return True
    if lowered in ("0", "f", "false", "off", "n", "no"):
        return False
    raise BadRequest(f"Invalid value '{raw}' for {name}: expected a boolean.")


def reject_unknown(
    request: Request, allowed: set[str], version: Version, since: tuple[int, int] = (2, 75)
) -> None:
    """From 2.75 unknown query parameters are errors (before, they were ignored)."""
    if version < since:
        return
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise BadRequest(
            "Invalid input for query parameters "
            + ", ".join(unknown)
            + ". Additional properties are not allowed ("
            + ", ".join(repr(u) for u in unknown)
            + (" was" if len(unknown) == 1 else " were")
            + " unexpected)"
        )


def body_part(body: Any, key: str) -> dict[str, Any]:
    """``body[key]``, which must be an object."""
    if not isinstance(body, dict) or key not in body:
        raise BadRequest(f"Invalid input for field/attribute {key}. '{key}' is a required property")
    part = body[key]
    if not isinstance(part, dict):
        raise BadRequest(
            f"Invalid input for field/attribute {key}. Value: {part!r}. "
            f"{part!r} is not of type 'object'"
        )
    return part


def unexpected(fields: list[str]) -> BadRequest:
    quoted = ", ".join(repr(f) for f in fields)
    verb = "was" if len(fields) == 1 else "were"
    return BadRequest(f"Additional properties are not allowed ({quoted} {verb} unexpected)")


def gate(part: dict[str, Any], version: Version, rules: dict[str, tuple[int, int]]) -> None:
    """Reject fields not yet (or no longer) part of the API at this version.

    ``rules`` maps a field to its first version; a negative minor marks the
    first version where it is gone (``(2, -57)``: removed in 2.57).
    """
    refused = []
    for name, (major, minor) in rules.items():
        if name not in part:
            continue
        if minor >= 0 and version < (major, minor):
            refused.append(name)
        elif minor < 0 and version >= (major, -minor):
            refused.append(name)
    if refused:
        raise unexpected(refused)
