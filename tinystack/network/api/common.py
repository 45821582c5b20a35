"""What every network API module shares: bodies, list parameters, policy, rendering.

Policy follows upstream Neutron: ``<action>_<resource>`` on the resource, then
``<action>_<resource>:<attribute>`` for each attribute a request sets (and
``...:<attribute>:<key>`` for keys inside dicts or lists of dicts); reading
drops items the caller may not ``get_<resource>`` and attributes it may not
``get_<resource>:<attribute>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest
from tinystack.network.api.enforcement import Enforcement
from tinystack.network.exception import http_bad_request, not_found
from tinystack.network.services.deps import Deps
from tinystack.network.services.listing import TAG_FILTERS, ListQuery

#: query parameters that are never filters
RESERVED = {"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse", *TAG_FILTERS}


@dataclass(frozen=True)
class Resource:
    """How a resource appears in the API."""

    singular: str
    plural: str
    #: attributes a list may be filtered on
    filters: frozenset[str]
    #: attributes that may be sorted on
    sort_keys: frozenset[str] = frozenset()
    #: create defaults: setting an attribute to its default needs no attribute policy
    defaults: dict[str, Any] = field(default_factory=dict)
    #: resource type in URLs (``security-groups``)
    path: str = ""

    @property
    def url(self) -> str:
        return f"/v2.0/{self.path or self.plural}"


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("Resource body required", code="BadRequest")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(
            "Malformed request body: the body is not valid JSON.", code="MalformedRequestBody"
        ) from None


JsonBody = Annotated[Any, Depends(read_json)]


def unwrap(body: Any, res: Resource, bulk: bool = True) -> tuple[list[Any], bool]:
    """The item(s) of ``{"network": {...}}`` or ``{"networks": [...]}``; True when bulk."""
    if not isinstance(body, dict):
        raise http_bad_request(f"Body must be a JSON object with '{res.singular}'")
    if bulk and res.plural in body:
        items = body[res.plural]
        if not isinstance(items, list) or not items:
            raise http_bad_request(f"Resources required: '{res.plural}' must be a non-empty list")
        return items, True
    if res.singular not in body:
        raise BadRequest(f"Unable to find '{res.singular}' in request body", code="BadRequest")
    return [body[res.singular]], False


def validate(model: type[BaseModel], data: Any) -> dict[str, Any]:
    """Parse ``data`` with ``model``; only the attributes the client set (as API names)."""
    if not isinstance(data, dict):
        raise http_bad_request("Invalid input: the resource must be a JSON object")
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise http_bad_request(_message(exc)) from None
    return parsed.model_dump(by_alias=True, exclude_unset=True)


def _message(exc: ValidationError) -> str:
    errors = exc.errors()
    extra = [str(e["loc"][-1]) for e in errors if e["type"] == "extra_forbidden"]
    if extra:
        return f"Unrecognized attribute(s) '{', '.join(extra)}'"
    err = errors[0]
    name = ".".join(str(p) for p in err["loc"])
    return f"Invalid input for {name}. Reason: {err['msg']}."


def revision(request: Request) -> int | None:
    """The ``If-Match: revision_number=N`` constraint, if any."""
    found: int | None = None
    for raw in request.headers.getlist("if-match"):
        for etag in raw.split(","):
            tag = etag.strip().strip('"')
            if not tag.startswith("revision_number="):
                continue
            if found is not None:
                raise BadRequest(
                    "Bad if-match request: Multiple revision_number etags are not supported.",
                    code="BadRequest",
                )
            try:
                found = int(tag.split("=", 1)[1])
            except ValueError:
                raise BadRequest(
                    "Bad if-match request: Revision number etag must be in the format of "
                    "revision_number=<int>.",
                    code="BadRequest",
                ) from None
    return found


# -- lists ---------------------------------------------------------------------------------


@dataclass
class ListParams:
    query: ListQuery
    fields: list[str]


def list_params(request: Request, res: Resource, max_limit: int = -1) -> ListParams:
    params = request.query_params
    filters: dict[str, list[str]] = {}
    invalid = []
    for key in dict.fromkeys(params.keys()):
        if key in RESERVED:
            continue
        values = [v for v in params.getlist(key) if v != ""]
        if key not in res.filters:
            invalid.append(key)
        elif values:
            filters[key] = values
    if invalid:
        raise http_bad_request(f"{invalid} is invalid attribute for filtering")
    if "tenant_id" in filters and "project_id" in filters:
        raise BadRequest(
            "Both tenant_id and project_id passed as filters.",
            code="TenantIdProjectIdFilterConflict",
        )
    tags = {
        kind: [t for v in params.getlist(kind) for t in v.split(",") if t]
        for kind in TAG_FILTERS
        if params.getlist(kind)
    }
    query = ListQuery(
        filters=filters,
        sorts=_sorts(request, res),
        limit=_limit(params.get("limit"), max_limit),
        marker=params.get("marker") or None,
        page_reverse=str(params.get("page_reverse", "false")).lower() == "true",
        tag_filters=tags,
    )
    fields = [f for f in params.getlist("fields") if f]
    return ListParams(query, fields)


def _sorts(request: Request, res: Resource) -> list[tuple[str, bool]]:
    keys = [k for k in request.query_params.getlist("sort_key") if k]
    dirs = [d for d in request.query_params.getlist("sort_dir") if d]
    if dirs and len(keys) != len(dirs):
        raise http_bad_request("The number of sort_keys and sort_dirs must be same")
    dirs = dirs or ["asc"] * len(keys)
    allowed = res.sort_keys or res.filters
    absent = [k for k in keys if k not in allowed]
    if absent:
        raise http_bad_request(f"{absent} is invalid attribute for sort_keys")
    bad = [d for d in dirs if d not in ("asc", "desc")]
    if bad:
        raise http_bad_request(
            f"{bad} is invalid value for sort_dirs, valid value is 'asc' and 'desc'"
        )
    return [(k, d == "asc") for k, d in zip(keys, dirs, strict=True)]


def _limit(raw: str | None, max_limit: int) -> int | None:
    value = 0
    if raw not in (None, ""):
        try:
            value = int(str(raw))
        except ValueError:
            value = -1
        if value < 0:
            raise BadRequest(
                f"Bad limit request: Limit must be an integer 0 or greater and not '{raw}'.",
                code="BadRequest",
            )
    if max_limit > 0:
        value = min(max_limit, value) or max_limit
    return value or None


def _links(request: Request, res: Resource, items: list[dict[str, Any]], q: ListQuery) -> list[Any]:
    limit = q.limit
    if not limit:
        return []
    base = str(request.url.replace(query=""))
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    links = []
    if not (len(items) < limit and not q.page_reverse):
        nxt = [(k, v) for k, v in params if k != "page_reverse"]
        if items:
            nxt.append(("marker", items[-1]["id"]))
        links.append({"rel": "next", "href": f"{base}?{urlencode(nxt)}"})
    if not (len(items) < limit and q.page_reverse):
        prev = [(k, v) for k, v in params if k != "page_reverse"]
        if items:
            prev.append(("marker", items[0]["id"]))
        prev.append(("page_reverse", "True"))
        links.append({"rel": "previous", "href": f"{base}?{urlencode(prev)}"})
    return links


def visible_item(
    enf: Enforcement, res: Resource, item: dict[str, Any], fields: list[str]
) -> dict[str, Any] | None:
    """The item as the caller may see it, or None when ``get_<resource>`` denies it."""
    extra = item.get("_policy", {})
    target = {**item, **extra}
    target.pop("_policy", None)
    rule = f"get_{res.singular}"
    if not enf.allowed(rule, target):
        return None
    out = {k: v for k, v in item.items() if not k.startswith("_")}
    for key in list(out):
        attr_rule = f"{rule}:{key}"
        if attr_rule in enf.names and not enf.allowed(attr_rule, target):
            del out[key]
    if fields:
        out = {k: v for k, v in out.items() if k in fields}
    return out


def render_list(
    request: Request,
    ctx: RequestContext,
    res: Resource,
    items: list[dict[str, Any]],
    params: ListParams,
) -> Response:
    enf = Enforcement(ctx)
    shown = []
    for item in items:
        seen = visible_item(enf, res, item, params.fields)
        if seen is not None:
            shown.append(seen)
    body: dict[str, Any] = {res.plural: shown}
    links = _links(request, res, items, params.query)
    if links:
        body[f"{res.plural}_links"] = links
    return JSONResponse(body)


def render_one(
    ctx: RequestContext,
    res: Resource,
    item: dict[str, Any],
    status: int = 200,
    fields: list[str] | None = None,
    hide_missing: bool = True,
) -> Response:
    seen = visible_item(Enforcement(ctx), res, item, fields or [])
    if seen is None:
        if hide_missing:
            raise not_found(res.singular, str(item.get("id")))
        seen = {k: v for k, v in item.items() if not k.startswith("_")}
    return JSONResponse({res.singular: seen}, status_code=status)


def render_many(
    ctx: RequestContext, res: Resource, items: list[dict[str, Any]], status: int = 201
) -> Response:
    enf = Enforcement(ctx)
    shown = []
    for item in items:
        seen = visible_item(enf, res, item, [])
        shown.append(seen if seen is not None else {"id": item.get("id")})
    return JSONResponse({res.plural: shown}, status_code=status)


def fields_of(request: Request) -> list[str]:
    return [f for f in request.query_params.getlist("fields") if f]


def max_limit(deps: Deps) -> int:
    return deps.opts.pagination_max_limit
