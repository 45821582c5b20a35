"""``/v2.0/floatingips``: floating IPs of external networks and their port associations."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, revision, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import authorize_create, make_check, on_view
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import FloatingIPCreate, FloatingIPUpdate, owner
from tinystack.network.api.views import floatingip_view
from tinystack.network.services.floatingips import FloatingIPChanges, FloatingIPSpec

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


def _change_fields(values: dict[str, Any]) -> dict[str, Any]:
    names = ("port_id", "fixed_ip_address", "description")
    out: dict[str, Any] = {k: values[k] for k in names if k in values}
    out["given"] = frozenset(k for k in names if k in values)
    return out


def list_floatingips(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, FLOATINGIP, max_limit(deps))
    items = [floatingip_view(f) for f in deps.floatingips.list_items(ctx, params.query)]
    return render_list(request, ctx, FLOATINGIP, items, params)


def create_floatingip(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = owner(validate(FloatingIPCreate, unwrap(body, FLOATINGIP, bulk=False)[0][0]))
    authorize_create(ctx, FLOATINGIP, [values])
    spec = FloatingIPSpec(
        **_change_fields(values),
        floating_network_id=values["floating_network_id"],
        project_id=values.get("project_id"),
        floating_ip_address=values.get("floating_ip_address"),
        subnet_id=values.get("subnet_id"),
        tags=tuple(values.get("tags") or ()),
    )
    created = floatingip_view(deps.floatingips.create(ctx, spec))
    return render_one(ctx, FLOATINGIP, created, 201, hide_missing=False)


def show_floatingip(fip_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    item = floatingip_view(deps.floatingips.show(ctx, fip_id))
    return render_one(ctx, FLOATINGIP, item, fields=fields_of(request))


def update_floatingip(
    fip_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(FloatingIPUpdate, unwrap(body, FLOATINGIP, bulk=False)[0][0])
    check = on_view(make_check(ctx, FLOATINGIP, "update", values), floatingip_view)
    changes = FloatingIPChanges(**_change_fields(values))
    updated = deps.floatingips.update(ctx, fip_id, changes, check, revision(request))
    return render_one(ctx, FLOATINGIP, floatingip_view(updated), hide_missing=False)


def delete_floatingip(fip_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    check = on_view(make_check(ctx, FLOATINGIP, "delete", {}), floatingip_view)
    deps.floatingips.delete(ctx, fip_id, check, revision(request))
    return Response(status_code=204)
