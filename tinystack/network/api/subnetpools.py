"""``/v2.0/subnetpools``: pools of prefixes and the add/remove prefix actions."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, revision, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import authorize_create, make_check, on_view, simple_check
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import Prefixes, SubnetPoolCreate, SubnetPoolUpdate, owner
from tinystack.network.api.views import subnetpool_view
from tinystack.network.services.subnetpools import SubnetPoolChanges, SubnetPoolSpec

SUBNETPOOL = Resource(
    singular="subnetpool",
    plural="subnetpools",
    filters=frozenset(
        """
            id name project_id tenant_id ip_version is_default shared address_scope_id
            default_prefixlen min_prefixlen max_prefixlen default_quota description
            revision_number created_at updated_at
            """.split()
    ),
    defaults={"shared": False, "is_default": False, "tags": []},
)


def _changes(values: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of SubnetPoolChanges for the attributes a request sets."""
    fields = (
        "name description default_prefixlen min_prefixlen max_prefixlen default_quota "
        "address_scope_id is_default"
    ).split()
    out: dict[str, Any] = {k: values[k] for k in fields if k in values}
    if "prefixes" in values:
        out["prefixes"] = tuple(values["prefixes"] or ())
    out["given"] = frozenset(k for k in (*fields, "prefixes") if k in values)
    return out


def list_subnetpools(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, SUBNETPOOL, max_limit(deps))
    items = [subnetpool_view(p) for p in deps.subnetpools.list_items(ctx, params.query)]
    return render_list(request, ctx, SUBNETPOOL, items, params)


def create_subnetpool(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = owner(validate(SubnetPoolCreate, unwrap(body, SUBNETPOOL, bulk=False)[0][0]))
    authorize_create(ctx, SUBNETPOOL, [values])
    spec = SubnetPoolSpec(
        **_changes(values),
        project_id=values.get("project_id"),
        shared=bool(values.get("shared")),
        tags=tuple(values.get("tags") or ()),
    )
    created = subnetpool_view(deps.subnetpools.create(ctx, spec))
    return render_one(ctx, SUBNETPOOL, created, 201, hide_missing=False)


def show_subnetpool(pool_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    item = subnetpool_view(deps.subnetpools.show(ctx, pool_id))
    return render_one(ctx, SUBNETPOOL, item, fields=fields_of(request))


def update_subnetpool(
    pool_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(SubnetPoolUpdate, unwrap(body, SUBNETPOOL, bulk=False)[0][0])
    check = on_view(make_check(ctx, SUBNETPOOL, "update", values), subnetpool_view)
    changes = SubnetPoolChanges(**_changes(values))
    updated = deps.subnetpools.update(ctx, pool_id, changes, check, revision(request))
    return render_one(ctx, SUBNETPOOL, subnetpool_view(updated), hide_missing=False)


def delete_subnetpool(pool_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    check = on_view(make_check(ctx, SUBNETPOOL, "delete", {}), subnetpool_view)
    deps.subnetpools.delete(ctx, pool_id, check, revision(request))
    return Response(status_code=204)


def add_prefixes(pool_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    prefixes = validate(Prefixes, body)["prefixes"]
    check = on_view(simple_check(ctx, "add_prefixes"), subnetpool_view)
    return JSONResponse(
        {"prefixes": deps.subnetpools.change_prefixes(ctx, pool_id, prefixes, True, check)}
    )


def remove_prefixes(pool_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    prefixes = validate(Prefixes, body)["prefixes"]
    check = on_view(simple_check(ctx, "remove_prefixes"), subnetpool_view)
    return JSONResponse(
        {"prefixes": deps.subnetpools.change_prefixes(ctx, pool_id, prefixes, False, check)}
    )
