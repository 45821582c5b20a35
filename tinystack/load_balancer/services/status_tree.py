"""A load balancer's status tree: every object's provisioning and operating status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tinystack.common.auth.context import RequestContext
from tinystack.load_balancer import models
from tinystack.load_balancer.policies import loadbalancer as rules
from tinystack.load_balancer.services import _tree
from tinystack.load_balancer.services.deps import Deps


@dataclass(frozen=True, slots=True)
class StatusNode:
    """One object of the tree: its kind (``loadbalancer``, ``listeners``, ``pools``,
    ``members``, ``health_monitor``), statuses and children by kind."""

    id: str
    name: str
    provisioning_status: str
    operating_status: str
    extra: tuple[tuple[str, str | int], ...] = ()
    children: tuple[tuple[str, tuple[StatusNode, ...]], ...] = ()


def _node(
    row: Any,
    *extra: tuple[str, str | int],
    children: tuple[tuple[str, tuple[StatusNode, ...]], ...] = (),
) -> StatusNode:
    return StatusNode(
        row.id,
        row.name,
        row.provisioning_status,
        row.operating_status,
        extra,
        children,
    )


def get(deps: Deps, ctx: RequestContext, lb_id: str) -> StatusNode:
    with deps.db.reader() as session:
        lb = _tree.load(session, models.LoadBalancer, lb_id, "Load Balancer")
        _tree.authorize(ctx, rules.GET_STATUS, lb)

        def rows(model: Any) -> list[Any]:
            return list(
                session.scalars(
                    sa.select(model)
                    .where(model.load_balancer_id == lb_id)
                    .order_by(model.created_at)
                )
            )

        members, monitors = rows(models.Member), rows(models.HealthMonitor)
        pools = {}
        for p in rows(models.Pool):
            hm = [_node(h, ("type", h.type)) for h in monitors if h.pool_id == p.id]
            mine = tuple(
                _node(m, ("address", m.address), ("protocol_port", m.protocol_port))
                for m in members
                if m.pool_id == p.id
            )
            kids: tuple[tuple[str, tuple[StatusNode, ...]], ...] = (("members", mine),)
            if hm:
                kids += (("health_monitor", (hm[0],)),)
            pools[p.id] = (p.listener_id, _node(p, children=kids))
        listeners = tuple(
            _node(
                li, children=(("pools", tuple(n for owner, n in pools.values() if owner == li.id)),)
            )
            for li in rows(models.Listener)
        )
        return _node(lb, children=(("listeners", listeners),))
