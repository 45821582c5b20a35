"""Row lookups the service modules share: loaded and checked for visibility inside a
transaction. ORM rows never leave the service layer; public service functions return
records (``records.py``)."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.network import models
from tinystack.network.exception import bad_request, not_found
from tinystack.network.services.visibility import project_of, rbac_targets, shared_ids

SHARED, EXTERNAL = "access_as_shared", "access_as_external"
#: device owners of a router's interface ports
INTERFACE_OWNERS = ("network:router_interface", "network:router_interface_distributed")
#: the resources shared through RBAC ``access_as_shared`` alone (networks also by ``_external``)
Row = TypeVar("Row", models.SubnetPool, models.AddressScope, models.SecurityGroup, models.QosPolicy)


def visible_network(session: Session, ctx: RequestContext, network_id: str) -> models.Network:
    """The network if the caller owns it or it is shared with it or external (else 404)."""
    row = session.get(models.Network, network_id)
    if row is None:
        raise not_found("network", network_id)
    if ctx.is_admin or row.project_id == project_of(ctx):
        return row
    granted = select(models.RbacPolicy.id).where(
        models.RbacPolicy.object_type == "network",
        models.RbacPolicy.object_id == network_id,
        models.RbacPolicy.action.in_((SHARED, EXTERNAL)),
        models.RbacPolicy.target_project.in_(rbac_targets(ctx)),
    )
    if session.scalars(granted).first() is None:
        raise not_found("network", network_id)
    return row


def visible_subnet(session: Session, ctx: RequestContext, subnet_id: str) -> models.Subnet:
    row = session.get(models.Subnet, subnet_id)
    if row is None:
        raise not_found("subnet", subnet_id)
    if ctx.is_admin or row.project_id == project_of(ctx):
        return row
    try:
        visible_network(session, ctx, row.network_id)
    except Exception:
        raise not_found("subnet", subnet_id) from None
    return row


def visible_shareable(
    session: Session, ctx: RequestContext, model: type[Row], object_type: str, row_id: str
) -> Row | None:
    """A resource shared through RBAC ``access_as_shared`` (subnet pools, address scopes,
    security groups, QoS policies) if the caller owns it, it is shared with the caller or
    the caller is an admin; else None."""
    row = session.get(model, row_id)
    if row is None or not (
        ctx.is_admin
        or row.project_id == project_of(ctx)
        or shared_ids(session, object_type, [row.id], ctx, SHARED)
    ):
        return None
    return row


def visible_pool(session: Session, ctx: RequestContext, pool_id: str) -> models.SubnetPool:
    row = visible_shareable(session, ctx, models.SubnetPool, "subnetpool", pool_id)
    if row is None:
        raise not_found("subnetpool", pool_id)
    return row


def default_pool(session: Session, ctx: RequestContext, version: int) -> models.SubnetPool:
    rows = session.scalars(
        select(models.SubnetPool).where(
            models.SubnetPool.is_default.is_(True), models.SubnetPool.ip_version == version
        )
    ).all()
    for row in rows:
        try:
            return visible_pool(session, ctx, row.id)
        except Exception:  # invisible default pools are skipped
            continue
    raise bad_request("subnets", f"No default subnetpool found for IPv{version}")


def visible_scope(session: Session, ctx: RequestContext, scope_id: str) -> models.AddressScope:
    row = visible_shareable(session, ctx, models.AddressScope, "address_scope", scope_id)
    if row is None:
        raise not_found("address_scope", scope_id)
    return row


def visible_group(session: Session, ctx: RequestContext, group_id: str) -> models.SecurityGroup:
    row = visible_shareable(session, ctx, models.SecurityGroup, "security_group", group_id)
    if row is None:
        raise not_found("security_group", group_id)
    return row


def visible_router(session: Session, ctx: RequestContext, router_id: str) -> models.Router:
    row = session.get(models.Router, router_id)
    if row is None or not (ctx.is_admin or row.project_id == project_of(ctx)):
        raise not_found("router", router_id)
    return row


def interface_ports(session: Session, router_id: str) -> list[models.Port]:
    stmt = select(models.Port).where(
        models.Port.device_id == router_id, models.Port.device_owner.in_(INTERFACE_OWNERS)
    )
    return list(session.scalars(stmt))


def network_subnets(session: Session, network_id: str) -> list[models.Subnet]:
    stmt = (
        select(models.Subnet)
        .where(models.Subnet.network_id == network_id)
        .order_by(models.Subnet.created_at, models.Subnet.id)
    )
    return list(session.scalars(stmt))


def visible_port(session: Session, ctx: RequestContext, port_id: str) -> models.Port:
    row = session.get(models.Port, port_id)
    if row is None:
        raise not_found("port", port_id)
    if ctx.is_admin or row.project_id == project_of(ctx):
        return row
    net = session.get(models.Network, row.network_id)
    if net is None or net.project_id != project_of(ctx):
        raise not_found("port", port_id)
    return row


def visible_policy(session: Session, ctx: RequestContext, policy_id: str) -> models.QosPolicy:
    """The policy if the caller owns it, it is shared with the caller or the caller is
    an admin; else QosPolicyNotFound (404)."""
    row = visible_shareable(session, ctx, models.QosPolicy, "qos_policy", policy_id)
    if row is None:
        raise not_found("policy", policy_id)
    return row
