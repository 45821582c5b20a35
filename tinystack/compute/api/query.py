"""Query parameters of the compute API: limits and markers, booleans, times, unknown names."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request

from tinystack.common.api import pagination as pg
from tinystack.common.exceptions import BadRequest
from tinystack.common.timeutils import naive_utc
from tinystack.compute.api.microversion import Version


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
    return naive_utc(parsed)


def limit_and_marker(request: Request, max_limit: int) -> tuple[int, str | None]:
    """Nova's ``limit`` (``[compute] max_limit`` when absent, never above it) and ``marker``,
    read by the common pagination helper with nova's rules and messages."""
    query = request.query_params
    limit = pg.parse_limit(query.get("limit"), default=max_limit, maximum=max_limit)
    return limit, pg.parse_marker(query.get("marker"))


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
