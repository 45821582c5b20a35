"""The write flows every child of a load balancer (listener, pool, member, health monitor,
L7 policy and rule) shares: one transaction that loads and authorizes the row, takes
the provisioning lock (the load balancer ACTIVE -> PENDING_UPDATE, else 409), moves the
row to PENDING_UPDATE or PENDING_DELETE; after commit the load balancer's agent is told
to converge. What differs per resource comes in as callables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.load_balancer.services import _tree
from tinystack.load_balancer.services.deps import Deps


class _OnLoadBalancer(Protocol):
    @property
    def load_balancer_id(self) -> str: ...


R = TypeVar("R", bound=_OnLoadBalancer)
#: a step in the transaction on the loaded (locked) row
Step = Callable[[Session, Any], None]


def write_and_refresh(deps: Deps, ctx: RequestContext, tx: Callable[[Session], tuple[R, str]]) -> R:
    """Commit ``tx`` (it returns the written record and its load balancer's host), then
    tell that host's agent."""
    found, host = deps.db.write(tx)
    _tree.kick(deps, ctx, host, found.load_balancer_id)
    return found


def update(
    deps: Deps,
    ctx: RequestContext,
    rule: str,
    load: Callable[[Session], Any],
    change: Step,
    show: Callable[[Session, Any], R],
    *,
    check: Step | None = None,
) -> R:
    """Octavia's PUT of a child: ``load`` the row (locked), authorize ``rule`` on it,
    ``check`` the request against it (before the lock, so a bad request is a 400 even on
    a busy load balancer), take the provisioning lock, ``change`` the row, mark it
    PENDING_UPDATE and ``show`` it."""

    def tx(session: Session) -> tuple[R, str]:
        row = load(session)
        _tree.authorize(ctx, rule, row)
        if check is not None:
            check(session, row)
        lb = _tree.lock_lb(session, row.load_balancer_id)
        change(session, row)
        _tree.mark(row, _tree.PENDING_UPDATE)
        return show(session, row), lb.host

    return write_and_refresh(deps, ctx, tx)


def delete(
    deps: Deps,
    ctx: RequestContext,
    rule: str,
    load: Callable[[Session], Any],
    *,
    cascade: Step | None = None,
) -> None:
    """Octavia's DELETE of a child: ``load`` the row (locked), authorize ``rule`` on it,
    take the provisioning lock, ``cascade`` (refuse, or mark what hangs off the row) and
    mark the row PENDING_DELETE; the agent removes it once HAProxy no longer uses it."""

    def tx(session: Session) -> tuple[str, str]:
        row = load(session)
        _tree.authorize(ctx, rule, row)
        lb = _tree.lock_lb(session, row.load_balancer_id)
        if cascade is not None:
            cascade(session, row)
        _tree.mark(row, _tree.PENDING_DELETE)
        return lb.host, lb.id

    host, lb_id = deps.db.write(tx)
    _tree.kick(deps, ctx, host, lb_id)
