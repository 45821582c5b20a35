"""A list request's query string as cinder reads it: ``sort`` (or the older
``sort_key``/``sort_dir``), ``limit``/``marker``/``offset``, ``with_count`` (3.45),
``all_tenants`` and the filters a non-admin may use (upstream's resource_filters.json;
from 3.31 an unknown filter is a 400, before it was dropped; ``key~`` like filters from
3.34)."""

from __future__ import annotations

import ast

from starlette.requests import Request

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest
from tinystack.volume.api.microversion import Version
from tinystack.volume.services.listing import ListQuery

#: the filters a non-admin may pass, per resource (upstream's resource_filters.json;
#: a resource not named here checks none)
RESOURCE_FILTERS = {
    "snapshot": ("name", "status", "volume_id", "metadata", "availability_zone", "consumes_quota"),
    "backup": ("name", "status", "volume_id"),
}
#: query keys that are never filters
RESERVED = {"sort", "sort_key", "sort_dir", "limit", "marker", "offset", "with_count"}
#: API attribute names -> column names
CONVERT = {"name": "display_name", "name~": "display_name~", "description~":
           "display_description~", "consumes_quota": "use_quota"}  # fmt: skip
TRUE = ("1", "t", "true", "on", "y", "yes")
FALSE = ("0", "f", "false", "off", "n", "no")


def bool_param(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise BadRequest(f"Invalid value '{raw}' for {name} param.")


def _integer(raw: str, name: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if value < 0:
        raise BadRequest(f"{name} must be >= 0")
    return value


def _limit(raw: str | None, maximum: int) -> int:
    if raw is None:
        return maximum
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest("limit param must be an integer") from None
    if value < 0:
        raise BadRequest("limit param must be positive")
    return min(value, maximum)


def sort_params(params: dict[str, str]) -> tuple[tuple[str, str], ...]:
    if "sort" in params and ("sort_key" in params or "sort_dir" in params):
        raise BadRequest(
            "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used "
            "with the 'sort' parameter."
        )
    pairs = []
    if "sort" in params:
        for item in params["sort"].strip().split(","):
            key, _, direction = item.partition(":")
            pairs.append((key.strip(), (direction or "desc").strip().lower()))
    else:
        pairs.append(
            (params.get("sort_key", "created_at").strip(),
             params.get("sort_dir", "desc").strip().lower())
        )  # fmt: skip
    for _key, direction in pairs:
        if direction not in ("asc", "desc"):
            raise BadRequest("Unknown sort direction, must be 'desc' or 'asc'")
    return tuple(pairs)


def _filters(
    params: dict[str, str], ctx: RequestContext, version: Version, resource: str
) -> dict[str, str]:
    found = {k: v for k, v in params.items() if k not in RESERVED}
    for key in found:
        if not key.isascii():
            raise BadRequest("Filter keys can only contain ASCII characters.")
    found.pop("all_tenants", None)
    allowed = RESOURCE_FILTERS.get(resource)
    if ctx.is_admin or allowed is None:  # transfers pass any filter to the query
        return found
    like = version.matches("3.34")
    bad = [k for k in found if k not in allowed and not (like and k.rstrip("~") in allowed)]
    if bad and version.matches("3.31"):
        raise BadRequest(f"Invalid filters {','.join(bad)} are found in query options.")
    return {k: v for k, v in found.items() if k not in bad}


def parse(
    request: Request,
    ctx: RequestContext,
    version: Version,
    resource: str,
    max_limit: int,
    *,
    name_sort_since: str | None = None,
) -> ListQuery:
    """The request's :class:`ListQuery` (``name_sort_since``: the version from which
    ``sort=name`` means the display name; before it ``name`` is no sort key)."""
    params = dict(request.query_params.items())
    sort = sort_params(params)
    if name_sort_since is not None and not version.matches(name_sort_since):
        sort = tuple(("name!", d) if k == "name" else (k, d) for k, d in sort)
    with_count = False
    if version.matches("3.45") and "with_count" in params:
        with_count = bool_param("with_count", params["with_count"])
    all_tenants = False
    if "all_tenants" in params:
        all_tenants = bool_param("all_tenants", params["all_tenants"])
    filters = _filters(params, ctx, version, resource)
    if not version.matches("3.34"):
        filters = {k: v for k, v in filters.items() if not k.endswith("~")}
    metadata: dict[str, str] = {}
    raw_meta = filters.pop("metadata", None)
    if raw_meta is not None:
        metadata = _metadata(raw_meta)
    converted = {CONVERT.get(k, k): v for k, v in filters.items()}
    return ListQuery(
        filters=converted,
        metadata=metadata,
        sort=sort,
        marker=params.get("marker"),
        limit=_limit(params.get("limit"), max_limit),
        offset=_integer(params["offset"], "offset") if "offset" in params else 0,
        all_tenants=all_tenants and ctx.is_admin,
        with_count=with_count,
    )


def _metadata(raw: str) -> dict[str, str]:
    """``metadata={'k': 'v'}`` (a Python literal, as upstream evaluates it)."""
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return {"": raw}
    if not isinstance(value, dict):
        return {"": raw}
    return {str(k): str(v) for k, v in value.items()}
