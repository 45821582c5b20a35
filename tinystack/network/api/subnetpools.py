"""``/v2.0/subnetpools``: pools of prefixes and the add/remove prefix actions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, revision, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import make_check, simple_check
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import Prefixes, SubnetPoolCreate, SubnetPoolUpdate, owner

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


def list_subnetpools(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, SUBNETPOOL, max_limit(deps))
    items = deps.subnetpools.list_items(ctx, params.query)
    return render_list(request, ctx, SUBNETPOOL, items, params)


def create_subnetpool(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = owner(validate(SubnetPoolCreate, unwrap(body, SUBNETPOOL, bulk=False)[0][0]))
    created = deps.subnetpools.create(ctx, values, make_check(ctx, SUBNETPOOL, "create"))
    return render_one(ctx, SUBNETPOOL, created, 201, hide_missing=False)


def show_subnetpool(pool_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    item = deps.subnetpools.show(ctx, pool_id)
    return render_one(ctx, SUBNETPOOL, item, fields=fields_of(request))


def update_subnetpool(
    pool_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(SubnetPoolUpdate, unwrap(body, SUBNETPOOL, bulk=False)[0][0])
    check = make_check(ctx, SUBNETPOOL, "update", values)
    updated = deps.subnetpools.update(ctx, pool_id, values, check, revision(request))
    return render_one(ctx, SUBNETPOOL, updated, hide_missing=False)


def delete_subnetpool(pool_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    check = make_check(ctx, SUBNETPOOL, "delete", {})
    deps.subnetpools.delete(ctx, pool_id, check, revision(request))
    return Response(status_code=204)


def add_prefixes(pool_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    prefixes = validate(Prefixes, body)["prefixes"]
    check = simple_check(ctx, "add_prefixes")
    return JSONResponse(
        {"prefixes": deps.subnetpools.change_prefixes(ctx, pool_id, prefixes, True, check)}
    )


def remove_prefixes(pool_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    prefixes = validate(Prefixes, body)["prefixes"]
    check = simple_check(ctx, "remove_prefixes")
    return JSONResponse(
        {"prefixes": deps.subnetpools.change_prefixes(ctx, pool_id, prefixes, False, check)}
    )
