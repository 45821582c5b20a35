"""Listeners: a protocol and port on the load balancer's VIP, a default pool."""

from __future__ import annotations

import ipaddress

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.load_balancer import exception, models
from tinystack.load_balancer.policies import listener as rules
from tinystack.load_balancer.services import _provisioning, _tree
from tinystack.load_balancer.services.deps import Deps
from tinystack.load_balancer.services.inputs import ListenerCreate, ListenerUpdate, ListPage
from tinystack.load_balancer.services.records import ListenerRecord, StatsRecord, of

#: what the HAProxy provider runs (UDP and SCTP need LVS, TERMINATED_HTTPS a key manager)
SUPPORTED = {"haproxy": {"HTTP", "HTTPS", "TCP"}}
_FIELDS = (
    "name",
    "description",
    "admin_state_up",
    "tags",
    "connection_limit",
    "timeout_client_data",
    "timeout_member_connect",
    "timeout_member_data",
    "timeout_tcp_inspect",
    "insert_headers",
    "allowed_cidrs",
)


def record(session: Session, row: models.Listener) -> ListenerRecord:
    ids = _tree.child_ids(session, models.L7Policy, models.L7Policy.listener_id, row.id)
    return of(ListenerRecord, row, l7policy_ids=ids)


def _default_pool(session: Session, lb_id: str, pool_id: str | None) -> None:
    if pool_id is None:
        return
    pool = session.get(models.Pool, pool_id)
    if pool is None or pool.load_balancer_id != lb_id:
        raise exception.InvalidOption(f"Pool {pool_id} not found.")
    if pool.listener_id is not None:
        raise exception.Duplicate("Listener", f"pool {pool_id}")


def _transport(protocol: str) -> str:
    """The L4 protocol a listener takes its port on: a UDP, an SCTP and a TCP-based
    listener may share a port number (Octavia refuses only two of one transport)."""
    return protocol if protocol in ("UDP", "SCTP") else "TCP"


def _allowed_cidrs(lb: models.LoadBalancer, cidrs: list[str] | None) -> None:
    """Each allowed CIDR is a network of the VIP's IP version (Octavia: a 400)."""
    vip = ipaddress.ip_address(lb.vip_address) if lb.vip_address else None
    for cidr in cidrs or []:
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError as exc:
            raise exception.InvalidOption(f"{cidr!r} is not a valid CIDR.") from exc
        if vip is not None and net.version != vip.version:
            raise exception.InvalidOption(
                f"CIDR {cidr} IP version incompatible with VIP {vip} IP version."
            )


def _apply(row: models.Listener, req: ListenerCreate | ListenerUpdate) -> None:
    for name in _FIELDS:
        if name in req.model_fields_set:
            value = getattr(req, name)
            if value is None:
                value = {
                    "name": "",
                    "description": "",
                    "connection_limit": -1,
                    "tags": [],
                    "insert_headers": {},
                    "allowed_cidrs": [],
                }.get(name)
            if value is not None:
                setattr(row, name, value)


def create(deps: Deps, ctx: RequestContext, req: ListenerCreate) -> ListenerRecord:
    if req.default_tls_container_ref or req.protocol == "TERMINATED_HTTPS":
        raise exception.InvalidOption(
            "TERMINATED_HTTPS needs a key manager, which this cloud lacks."
        )

    def tx(session: Session) -> tuple[ListenerRecord, str]:
        lb = _tree.load(session, models.LoadBalancer, req.loadbalancer_id, "Load Balancer")
        project = _tree.creating_project(ctx, rules.POST, req.project_id or lb.project_id)
        if req.protocol not in SUPPORTED.get(lb.provider, {req.protocol}):
            raise exception.ProviderUnsupported(lb.provider, f"protocol {req.protocol}")
        _tree.check_quota(session, deps, project, "listener", models.Listener, "Listener")
        on_port = session.scalars(
            sa.select(models.Listener.protocol).where(
                models.Listener.load_balancer_id == lb.id,
                models.Listener.protocol_port == req.protocol_port,
            )
        ).all()
        if _transport(req.protocol) in {_transport(p) for p in on_port}:
            raise exception.Duplicate("Listener", f"protocol_port {req.protocol_port}")
        _default_pool(session, lb.id, req.default_pool_id)
        _allowed_cidrs(lb, req.allowed_cidrs)
        _tree.lock_lb(session, lb.id)
        row = models.Listener(
            protocol=req.protocol,
            protocol_port=req.protocol_port,
            default_pool_id=req.default_pool_id,
            name="",
            description="",
        )
        _apply(row, req)
        _tree.add_pending(session, row, project, lb.id, req)
        if req.default_pool_id:
            pool = session.get(models.Pool, req.default_pool_id)
            if pool is not None:
                pool.listener_id = row.id
        return record(session, row), lb.host

    return _provisioning.write_and_refresh(deps, ctx, tx)


def get(deps: Deps, ctx: RequestContext, listener_id: str) -> ListenerRecord:
    with deps.db.reader() as session:
        row = _tree.load(session, models.Listener, listener_id, "Listener")
        _tree.authorize(ctx, rules.GET_ONE, row)
        return record(session, row)


def list_(deps: Deps, ctx: RequestContext, page: ListPage) -> list[ListenerRecord]:
    with deps.db.reader() as session:
        found = _tree.listed(session, ctx, models.Listener, rules, page)
        return [record(session, r) for r in found]


def _listener(session: Session, listener_id: str) -> models.Listener:
    return _tree.load(session, models.Listener, listener_id, "Listener", lock=True)


def update(
    deps: Deps, ctx: RequestContext, listener_id: str, req: ListenerUpdate
) -> ListenerRecord:
    def change(session: Session, row: models.Listener) -> None:
        if "default_pool_id" in req.model_fields_set and req.default_pool_id != row.default_pool_id:
            _default_pool(session, row.load_balancer_id, req.default_pool_id)
            old = session.get(models.Pool, row.default_pool_id or "")
            if old is not None:
                old.listener_id = None
            new = session.get(models.Pool, req.default_pool_id or "")
            if new is not None:
                new.listener_id = row.id
            row.default_pool_id = req.default_pool_id
        _apply(row, req)

    def check(session: Session, row: models.Listener) -> None:
        if "allowed_cidrs" in req.model_fields_set:
            lb = _tree.load(session, models.LoadBalancer, row.load_balancer_id, "Load Balancer")
            _allowed_cidrs(lb, req.allowed_cidrs)

    return _provisioning.update(
        deps,
        ctx,
        rules.PUT,
        lambda session: _listener(session, listener_id),
        change,
        record,
        check=check,
    )


def delete(deps: Deps, ctx: RequestContext, listener_id: str) -> None:
    _provisioning.delete(deps, ctx, rules.DELETE, lambda session: _listener(session, listener_id))


def stats(deps: Deps, ctx: RequestContext, listener_id: str) -> StatsRecord:
    with deps.db.reader() as session:
        row = _tree.load(session, models.Listener, listener_id, "Listener")
        _tree.authorize(ctx, rules.GET_STATS, row)
        found = session.get(models.ListenerStats, listener_id)
        if found is None:
            return StatsRecord(0, 0, 0, 0, 0)
        return of(StatsRecord, found)
