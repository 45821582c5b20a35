"""``/v2.0/fwaas/firewall_groups``: FWaaS v2 firewall groups on router ports."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, check_uuids, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import authorize_create, make_check, on_view
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import FirewallGroupCreate, FirewallGroupUpdate, owner
from tinystack.network.api.views import owner as owner_view
from tinystack.network.services.firewall_groups import FirewallGroupChanges
from tinystack.network.services.records import FirewallGroupRecord

FIREWALL_GROUP = Resource(
    singular="firewall_group",
    plural="firewall_groups",
    path="fwaas/firewall_groups",
    filters=frozenset(
        """
        id name description project_id tenant_id shared status admin_state_up ports
        ingress_firewall_policy_id egress_firewall_policy_id
        """.split()
    ),
    sort_keys=frozenset("id name project_id tenant_id status".split()),
    defaults={
        "name": "",
        "description": "",
        "shared": False,
        "admin_state_up": True,
        "ports": [],
        "ingress_firewall_policy_id": None,
        "egress_firewall_policy_id": None,
    },
)
_UPDATABLE = (
    "name",
    "description",
    "shared",
    "admin_state_up",
    "ingress_firewall_policy_id",
    "egress_firewall_policy_id",
    "ports",
)


def firewall_group_view(group: FirewallGroupRecord) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        **owner_view(group.project_id),
        "shared": group.shared,
        "admin_state_up": group.admin_state_up,
        "status": group.status,
        "ingress_firewall_policy_id": group.ingress_firewall_policy_id,
        "egress_firewall_policy_id": group.egress_firewall_policy_id,
        "ports": list(group.ports),
    }


def _changes(values: dict[str, Any]) -> FirewallGroupChanges:
    ports = values.get("ports")
    for name in ("ports", "ingress_firewall_policy_id", "egress_firewall_policy_id"):
        check_uuids(name, values.get(name))
    return FirewallGroupChanges(
        project_id=values.get("project_id"),
        name=values.get("name"),
        description=values.get("description"),
        shared=values.get("shared"),
        admin_state_up=values.get("admin_state_up"),
        ingress_firewall_policy_id=values.get("ingress_firewall_policy_id"),
        egress_firewall_policy_id=values.get("egress_firewall_policy_id"),
        ports=None if ports is None else tuple(ports),
        given=frozenset(k for k in _UPDATABLE if k in values),
    )


def list_firewall_groups(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, FIREWALL_GROUP, max_limit(deps))
    items = [firewall_group_view(g) for g in deps.firewall_groups.list_items(ctx, params.query)]
    return render_list(request, ctx, FIREWALL_GROUP, items, params)


def create_firewall_group(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = owner(validate(FirewallGroupCreate, unwrap(body, FIREWALL_GROUP, bulk=False)[0][0]))
    authorize_create(ctx, FIREWALL_GROUP, [values])
    created = firewall_group_view(deps.firewall_groups.create(ctx, _changes(values)))
    return render_one(ctx, FIREWALL_GROUP, created, 201, hide_missing=False)


def show_firewall_group(
    firewall_group_id: str, request: Request, ctx: ContextDep, deps: DepsDep
) -> Response:
    item = firewall_group_view(deps.firewall_groups.show(ctx, firewall_group_id))
    return render_one(ctx, FIREWALL_GROUP, item, fields=fields_of(request))


def update_firewall_group(
    firewall_group_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(FirewallGroupUpdate, unwrap(body, FIREWALL_GROUP, bulk=False)[0][0])
    check = on_view(make_check(ctx, FIREWALL_GROUP, "update", values), firewall_group_view)
    updated = deps.firewall_groups.update(ctx, firewall_group_id, _changes(values), check)
    return render_one(ctx, FIREWALL_GROUP, firewall_group_view(updated), hide_missing=False)


def delete_firewall_group(firewall_group_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    check = on_view(make_check(ctx, FIREWALL_GROUP, "delete", {}), firewall_group_view)
    deps.firewall_groups.delete(ctx, firewall_group_id, check)
    return Response(status_code=204)
