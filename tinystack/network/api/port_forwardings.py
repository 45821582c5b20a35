"""``/v2.0/floatingips/{fip_id}/port_forwardings``: DNAT of a floating IP's ports."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import NotFound
from tinystack.network.api.bodies import JsonBody, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import Enforcement, make_check, on_view
from tinystack.network.api.list_params import fields_of
from tinystack.network.api.rendering import visible_item
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import PortForwardingUpdate
from tinystack.network.exception import bad_request
from tinystack.network.services.port_forwardings import PortForwardingChanges, parse_ports
from tinystack.network.services.records import PortForwardingRecord

#: what the policy rules are named after (``<action>_floatingip_port_forwarding``)
PORT_FORWARDING = Resource(
    singular="floatingip_port_forwarding", plural="port_forwardings", filters=frozenset()
)
ENVELOPE = Resource(singular="port_forwarding", plural="port_forwardings", filters=frozenset())
_PLAIN = ("internal_port_id", "internal_ip_address", "protocol", "description")


def port_forwarding_view(pf: PortForwardingRecord) -> dict[str, Any]:
    single = pf.external_port_start == pf.external_port_end
    internal_single = pf.internal_port_start == pf.internal_port_end
    return {
        "id": pf.id,
        "external_port": pf.external_port_start if single else None,
        "internal_port": pf.internal_port_start if internal_single else None,
        "external_port_range": f"{pf.external_port_start}:{pf.external_port_end}",
        "internal_port_range": f"{pf.internal_port_start}:{pf.internal_port_end}",
        "internal_ip_address": pf.internal_ip_address,
        "protocol": pf.protocol,
        "internal_port_id": pf.internal_port_id,
        "description": pf.description,
        "_policy": {"project_id": pf.project_id, "tenant_id": pf.project_id},
    }


def _ports(values: dict[str, Any], side: str) -> tuple[int, int] | None:
    single, ranged = values.get(f"{side}_port"), values.get(f"{side}_port_range")
    if single is not None and ranged is not None:
        raise bad_request(
            "port forwarding", f"'{side}_port' and '{side}_port_range' cannot both be given"
        )
    if single is None and ranged is None:
        return None
    return parse_ports(single if single is not None else ranged, f"{side}_port")


def _changes(body: Any) -> tuple[dict[str, Any], PortForwardingChanges]:
    values = validate(PortForwardingUpdate, unwrap(body, ENVELOPE, bulk=False)[0][0])
    changes = PortForwardingChanges(
        internal_port_id=values.get("internal_port_id"),
        internal_ip_address=values.get("internal_ip_address"),
        protocol=values.get("protocol"),
        internal_ports=_ports(values, "internal"),
        external_ports=_ports(values, "external"),
        description=values.get("description"),
        given=frozenset(k for k in _PLAIN if k in values),
    )
    return values, changes


def _one(ctx: RequestContext, pf: PortForwardingRecord, status: int = 200) -> Response:
    seen = visible_item(Enforcement(ctx), PORT_FORWARDING, port_forwarding_view(pf), [])
    shown = seen or {k: v for k, v in port_forwarding_view(pf).items() if k != "_policy"}
    return JSONResponse({ENVELOPE.singular: shown}, status_code=status)


def list_port_forwardings(
    fip_id: str, request: Request, ctx: ContextDep, deps: DepsDep
) -> Response:
    enf = Enforcement(ctx)
    fields = fields_of(request)
    items = [
        visible_item(enf, PORT_FORWARDING, port_forwarding_view(pf), fields)
        for pf in deps.port_forwardings.list_items(ctx, fip_id)
    ]
    return JSONResponse({ENVELOPE.plural: [i for i in items if i is not None]})


def create_port_forwarding(fip_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values, changes = _changes(body)
    check = on_view(make_check(ctx, PORT_FORWARDING, "create", values), port_forwarding_view)
    return _one(ctx, deps.port_forwardings.create(ctx, fip_id, changes, check), 201)


def show_port_forwarding(
    fip_id: str, forwarding_id: str, ctx: ContextDep, deps: DepsDep
) -> Response:
    pf = deps.port_forwardings.show(ctx, fip_id, forwarding_id)
    seen = visible_item(Enforcement(ctx), PORT_FORWARDING, port_forwarding_view(pf), [])
    if seen is None:
        raise NotFound(
            f"Port Forwarding {forwarding_id} could not be found for Floating IP {fip_id}.",
            code="PortForwardingNotFound",
        )
    return JSONResponse({ENVELOPE.singular: seen})


def update_port_forwarding(
    fip_id: str, forwarding_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values, changes = _changes(body)
    check = on_view(make_check(ctx, PORT_FORWARDING, "update", values), port_forwarding_view)
    return _one(ctx, deps.port_forwardings.update(ctx, fip_id, forwarding_id, changes, check))


def delete_port_forwarding(
    fip_id: str, forwarding_id: str, ctx: ContextDep, deps: DepsDep
) -> Response:
    check = on_view(make_check(ctx, PORT_FORWARDING, "delete", {}), port_forwarding_view)
    deps.port_forwardings.delete(ctx, fip_id, forwarding_id, check)
    return Response(status_code=204)
