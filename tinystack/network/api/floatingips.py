"""``/v2.0/floatingips``: floating IPs of external networks and their port associations."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, revision, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import make_check
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import FloatingIPCreate, FloatingIPUpdate, owner

FLOATINGIP = Resource(
    singular="floatingip",
    plural="floatingips",
    filters=frozenset(
        """
            id project_id tenant_id floating_network_id floating_ip_address port_id
            fixed_ip_address router_id status description revision_number created_at
            updated_at
            """.split()
    ),
    sort_keys=frozenset(
        """
            id project_id tenant_id floating_network_id floating_ip_address fixed_ip_address
            router_id status created_at updated_at
            """.split()
    ),
    defaults={"tags": []},
)


def list_floatingips(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, FLOATINGIP, max_limit(deps))
    items = deps.floatingips.list_items(ctx, params.query)
    return render_list(request, ctx, FLOATINGIP, items, params)


def create_floatingip(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = owner(validate(FloatingIPCreate, unwrap(body, FLOATINGIP, bulk=False)[0][0]))
    created = deps.floatingips.create(ctx, values, make_check(ctx, FLOATINGIP, "create"))
    return render_one(ctx, FLOATINGIP, created, 201, hide_missing=False)


def show_floatingip(fip_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    item = deps.floatingips.show(ctx, fip_id)
    return render_one(ctx, FLOATINGIP, item, fields=fields_of(request))


def update_floatingip(
    fip_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(FloatingIPUpdate, unwrap(body, FLOATINGIP, bulk=False)[0][0])
    check = make_check(ctx, FLOATINGIP, "update", values)
    updated = deps.floatingips.update(ctx, fip_id, values, check, revision(request))
    return render_one(ctx, FLOATINGIP, updated, hide_missing=False)


def delete_floatingip(fip_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    check = make_check(ctx, FLOATINGIP, "delete", {})
    deps.floatingips.delete(ctx, fip_id, check, revision(request))
    return Response(status_code=204)
