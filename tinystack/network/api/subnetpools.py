"""``/v2.0/subnetpools``: pools of prefixes and the add/remove prefix actions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.common import (
    JsonBody,
    Resource,
    fields_of,
    list_params,
    max_limit,
    render_list,
    render_one,
    revision,
    unwrap,
    validate,
)
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import make_check, simple_check
from tinystack.network.api.models import Body, Description, Int, Name, Owned, owner

router = APIRouter(tags=["subnetpools"])

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


class SubnetPoolUpdate(Body):
    name: str | None = Name
    description: str | None = Description
    prefixes: list[str] | None = None
    default_prefixlen: Int | None = None
    min_prefixlen: Int | None = None
    max_prefixlen: Int | None = None
    default_quota: Int | None = None
    address_scope_id: str | None = None
    is_default: bool | None = None


class SubnetPoolCreate(Owned, SubnetPoolUpdate):
    prefixes: list[str]
    shared: bool | None = None
    tags: list[str] | None = None


class Prefixes(Body):
    prefixes: list[Any]


@router.get("/v2.0/subnetpools")
def list_subnetpools(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, SUBNETPOOL, max_limit(deps))
    items = deps.subnetpools.list_items(ctx, params.query)
    return render_list(request, ctx, SUBNETPOOL, items, params)


@router.post("/v2.0/subnetpools", status_code=201)
def create_subnetpool(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = owner(validate(SubnetPoolCreate, unwrap(body, SUBNETPOOL, bulk=False)[0][0]))
    created = deps.subnetpools.create(ctx, values, make_check(ctx, SUBNETPOOL, "create"))
    return render_one(ctx, SUBNETPOOL, created, 201, hide_missing=False)


@router.get("/v2.0/subnetpools/{pool_id}")
def show_subnetpool(pool_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    item = deps.subnetpools.show(ctx, pool_id)
    return render_one(ctx, SUBNETPOOL, item, fields=fields_of(request))


@router.put("/v2.0/subnetpools/{pool_id}")
def update_subnetpool(
    pool_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(SubnetPoolUpdate, unwrap(body, SUBNETPOOL, bulk=False)[0][0])
    check = make_check(ctx, SUBNETPOOL, "update", values)
    updated = deps.subnetpools.update(ctx, pool_id, values, check, revision(request))
    return render_one(ctx, SUBNETPOOL, updated, hide_missing=False)


@router.delete("/v2.0/subnetpools/{pool_id}", status_code=204)
def delete_subnetpool(pool_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    check = make_check(ctx, SUBNETPOOL, "delete", {})
    deps.subnetpools.delete(ctx, pool_id, check, revision(request))
    return Response(status_code=204)


@router.put("/v2.0/subnetpools/{pool_id}/add_prefixes")
def add_prefixes(pool_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    prefixes = validate(Prefixes, body)["prefixes"]
    check = simple_check(ctx, "add_prefixes")
    return JSONResponse(
        {"prefixes": deps.subnetpools.change_prefixes(ctx, pool_id, prefixes, True, check)}
    )


@router.put("/v2.0/subnetpools/{pool_id}/remove_prefixes")
def remove_prefixes(pool_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    prefixes = validate(Prefixes, body)["prefixes"]
    check = simple_check(ctx, "remove_prefixes")
    return JSONResponse(
        {"prefixes": deps.subnetpools.change_prefixes(ctx, pool_id, prefixes, False, check)}
    )
