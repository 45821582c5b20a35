"""Load balancers: the VIP (a Neutron port the load balancer owns), the provisioning
lock, cascade delete, stats, the status tree and failover."""

from __future__ import annotations

import ipaddress
import logging
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.clients.session import ClientError
from tinystack.common.exceptions import BadRequest, Conflict
from tinystack.common.timeutils import utcnow
from tinystack.load_balancer import exception, models
from tinystack.load_balancer.policies import loadbalancer as rules
from tinystack.load_balancer.services import _tree
from tinystack.load_balancer.services.deps import Deps
from tinystack.load_balancer.services.inputs import ListPage, LoadBalancerCreate, LoadBalancerUpdate
from tinystack.load_balancer.services.records import LoadBalancerRecord, StatsRecord, of

LOG = logging.getLogger(__name__)
DEVICE_OWNER = "Octavia"


def record(session: Session, row: models.LoadBalancer) -> LoadBalancerRecord:
    return of(
        LoadBalancerRecord,
        row,
        listener_ids=_tree.child_ids(
            session, models.Listener, models.Listener.load_balancer_id, row.id
        ),
        pool_ids=_tree.child_ids(session, models.Pool, models.Pool.load_balancer_id, row.id),
    )


def _network_error(exc: ClientError) -> Exception:
    if exc.status == 409:
        return Conflict(exc.message)
    if exc.status in (400, 404):
        return BadRequest(exc.message)
    return exception.NetworkError(f"The network service failed: {exc.message}")


def _subnet(deps: Deps, token: str | None, subnet_id: str) -> dict[str, Any]:
    found = deps.network.list_subnets(token=token, id=subnet_id)
    if not found:
        raise exception.InvalidOption(f"Subnet {subnet_id} not found.")
    return found[0]


def _vip_port(
    deps: Deps, ctx: RequestContext, req: LoadBalancerCreate, lb_id: str, project: str
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """(port, subnet, owned): the given port, or one made on the given subnet/network."""
    token = ctx.token
    binding = {
        "device_owner": DEVICE_OWNER,
        "device_id": f"lb-{lb_id}",
        "binding:host_id": deps.host,
    }
    try:
        if req.vip_port_id:
            port = deps.network.get_port(req.vip_port_id, token=token)
            if port is None:
                raise exception.InvalidOption(f"Port {req.vip_port_id} not found.")
            if port.get("device_id") or port.get("device_owner"):
                raise Conflict(f"Port {req.vip_port_id} is already in use.")
            if not port.get("fixed_ips"):
                raise exception.InvalidOption(f"Port {req.vip_port_id} has no IP address.")
            subnet = _subnet(deps, token, port["fixed_ips"][0]["subnet_id"])
            port = deps.network.update_port(port["id"], binding)
            return port, subnet, False
        if req.vip_subnet_id:
            subnet = _subnet(deps, token, req.vip_subnet_id)
            if req.vip_network_id and subnet["network_id"] != req.vip_network_id:
                raise exception.InvalidOption(
                    f"Subnet {req.vip_subnet_id} is not on network {req.vip_network_id}."
                )
        elif req.vip_network_id:
            if deps.network.get_network(req.vip_network_id, token=token) is None:
                raise exception.InvalidOption(f"Network {req.vip_network_id} not found.")
            subnets = deps.network.list_subnets(token=token, network_id=req.vip_network_id)
            v4 = [s for s in subnets if s.get("ip_version") == 4] or subnets
            if not v4:
                raise exception.InvalidOption(
                    f"Supplied network {req.vip_network_id} does not contain any subnets."
                )
            subnet = v4[0]
        else:
            raise exception.InvalidOption(
                "VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id."
            )
        fixed: dict[str, Any] = {"subnet_id": subnet["id"]}
        if req.vip_address:
            try:
                address = ipaddress.ip_address(req.vip_address)
            except ValueError as exc:
                raise exception.InvalidOption(f"{req.vip_address} is not an IP address.") from exc
            if address not in ipaddress.ip_network(subnet["cidr"]):
                raise exception.InvalidOption(
                    f"VIP address {req.vip_address} is not in subnet {subnet['id']}."
                )
            fixed["ip_address"] = req.vip_address
        body = {
            "name": f"octavia-lb-{lb_id}",
            "network_id": subnet["network_id"],
            "fixed_ips": [fixed],
            "project_id": project,
            "admin_state_up": True,
            # the namespace answers only on its listeners' ports; the agent's HAProxy is
            # the filter (Octavia opens a security group per listener instead)
            "port_security_enabled": False,
            **binding,
        }
        return deps.network.create_port(body), subnet, True
    except ClientError as exc:
        raise _network_error(exc) from exc


def create(deps: Deps, ctx: RequestContext, req: LoadBalancerCreate) -> LoadBalancerRecord:
    project = _tree.creating_project(ctx, rules.POST, req.project_id)
    provider = req.provider or deps.default_provider
    if provider not in deps.providers:
        raise exception.ProviderNotFound(provider)
    if req.listeners or req.pools:
        raise exception.ProviderUnsupported(provider, "single-call create of a tree")
    if req.flavor_id:
        raise exception.InvalidOption(f"Flavor {req.flavor_id} not found.")
    if req.availability_zone:
        raise exception.InvalidOption(f"Availability zone {req.availability_zone} not found.")
    if req.vip_qos_policy_id:
        raise exception.ProviderUnsupported(provider, "vip_qos_policy_id")
    with deps.db.reader() as session:
        _tree.check_quota(
            session, deps, project, "load_balancer", models.LoadBalancer, "Load Balancer"
        )
    lb_id = str(uuid.uuid4())
    port, subnet, owned = _vip_port(deps, ctx, req, lb_id, project)
    net = deps.network.get_network(subnet["network_id"]) or {}
    now = utcnow()

    def tx(session: Session) -> LoadBalancerRecord:
        _tree.check_quota(
            session, deps, project, "load_balancer", models.LoadBalancer, "Load Balancer"
        )
        row = models.LoadBalancer(
            id=lb_id,
            project_id=project,
            name=req.name or "",
            description=req.description or "",
            admin_state_up=req.admin_state_up,
            provisioning_status=_tree.PENDING_CREATE,
            operating_status=_tree.OFFLINE,
            tags=list(req.tags),
            created_at=now,
            provider=provider,
            host=deps.host,
            vip_address=port["fixed_ips"][0]["ip_address"],
            vip_port_id=port["id"],
            vip_subnet_id=subnet["id"],
            vip_network_id=subnet["network_id"],
            owns_port=owned,
            vip_mac=port.get("mac_address", ""),
            vip_prefixlen=ipaddress.ip_network(subnet["cidr"]).prefixlen,
            vip_gateway=subnet.get("gateway_ip"),
            vip_mtu=int(net.get("mtu") or 1500),
        )
        session.add(row)
        session.flush()
        return record(session, row)

    try:
        found = deps.db.write(tx)
    except Exception:
        if owned:
            deps.network.delete_port(port["id"])
        raise
    _tree.kick(deps, ctx, deps.host, lb_id)
    return found


def get(deps: Deps, ctx: RequestContext, lb_id: str) -> LoadBalancerRecord:
    with deps.db.reader() as session:
        row = _tree.load(session, models.LoadBalancer, lb_id, "Load Balancer")
        _tree.authorize(ctx, rules.GET_ONE, row)
        return record(session, row)


def list_(deps: Deps, ctx: RequestContext, page: ListPage) -> list[LoadBalancerRecord]:
    with deps.db.reader() as session:
        found = _tree.listed(session, ctx, models.LoadBalancer, rules, page)
        return [record(session, r) for r in found]


def update(
    deps: Deps, ctx: RequestContext, lb_id: str, req: LoadBalancerUpdate
) -> LoadBalancerRecord:
    if req.vip_qos_policy_id:
        raise exception.ProviderUnsupported("haproxy", "vip_qos_policy_id")

    def tx(session: Session) -> tuple[LoadBalancerRecord, str]:
        row = _tree.load(session, models.LoadBalancer, lb_id, "Load Balancer", lock=True)
        _tree.authorize(ctx, rules.PUT, row)
        _tree.lock_lb(session, lb_id)
        for name in ("name", "description", "admin_state_up", "tags"):
            if name in req.model_fields_set:
                value = getattr(req, name)
                setattr(row, name, value if value is not None else ("" if name != "tags" else []))
        return record(session, row), row.host

    found, host = deps.db.write(tx)
    _tree.kick(deps, ctx, host, lb_id)
    return found


def delete(deps: Deps, ctx: RequestContext, lb_id: str, cascade: bool) -> None:
    def tx(session: Session) -> str:
        row = _tree.load(session, models.LoadBalancer, lb_id, "Load Balancer", lock=True)
        _tree.authorize(ctx, rules.DELETE, row)
        if row.provisioning_status in (
            _tree.PENDING_CREATE,
            _tree.PENDING_UPDATE,
            _tree.PENDING_DELETE,
        ):
            raise exception.Immutable("Load Balancer", lb_id)
        children = record(session, row)
        if (children.listener_ids or children.pool_ids) and not cascade:
            raise exception.InvalidOption(f"Cannot delete Load Balancer {lb_id} - it has children")
        _tree.mark(row, _tree.PENDING_DELETE)
        kinds = (
            models.Listener,
            models.Pool,
            models.Member,
            models.HealthMonitor,
            models.L7Policy,
            models.L7Rule,
        )
        _tree.mark_children(session, kinds, "load_balancer_id", lb_id)
        return row.host

    host = deps.db.write(tx)
    _tree.kick(deps, ctx, host, lb_id, "delete")


def failover(deps: Deps, ctx: RequestContext, lb_id: str) -> None:
    def tx(session: Session) -> str:
        row = _tree.load(session, models.LoadBalancer, lb_id, "Load Balancer", lock=True)
        _tree.authorize(ctx, rules.PUT_FAILOVER, row)
        if row.provisioning_status not in (_tree.ACTIVE, _tree.ERROR):
            raise exception.Immutable("Load Balancer", lb_id)
        _tree.mark(row, _tree.PENDING_UPDATE)
        return row.host

    host = deps.db.write(tx)
    _tree.kick(deps, ctx, host, lb_id, "failover")


def stats(deps: Deps, ctx: RequestContext, lb_id: str) -> StatsRecord:
    with deps.db.reader() as session:
        row = _tree.load(session, models.LoadBalancer, lb_id, "Load Balancer")
        _tree.authorize(ctx, rules.GET_STATS, row)
        query = (
            sa.select(models.ListenerStats)
            .join(models.Listener, models.Listener.id == models.ListenerStats.listener_id)
            .where(models.Listener.load_balancer_id == lb_id)
        )
        found = list(session.scalars(query))
    return StatsRecord(
        bytes_in=sum(s.bytes_in for s in found),
        bytes_out=sum(s.bytes_out for s in found),
        active_connections=sum(s.active_connections for s in found),
        total_connections=sum(s.total_connections for s in found),
        request_errors=sum(s.request_errors for s in found),
    )
