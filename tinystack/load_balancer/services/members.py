"""Members of a pool: an address and port, weight, backup, admin state."""

from __future__ import annotations

import ipaddress

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.load_balancer import exception, models
from tinystack.load_balancer.policies import member as rules
from tinystack.load_balancer.services import _provisioning, _tree
from tinystack.load_balancer.services.deps import Deps
from tinystack.load_balancer.services.inputs import ListPage, MemberCreate, MemberUpdate
from tinystack.load_balancer.services.records import MemberRecord, of


def record(row: models.Member) -> MemberRecord:
    return of(MemberRecord, row)


def _address(value: str, what: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError as exc:
        raise exception.InvalidOption(f"{what} {value!r} is not a valid IP address.") from exc


def _pool(session: Session, pool_id: str) -> models.Pool:
    pool = _tree.load(session, models.Pool, pool_id, "Pool")
    if pool.provisioning_status == _tree.PENDING_DELETE:
        raise exception.ResourceNotFound("Pool", pool_id)
    return pool


def create(deps: Deps, ctx: RequestContext, pool_id: str, req: MemberCreate) -> MemberRecord:
    _address(req.address, "Member address")
    if req.monitor_address:
        _address(req.monitor_address, "Monitor address")
    if req.subnet_id and not deps.network.list_subnets(token=ctx.token, id=req.subnet_id):
        raise exception.InvalidOption(f"Subnet {req.subnet_id} not found.")

    def tx(session: Session) -> tuple[MemberRecord, str]:
        pool = _pool(session, pool_id)
        project = _tree.creating_project(ctx, rules.POST, req.project_id or pool.project_id)
        _tree.check_quota(session, deps, project, "member", models.Member, "Member")
        taken = session.scalar(
            sa.select(models.Member.id).where(
                models.Member.pool_id == pool_id,
                models.Member.address == req.address,
                models.Member.protocol_port == req.protocol_port,
            )
        )
        if taken:
            raise exception.Duplicate("member", f"address/port {req.address}:{req.protocol_port}")
        lb = _tree.lock_lb(session, pool.load_balancer_id)
        _tree.mark(pool, _tree.PENDING_UPDATE)
        row = models.Member(
            pool_id=pool_id,
            address=req.address,
            protocol_port=req.protocol_port,
            weight=req.weight,
            backup=req.backup,
            subnet_id=req.subnet_id,
            monitor_address=req.monitor_address,
            monitor_port=req.monitor_port,
            name=req.name or "",
            description=req.description or "",
        )
        _tree.add_pending(session, row, project, lb.id, req)
        return record(row), lb.host

    return _provisioning.write_and_refresh(deps, ctx, tx)


def _member(session: Session, pool_id: str, member_id: str, lock: bool = False) -> models.Member:
    _pool(session, pool_id)
    row = _tree.load(session, models.Member, member_id, "Member", lock=lock)
    if row.pool_id != pool_id:
        raise exception.ResourceNotFound("Member", member_id)
    return row


def get(deps: Deps, ctx: RequestContext, pool_id: str, member_id: str) -> MemberRecord:
    with deps.db.reader() as session:
        row = _member(session, pool_id, member_id)
        _tree.authorize(ctx, rules.GET_ONE, row)
        return record(row)


def list_(deps: Deps, ctx: RequestContext, pool_id: str, page: ListPage) -> list[MemberRecord]:
    with deps.db.reader() as session:
        pool = _pool(session, pool_id)
        _tree.authorize(ctx, rules.GET_ALL, pool)
        scope = models.Member.pool_id == pool_id
        found = _tree.listed(session, ctx, models.Member, rules, page, scope)
        return [record(r) for r in found]


def update(
    deps: Deps, ctx: RequestContext, pool_id: str, member_id: str, req: MemberUpdate
) -> MemberRecord:
    if req.monitor_address:
        _address(req.monitor_address, "Monitor address")

    def change(session: Session, row: models.Member) -> None:
        for name in (
            "name",
            "description",
            "admin_state_up",
            "tags",
            "weight",
            "backup",
            "monitor_address",
            "monitor_port",
        ):
            if name in req.model_fields_set:
                value = getattr(req, name)
                if value is not None or name.startswith("monitor_"):
                    setattr(row, name, value)

    return _provisioning.update(
        deps,
        ctx,
        rules.PUT,
        lambda session: _member(session, pool_id, member_id, lock=True),
        change,
        lambda _session, row: record(row),
    )


def delete(deps: Deps, ctx: RequestContext, pool_id: str, member_id: str) -> None:
    _provisioning.delete(
        deps, ctx, rules.DELETE, lambda session: _member(session, pool_id, member_id, lock=True)
    )
