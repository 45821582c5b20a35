"""The network proxy APIs of microversions 2.1-2.35: ``os-security-groups``,
``os-security-group-rules``, ``os-floating-ips``, ``os-floating-ip-pools``,
``os-networks`` and ``os-tenant-networks`` (404 from 2.36, as upstream), and a server's
``os-security-groups`` (every version). The work is in
:mod:`tinystack.compute.services.network_proxies`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.common.rpc.context import CallContext
from tinystack.compute.api.bodies import body_part
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.rendering import json_response
from tinystack.compute.api.schemas import (
    FloatingIpCreateRequest,
    GroupBody,
    GroupUpdate,
    RuleBody,
    SecurityGroupCreateRequest,
    SecurityGroupRuleRequest,
    SecurityGroupUpdateRequest,
)
from tinystack.compute.services import network_proxies as proxies
from tinystack.compute.services.deps import Deps

router = APIRouter(tags=["network proxies"])
SG = "os_compute_api:os-security-groups:%s"
FIP = "os_compute_api:os-floating-ips:%s"
LAST = Version(2, 35)


def _proxy(ctx: RequestContext, version: Version, rule: str) -> CallContext:
    if version > LAST:
        raise NotFound("The resource could not be found.")
    ctx.can(rule, {"project_id": ctx.project_id})
    return CallContext.from_request(ctx)


# -- views ------------------------------------------------------------------------------------
def _rule_view(rule: proxies.RuleRecord) -> dict[str, Any]:
    group = rule.group
    return {
        "id": rule.id,
        "parent_group_id": rule.parent_group_id,
        "ip_protocol": rule.ip_protocol,
        "from_port": rule.from_port,
        "to_port": rule.to_port,
        "group": {"name": group.name, "tenant_id": group.tenant_id} if group else {},
        "ip_range": {"cidr": rule.cidr} if rule.cidr is not None else {},
    }


def _group_view(group: proxies.SecurityGroupRecord) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "tenant_id": group.tenant_id,
        "rules": [_rule_view(r) for r in group.rules],
    }


def _fip_view(fip: proxies.FloatingIpRecord) -> dict[str, Any]:
    return {
        "id": fip.id,
        "ip": fip.ip,
        "fixed_ip": fip.fixed_ip,
        "instance_id": fip.instance_id,
        "pool": fip.pool,
    }


def _network_view(net: proxies.NetworkRecord) -> dict[str, Any]:
    return {"id": net.id, "label": net.label, "cidr": net.cidr}


# -- security groups -------------------------------------------------------------------------


@router.get("/os-security-groups", openapi_extra=policies(SG % "get"))
def list_groups(request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    call = _proxy(ctx, version, SG % "get")
    everyone = ctx.is_admin and request.query_params.get("all_tenants") not in (None, "0", "false")
    groups = proxies.list_security_groups(deps, call, all_tenants=everyone)
    return json_response({"security_groups": [_group_view(g) for g in groups]})


@router.post(
    "/os-security-groups",
    openapi_extra=policies(SG % "create") | request_model(SecurityGroupCreateRequest),
)
def create_group(
    ctx: ContextDep, deps: DepsDep, version: VersionDep, body: Any = Body(None)
) -> Response:
    call = _proxy(ctx, version, SG % "create")
    values = GroupBody.model_validate(body_part(body, "security_group"))
    if not values.name.strip():
        raise BadRequest("Security group name cannot be empty.")
    group = proxies.create_security_group(deps, call, values.name, values.description)
    return json_response({"security_group": _group_view(group)})


@router.get("/os-security-groups/{group_id}", openapi_extra=policies(SG % "show"))
def show_group(group_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    call = _proxy(ctx, version, SG % "show")
    group = proxies.get_security_group(deps, call, group_id)
    return json_response({"security_group": _group_view(group)})


@router.put(
    "/os-security-groups/{group_id}",
    openapi_extra=policies(SG % "update") | request_model(SecurityGroupUpdateRequest),
)
def update_group(
    group_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep, body: Any = Body(None)
) -> Response:
    call = _proxy(ctx, version, SG % "update")
    values = GroupUpdate.model_validate(body_part(body, "security_group"))
    group = proxies.update_security_group(
        deps, call, group_id, name=values.name, description=values.description
    )
    return json_response({"security_group": _group_view(group)})


@router.delete("/os-security-groups/{group_id}", openapi_extra=policies(SG % "delete"))
def delete_group(group_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    call = _proxy(ctx, version, SG % "delete")
    proxies.delete_security_group(deps, call, group_id)
    return Response(status_code=202)


@router.post(
    "/os-security-group-rules",
    openapi_extra=policies(SG % "rule:create") | request_model(SecurityGroupRuleRequest),
)
def create_rule(
    ctx: ContextDep, deps: DepsDep, version: VersionDep, body: Any = Body(None)
) -> Response:
    call = _proxy(ctx, version, SG % "rule:create")
    values = RuleBody.model_validate(body_part(body, "security_group_rule"))
    rule = proxies.create_rule(deps, call, proxies.RuleSpec(**values.model_dump()))
    return json_response({"security_group_rule": _rule_view(rule)})


@router.delete("/os-security-group-rules/{rule_id}", openapi_extra=policies(SG % "rule:delete"))
def delete_rule(rule_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    call = _proxy(ctx, version, SG % "rule:delete")
    proxies.delete_rule(deps, call, rule_id)
    return Response(status_code=202)


# -- floating IPs -----------------------------------------------------------------------------


@router.get("/os-floating-ips", openapi_extra=policies(FIP % "list"))
def list_floating_ips(ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    call = _proxy(ctx, version, FIP % "list")
    fips = proxies.list_floating_ips(deps, call)
    return json_response({"floating_ips": [_fip_view(f) for f in fips]})


@router.post(
    "/os-floating-ips",
    openapi_extra=policies(FIP % "create") | request_model(FloatingIpCreateRequest),
)
def create_floating_ip(
    ctx: ContextDep, deps: DepsDep, version: VersionDep, body: Any = Body(None)
) -> Response:
    call = _proxy(ctx, version, FIP % "create")
    pool = body.get("pool") if isinstance(body, dict) else None
    if pool is not None and not isinstance(pool, str):
        raise BadRequest("Invalid input for field/attribute pool.")
    return json_response({"floating_ip": _fip_view(proxies.create_floating_ip(deps, call, pool))})


@router.get("/os-floating-ips/{fip_id}", openapi_extra=policies(FIP % "show"))
def show_floating_ip(fip_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    call = _proxy(ctx, version, FIP % "show")
    return json_response({"floating_ip": _fip_view(proxies.get_floating_ip(deps, call, fip_id))})


@router.delete("/os-floating-ips/{fip_id}", openapi_extra=policies(FIP % "delete"))
def delete_floating_ip(
    fip_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    call = _proxy(ctx, version, FIP % "delete")
    proxies.delete_floating_ip(deps, call, fip_id)
    return Response(status_code=202)


@router.get(
    "/os-floating-ip-pools", openapi_extra=policies("os_compute_api:os-floating-ip-pools:list")
)
def floating_ip_pools(ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    call = _proxy(ctx, version, "os_compute_api:os-floating-ip-pools:list")
    pools = [{"name": name} for name in proxies.floating_ip_pools(deps, call)]
    return json_response({"floating_ip_pools": pools})


# -- networks ---------------------------------------------------------------------------------


def _networks(ctx: RequestContext, deps: Deps, version: Version, rule: str) -> Response:
    call = _proxy(ctx, version, rule)
    nets = proxies.list_networks(deps, call)
    return json_response({"networks": [_network_view(n) for n in nets]})


def _network(
    ctx: RequestContext, deps: Deps, version: Version, rule: str, network_id: str
) -> Response:
    call = _proxy(ctx, version, rule)
    return json_response({"network": _network_view(proxies.get_network(deps, call, network_id))})


@router.get("/os-networks", openapi_extra=policies("os_compute_api:os-networks:list"))
def list_networks(ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    return _networks(ctx, deps, version, "os_compute_api:os-networks:list")


@router.get("/os-networks/{network_id}", openapi_extra=policies("os_compute_api:os-networks:view"))
def show_network(network_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    return _network(ctx, deps, version, "os_compute_api:os-networks:view", network_id)


@router.get("/os-tenant-networks", openapi_extra=policies("os_compute_api:os-tenant-networks:list"))
def list_tenant_networks(ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    return _networks(ctx, deps, version, "os_compute_api:os-tenant-networks:list")


@router.get(
    "/os-tenant-networks/{network_id}",
    openapi_extra=policies("os_compute_api:os-tenant-networks:show"),
)
def show_tenant_network(
    network_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    return _network(ctx, deps, version, "os_compute_api:os-tenant-networks:show", network_id)
