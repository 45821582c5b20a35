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


def _authorized(
    deps: Deps, ctx: RequestContext, pool_id: str, rule: str, project_id: str | None
) -> None:
    """Refuse a caller ``rule`` does not allow on the pool (as Octavia: a 403, or 404 for
    no pool, comes before any 400 of the body's subnets, which the caller may not see)."""
    with deps.db.reader() as session:
        pool = _pool(session, pool_id)
        _tree.creating_project(ctx, rule, project_id or pool.project_id)


def _subnets(deps: Deps, ctx: RequestContext, subnet_ids: set[str | None]) -> None:
    for subnet_id in sorted(s for s in subnet_ids if s):
        if not deps.network.list_subnets(token=ctx.token, id=subnet_id):
            raise exception.InvalidOption(f"Subnet {subnet_id} not found.")


def create(deps: Deps, ctx: RequestContext, pool_id: str, req: MemberCreate) -> MemberRecord:
    _address(req.address, "Member address")
    if req.monitor_address:
        _address(req.monitor_address, "Monitor address")
    _authorized(deps, ctx, pool_id, rules.POST, req.project_id)
    _subnets(deps, ctx, {req.subnet_id} - {None})

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
        row = _row(pool_id, req)
        _tree.add_pending(session, row, project, lb.id, req)
        return record(row), lb.host

    return _provisioning.write_and_refresh(deps, ctx, tx)


#: what a batch update may change on a member it keeps (the rest names the member)
_KEPT = ("name", "description", "admin_state_up", "tags", "weight", "backup",
         "monitor_address", "monitor_port")  # fmt: skip


def batch_update(
    deps: Deps, ctx: RequestContext, pool_id: str, wanted: list[MemberCreate], additive_only: bool
) -> None:
    """Octavia's ``PUT /pools/{id}/members``: the pool's members become ``wanted``, matched
    by address and port: new ones are created, matched ones updated and (unless
    ``additive_only``) the others deleted, in one provisioning round (202, no body)."""
    keys = [(m.address, m.protocol_port) for m in wanted]
    if len(set(keys)) != len(keys):
        raise exception.InvalidOption("Duplicate address/port pairs in the member list.")
    for m in wanted:
        _address(m.address, "Member address")
        if m.monitor_address:
            _address(m.monitor_address, "Monitor address")
    _authorized(deps, ctx, pool_id, rules.PUT, None)
    _subnets(deps, ctx, {m.subnet_id for m in wanted} - {None})

    def tx(session: Session) -> tuple[str, str]:
        pool = _pool(session, pool_id)
        _tree.authorize(ctx, rules.PUT, pool)
        current = {
            (row.address, row.protocol_port): row
            for row in session.scalars(
                sa.select(models.Member).where(models.Member.pool_id == pool_id)
            )
            if row.provisioning_status != _tree.PENDING_DELETE
        }
        new = [m for m in wanted if (m.address, m.protocol_port) not in current]
        _tree.check_quota(
            session, deps, pool.project_id, "member", models.Member, "Member", len(new)
        )
        lb = _tree.lock_lb(session, pool.load_balancer_id)
        _tree.mark(pool, _tree.PENDING_UPDATE)
        given = {(m.address, m.protocol_port): m for m in wanted}
        for key, row in current.items():
            if key in given:
                req = given[key]
                for name in _KEPT:
                    if name in req.model_fields_set:
                        value = getattr(req, name)
                        none = "" if name in ("name", "description") else None
                        setattr(row, name, none if value is None else value)
                _tree.mark(row, _tree.PENDING_UPDATE)
            elif not additive_only:
                _tree.mark(row, _tree.PENDING_DELETE)
        for req in new:
            _tree.add_pending(session, _row(pool_id, req), pool.project_id, lb.id, req)
        return lb.host, lb.id

    host, lb_id = deps.db.write(tx)
    _tree.kick(deps, ctx, host, lb_id)


def _row(pool_id: str, req: MemberCreate) -> models.Member:
    return models.Member(
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
