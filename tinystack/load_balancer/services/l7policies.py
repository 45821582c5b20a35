"""L7 policies of an HTTP listener: ordered by position, an action when all rules match."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.load_balancer import exception, models
from tinystack.load_balancer.policies import l7policy as rules
from tinystack.load_balancer.services import _provisioning, _tree
from tinystack.load_balancer.services.deps import Deps
from tinystack.load_balancer.services.inputs import L7PolicyCreate, L7PolicyUpdate, ListPage
from tinystack.load_balancer.services.records import L7PolicyRecord, of


def record(session: Session, row: models.L7Policy) -> L7PolicyRecord:
    ids = _tree.child_ids(session, models.L7Rule, models.L7Rule.l7policy_id, row.id)
    return of(L7PolicyRecord, row, rule_ids=ids)


def _action(
    session: Session, lb_id: str, action: str, req: L7PolicyCreate | L7PolicyUpdate
) -> None:
    needs = {
        "REDIRECT_TO_POOL": "redirect_pool_id",
        "REDIRECT_TO_URL": "redirect_url",
        "REDIRECT_PREFIX": "redirect_prefix",
    }.get(action)
    if needs and getattr(req, needs) is None:
        raise exception.InvalidOption(f"{needs} is required for action {action}.")
    if action == "REDIRECT_TO_POOL" and req.redirect_pool_id:
        pool = session.get(models.Pool, req.redirect_pool_id)
        if pool is None or pool.load_balancer_id != lb_id:
            raise exception.InvalidOption(f"Pool {req.redirect_pool_id} not found.")
    if req.redirect_http_code is not None and action not in ("REDIRECT_TO_URL", "REDIRECT_PREFIX"):
        raise exception.InvalidOption("redirect_http_code is only valid for redirect actions.")


def _renumber(session: Session, listener_id: str, moved: models.L7Policy, position: int) -> None:
    """Octavia's positions: 1..n with no gaps; a policy placed at p pushes the rest down."""
    others = list(
        session.scalars(
            sa.select(models.L7Policy)
            .where(
                models.L7Policy.listener_id == listener_id,
                models.L7Policy.id != moved.id,
                models.L7Policy.provisioning_status != _tree.PENDING_DELETE,
            )
            .order_by(models.L7Policy.position)
        )
    )
    position = max(1, min(position, len(others) + 1))
    others.insert(position - 1, moved)
    for n, policy in enumerate(others, start=1):
        policy.position = n


def create(deps: Deps, ctx: RequestContext, req: L7PolicyCreate) -> L7PolicyRecord:
    if req.rules:
        raise exception.ProviderUnsupported("haproxy", "single-call create of a policy's rules")

    def tx(session: Session) -> tuple[L7PolicyRecord, str]:
        listener = _tree.load(session, models.Listener, req.listener_id, "Listener")
        if listener.protocol not in ("HTTP", "TERMINATED_HTTPS"):
            raise exception.InvalidOption("L7 policies are only valid on HTTP listeners.")
        project = _tree.creating_project(ctx, rules.POST, req.project_id or listener.project_id)
        _tree.check_quota(session, deps, project, "l7policy", models.L7Policy, "L7 Policy")
        _action(session, listener.load_balancer_id, req.action, req)
        lb = _tree.lock_lb(session, listener.load_balancer_id)
        _tree.mark(listener, _tree.PENDING_UPDATE)
        row = models.L7Policy(
            listener_id=listener.id,
            action=req.action,
            position=2147483647,
            redirect_pool_id=req.redirect_pool_id,
            redirect_url=req.redirect_url,
            redirect_prefix=req.redirect_prefix,
            redirect_http_code=req.redirect_http_code
            or (302 if req.action in ("REDIRECT_TO_URL", "REDIRECT_PREFIX") else None),
            name=req.name or "",
            description=req.description or "",
        )
        _tree.add_pending(session, row, project, lb.id, req)
        _renumber(session, listener.id, row, req.position or 2147483647)
        return record(session, row), lb.host

    return _provisioning.write_and_refresh(deps, ctx, tx)


def get(deps: Deps, ctx: RequestContext, policy_id: str) -> L7PolicyRecord:
    with deps.db.reader() as session:
        row = _tree.load(session, models.L7Policy, policy_id, "L7 Policy")
        _tree.authorize(ctx, rules.GET_ONE, row)
        return record(session, row)


def list_(deps: Deps, ctx: RequestContext, page: ListPage) -> list[L7PolicyRecord]:
    with deps.db.reader() as session:
        found = _tree.listed(session, ctx, models.L7Policy, rules, page)
        return [record(session, r) for r in found]


def _policy(session: Session, policy_id: str) -> models.L7Policy:
    return _tree.load(session, models.L7Policy, policy_id, "L7 Policy", lock=True)


#: the redirect fields each action keeps; Octavia clears the others when the action changes
_TARGETS = {
    "REDIRECT_TO_POOL": ("redirect_pool_id",),
    "REDIRECT_TO_URL": ("redirect_url", "redirect_http_code"),
    "REDIRECT_PREFIX": ("redirect_prefix", "redirect_http_code"),
    "REJECT": (),
}


def _clear_other_targets(row: models.L7Policy) -> None:
    kept = _TARGETS.get(row.action, ())
    for name in ("redirect_pool_id", "redirect_url", "redirect_prefix", "redirect_http_code"):
        if name not in kept:
            setattr(row, name, None)


def update(deps: Deps, ctx: RequestContext, policy_id: str, req: L7PolicyUpdate) -> L7PolicyRecord:
    def check(session: Session, row: models.L7Policy) -> None:
        if "action" in req.model_fields_set or any(
            getattr(req, n) is not None
            for n in ("redirect_pool_id", "redirect_url", "redirect_prefix")
        ):
            _action(session, row.load_balancer_id, req.action or row.action, req)

    def change(session: Session, row: models.L7Policy) -> None:
        for name in (
            "name",
            "description",
            "admin_state_up",
            "tags",
            "action",
            "redirect_pool_id",
            "redirect_url",
            "redirect_prefix",
            "redirect_http_code",
        ):
            value = getattr(req, name)
            if name in req.model_fields_set and (value is not None or name.startswith("redirect")):
                setattr(row, name, value)
        _clear_other_targets(row)
        if req.position is not None:
            _renumber(session, row.listener_id, row, req.position)

    return _provisioning.update(
        deps,
        ctx,
        rules.PUT,
        lambda session: _policy(session, policy_id),
        change,
        record,
        check=check,
    )


def delete(deps: Deps, ctx: RequestContext, policy_id: str) -> None:
    _provisioning.delete(
        deps,
        ctx,
        rules.DELETE,
        lambda session: _policy(session, policy_id),
        cascade=lambda session, _row: _tree.mark_children(
            session, (models.L7Rule,), "l7policy_id", policy_id
        ),
    )
