"""Row helpers the resource modules share: loading and authorizing a row, the load
balancer's provisioning lock (Octavia's "immutable" 409), a new child's starting
columns, PENDING_DELETE cascading to children, quotas, listing filters and pages, and
telling the provider agent after commit."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.timeutils import utcnow
from tinystack.load_balancer import exception, models
from tinystack.load_balancer.services.deps import Deps
from tinystack.load_balancer.services.inputs import ListPage

LOG = logging.getLogger(__name__)
T = TypeVar("T")
ACTIVE, ERROR = "ACTIVE", "ERROR"
PENDING_CREATE, PENDING_UPDATE, PENDING_DELETE = (
    "PENDING_CREATE",
    "PENDING_UPDATE",
    "PENDING_DELETE",
)
OFFLINE, ONLINE = "OFFLINE", "ONLINE"
#: columns a list may be filtered on (Octavia filters on any attribute)
FILTERABLE = frozenset(
    {
        "id",
        "name",
        "description",
        "project_id",
        "provisioning_status",
        "operating_status",
        "admin_state_up",
        "protocol",
        "protocol_port",
        "lb_algorithm",
        "address",
        "weight",
        "backup",
        "subnet_id",
        "type",
        "action",
        "listener_id",
        "pool_id",
        "loadbalancer_id",
        "vip_address",
        "vip_subnet_id",
        "vip_network_id",
        "vip_port_id",
        "provider",
        "compare_type",
        "key",
        "value",
        "invert",
        "position",
        "default_pool_id",
    }
)


def load(session: Session, model: type[T], id_: str, label: str, *, lock: bool = False) -> T:
    query = sa.select(model).where(model.id == id_)  # type: ignore[attr-defined]
    row = session.scalars(query.with_for_update() if lock else query).first()
    if row is None:
        raise exception.ResourceNotFound(label, id_)
    return row


def authorize(ctx: RequestContext, rule: str, row: Any) -> None:
    ctx.can(rule, {"project_id": row.project_id})


def creating_project(ctx: RequestContext, rule: str, project_id: str | None) -> str:
    """The project a create is for (an admin may name another) once ``rule`` allows it."""
    project = project_id or ctx.project_id or ""
    ctx.can(rule, {"project_id": project})
    return project


def lock_lb(session: Session, lb_id: str) -> models.LoadBalancer:
    """The load balancer, moved to PENDING_UPDATE; 409 unless it was ACTIVE."""
    lb = load(session, models.LoadBalancer, lb_id, "Load Balancer", lock=True)
    if lb.provisioning_status != ACTIVE:
        raise exception.Immutable("Load Balancer", lb_id)
    lb.provisioning_status = PENDING_UPDATE
    lb.updated_at = utcnow()
    return lb


def mark(row: Any, status: str) -> None:
    row.provisioning_status = status
    row.updated_at = utcnow()


class _Creating(Protocol):
    @property
    def admin_state_up(self) -> bool: ...
    @property
    def tags(self) -> Sequence[str]: ...


def add_pending(session: Session, row: Any, project_id: str, lb_id: str, req: _Creating) -> None:
    """Add ``row`` as a new child of load balancer ``lb_id``: a fresh id, the request's
    admin state and tags, created now, PENDING_CREATE and OFFLINE until its agent says."""
    row.id = str(uuid.uuid4())
    row.project_id = project_id
    row.load_balancer_id = lb_id
    row.admin_state_up = req.admin_state_up
    row.tags = list(req.tags)
    row.created_at = utcnow()
    row.provisioning_status = PENDING_CREATE
    row.operating_status = OFFLINE
    session.add(row)
    session.flush()


def mark_children(session: Session, kinds: Sequence[Any], column: str, parent_id: str) -> None:
    """Rows of ``kinds`` whose ``column`` is ``parent_id`` go PENDING_DELETE with it."""
    for model in kinds:
        session.execute(
            sa.update(model)
            .where(getattr(model, column) == parent_id)
            .values(provisioning_status=PENDING_DELETE)
        )


def check_quota(
    session: Session,
    deps: Deps,
    project_id: str,
    kind: str,
    model: Any,
    label: str,
    adding: int = 1,
) -> None:
    quota = session.get(models.Quota, project_id)
    limits = dict(deps.opts.quotas)
    if quota is not None:
        limits.update({k: v for k, v in quota.limits.items() if v is not None})
    limit = limits.get(kind, -1)
    if limit < 0:
        return
    used = session.scalar(
        sa.select(sa.func.count()).select_from(model).where(model.project_id == project_id)
    )
    if (used or 0) + adding > limit:
        raise exception.QuotaExceeded(label)


def listing(
    session: Session,
    ctx: RequestContext,
    model: Any,
    rules: tuple[str, str],
    filters: Sequence[tuple[str, str]],
    *scope: Any,
) -> list[Any]:
    """Rows the caller may list: every project's with ``rules[1]`` (get_all-global), else
    its own project's (``rules[0]``); filtered on the attributes given."""
    query = sa.select(model).where(*scope).order_by(model.created_at, model.id)
    if not ctx.allowed(rules[1], {"project_id": ctx.project_id or ""}):
        ctx.can(rules[0], {"project_id": ctx.project_id or ""})
        query = query.where(model.project_id == (ctx.project_id or ""))
    for key, value in filters:
        column_name = "load_balancer_id" if key == "loadbalancer_id" else key
        if key not in FILTERABLE or not hasattr(model, column_name):
            continue
        column = getattr(model, column_name)
        if key in ("admin_state_up", "backup", "invert"):
            query = query.where(column == (value.lower() == "true"))
        elif key in ("protocol_port", "weight", "position"):
            try:
                query = query.where(column == int(value))
            except ValueError as exc:
                raise exception.InvalidOption(f"{key} must be an integer") from exc
        else:
            query = query.where(column == value)
    return list(session.scalars(query))


def page(
    rows: list[T],
    limit: str | None,
    marker: str | None,
    key: Any,
    sort: Sequence[tuple[str, bool]] = (),
) -> list[T]:
    """``rows`` sorted (``sort``: attribute, descending), after ``marker``, ``limit`` long."""
    for name, descending in reversed(sort):
        column = "load_balancer_id" if name == "loadbalancer_id" else name
        if not rows or not hasattr(rows[0], column):
            raise exception.InvalidOption(f"Invalid sort key {name}.")
        rows = sorted(rows, key=lambda r: (getattr(r, column) is None, getattr(r, column)),
                      reverse=descending)  # fmt: skip
    if marker:
        ids = [key(r) for r in rows]
        if marker not in ids:
            raise exception.ResourceNotFound("Marker", marker)
        rows = rows[ids.index(marker) + 1 :]
    if limit:
        try:
            count = int(limit)
        except ValueError as exc:
            raise exception.InvalidOption("limit must be an integer") from exc
        if count < 0:
            raise exception.InvalidOption("limit must be positive")
        rows = rows[:count] if count else rows
    return rows


class _ListRules(Protocol):
    GET_ALL: str
    GET_ALL_GLOBAL: str


def listed(
    session: Session,
    ctx: RequestContext,
    model: Any,
    rules: _ListRules,
    wanted: ListPage,
    *scope: Any,
) -> list[Any]:
    """One page of a list: :func:`listing` under the resource's policy module's ``rules``
    (GET_ALL, GET_ALL_GLOBAL), then :func:`page` by id."""
    everyone = (rules.GET_ALL, rules.GET_ALL_GLOBAL)
    found = listing(session, ctx, model, everyone, wanted.filters, *scope)
    return page(found, wanted.limit, wanted.marker, lambda r: r.id, wanted.sort)


def kick(deps: Deps, ctx: RequestContext, host: str, lb_id: str, method: str = "refresh") -> None:
    """Tell the load balancer's agent to converge (after the transaction committed)."""
    getattr(deps.agent, method)({"request_id": ctx.request_id}, host, lb_id)


def child_ids(session: Session, model: Any, column: Any, parent_id: str) -> tuple[str, ...]:
    query = sa.select(model.id).where(column == parent_id).order_by(model.created_at, model.id)
    return tuple(session.scalars(query))
