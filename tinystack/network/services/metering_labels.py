"""Metering labels: what a project's routers (every router's, when ``shared``) count on
their external gateway, by the label's rules (:mod:`metering_label_rules`).

Visible to admins, to their project and, when shared, to every project. A change of a
label or of its rules re-applies the routers it reaches (the L3 agent writes the
label's chains from ``router_metering_labels``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.timeutils import new_uuid
from tinystack.network import models
from tinystack.network.payloads import MeteringLabel, MeteringRule
from tinystack.network.services import listing
from tinystack.network.services._metering_rows import label_row, routers_of, visible_clause
from tinystack.network.services.authz import Check
from tinystack.network.services.records import MeteringLabelRecord
from tinystack.network.services.visibility import project_of

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps


@dataclass(frozen=True, slots=True)
class MeteringLabelSpec:
    """A label as the client created it (the API applied the defaults)."""

    project_id: str | None
    name: str
    description: str
    shared: bool


def label_record(row: models.MeteringLabel) -> MeteringLabelRecord:
    return MeteringLabelRecord(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        description=row.description,
        shared=row.shared,
    )


def router_metering_labels(
    session: Session, routers: Sequence[tuple[str, str]]
) -> dict[str, tuple[MeteringLabel, ...]]:
    """What the L3 agent meters on each (router id, router project): its project's
    labels and the shared ones, with their rules."""
    projects = sorted({project for _rid, project in routers})
    if not projects:
        return {}
    labels = list(
        session.scalars(
            select(models.MeteringLabel)
            .where(
                or_(
                    models.MeteringLabel.project_id.in_(projects),
                    models.MeteringLabel.shared.is_(True),
                )
            )
            .order_by(models.MeteringLabel.id)
        )
    )
    rules: dict[str, list[MeteringRule]] = {label.id: [] for label in labels}
    if labels:
        stmt = (
            select(models.MeteringLabelRule)
            .where(models.MeteringLabelRule.metering_label_id.in_(list(rules)))
            .order_by(models.MeteringLabelRule.id)
        )
        for rule in session.scalars(stmt):
            rules[rule.metering_label_id].append(
                MeteringRule(
                    id=rule.id,
                    direction=rule.direction,
                    remote_ip_prefix=rule.remote_ip_prefix,
                    source_ip_prefix=rule.source_ip_prefix,
                    destination_ip_prefix=rule.destination_ip_prefix,
                    excluded=rule.excluded,
                )
            )
    out: dict[str, tuple[MeteringLabel, ...]] = {}
    for rid, project in routers:
        out[rid] = tuple(
            MeteringLabel(id=label.id, project_id=label.project_id, rules=tuple(rules[label.id]))
            for label in labels
            if label.shared or label.project_id == project
        )
    return out


SPEC = listing.ListSpec(
    resource="metering_label",
    model=models.MeteringLabel,
    columns={
        "id": models.MeteringLabel.id,
        "name": models.MeteringLabel.name,
        "description": models.MeteringLabel.description,
        "project_id": models.MeteringLabel.project_id,
        "tenant_id": models.MeteringLabel.project_id,
        "shared": models.MeteringLabel.shared,
    },
    converters={"shared": listing.to_bool},
    sortable=frozenset({"id", "name", "project_id", "tenant_id"}),
    getters={
        "id": lambda r: r.id,
        "name": lambda r: r.name,
        "project_id": lambda r: r.project_id,
        "tenant_id": lambda r: r.project_id,
    },
)


class MeteringLabels:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def list_items(
        self, ctx: RequestContext, query: listing.ListQuery
    ) -> list[MeteringLabelRecord]:
        with self.deps.db.reader() as session:
            stmt = select(models.MeteringLabel).where(visible_clause(models.MeteringLabel, ctx))
            return listing.run(
                session, SPEC, stmt, query, lambda _s, rows: [label_record(r) for r in rows]
            )

    def show(self, ctx: RequestContext, label_id: str) -> MeteringLabelRecord:
        with self.deps.db.reader() as session:
            return label_record(label_row(session, ctx, label_id))

    def create(self, ctx: RequestContext, spec: MeteringLabelSpec) -> MeteringLabelRecord:
        """Create a label (the API authorized the request already)."""

        def tx(session: Session) -> tuple[list[str], MeteringLabelRecord]:
            row = models.MeteringLabel(
                id=new_uuid(),
                project_id=spec.project_id or project_of(ctx),
                name=spec.name,
                description=spec.description,
                shared=spec.shared,
            )
            session.add(row)
            session.flush()
            return routers_of(session, row), label_record(row)

        routers, created = self.deps.db.write(tx)
        self.notify(routers)
        return created

    def delete(self, ctx: RequestContext, label_id: str, check: Check[MeteringLabelRecord]) -> None:
        def tx(session: Session) -> list[str]:
            row = label_row(session, ctx, label_id)
            check(label_record(row))
            routers = routers_of(session, row)
            session.execute(
                delete(models.MeteringLabelRule).where(
                    models.MeteringLabelRule.metering_label_id == row.id
                )
            )
            session.delete(row)
            return routers

        self.notify(self.deps.db.write(tx))

    def notify(self, router_ids: list[str]) -> None:
        """Re-apply the routers a label reaches."""
        if router_ids:
            self.deps.events.routers_changed(router_ids)
