"""Metering label rules: what a label counts, ``direction`` (``ingress`` into the
router's gateway, ``egress`` out of it) with either ``remote_ip_prefix`` or a
``source_ip_prefix``/``destination_ip_prefix`` pair; ``excluded`` traffic is not counted.

Rules are created and deleted, never updated (as upstream). Two rules of one label with
the same direction and ``excluded`` may not have overlapping remote prefixes (409
``MeteringLabelRuleOverlaps``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, Conflict, NotFound
from tinystack.common.timeutils import new_uuid
from tinystack.network import models
from tinystack.network.exception import http_bad_request
from tinystack.network.services import listing
from tinystack.network.services._metering_rows import label_row, routers_of, visible_clause
from tinystack.network.services.authz import Check
from tinystack.network.services.records import MeteringLabelRuleRecord
from tinystack.network.services.visibility import project_of

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

DIRECTIONS = ("ingress", "egress")


@dataclass(frozen=True, slots=True)
class MeteringLabelRuleSpec:
    """A rule as the client created it (the API applied the defaults)."""

    metering_label_id: str
    direction: str
    remote_ip_prefix: str | None
    source_ip_prefix: str | None
    destination_ip_prefix: str | None
    excluded: bool


def rule_not_found(rule_id: str) -> NotFound:
    return NotFound(
        f"Metering label rule {rule_id} does not exist.", code="MeteringLabelRuleNotFound"
    )


def rule_record(row: models.MeteringLabelRule) -> MeteringLabelRuleRecord:
    return MeteringLabelRuleRecord(
        id=row.id,
        project_id=row.project_id,
        metering_label_id=row.metering_label_id,
        direction=row.direction,
        remote_ip_prefix=row.remote_ip_prefix,
        source_ip_prefix=row.source_ip_prefix,
        destination_ip_prefix=row.destination_ip_prefix,
        excluded=row.excluded,
    )


def _cidr(name: str, value: str | None) -> str | None:
    """A prefix as upstream accepts it: a CIDR without host bits (a bare address is a
    host prefix)."""
    if value is None:
        return None
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise http_bad_request(
            f"Invalid input for {name}. Reason: '{value}' is not a valid IP subnet."
        ) from None
    if "/" in value and str(net) != value:
        raise http_bad_request(
            f"Invalid input for {name}. Reason: '{value}' isn't a recognized IP subnet "
            f"cidr, '{net}' is recommended."
        )
    return str(net)


def validate(spec: MeteringLabelRuleSpec) -> MeteringLabelRuleSpec:
    """The spec with its prefixes normalized; 400 for what upstream rejects."""
    if spec.direction not in DIRECTIONS:
        raise http_bad_request(
            f"Invalid input for direction. Reason: {spec.direction} is not in {list(DIRECTIONS)}."
        )
    remote = _cidr("remote_ip_prefix", spec.remote_ip_prefix)
    source = _cidr("source_ip_prefix", spec.source_ip_prefix)
    destination = _cidr("destination_ip_prefix", spec.destination_ip_prefix)
    if remote and (source or destination):
        raise BadRequest(
            "Cannot use 'remote-ip-prefix' in conjunction with 'source-ip-prefix' or "
            "'destination-ip-prefix'.",
            code="Invalid",
        )
    if not (remote or source or destination):
        raise BadRequest(
            "You must define at least one of the following parameters 'remote_ip_prefix', "
            "or 'source_ip_prefix' or 'destination_ip_prefix'.",
            code="Invalid",
        )
    versions = {ipaddress.ip_network(p).version for p in (source, destination) if p}
    if len(versions) > 1:
        raise http_bad_request("source_ip_prefix and destination_ip_prefix differ in IP version")
    return MeteringLabelRuleSpec(
        spec.metering_label_id, spec.direction, remote, source, destination, spec.excluded
    )


def _check_overlap(session: Session, spec: MeteringLabelRuleSpec) -> None:
    if spec.remote_ip_prefix is None:
        return
    mine = ipaddress.ip_network(spec.remote_ip_prefix)
    stmt = select(models.MeteringLabelRule.remote_ip_prefix).where(
        models.MeteringLabelRule.metering_label_id == spec.metering_label_id,
        models.MeteringLabelRule.direction == spec.direction,
        models.MeteringLabelRule.excluded == spec.excluded,
        models.MeteringLabelRule.remote_ip_prefix.is_not(None),
    )
    for prefix in session.scalars(stmt):
        other = ipaddress.ip_network(str(prefix))
        if other.version == mine.version and other.overlaps(mine):
            raise Conflict(
                f"Metering label rule with remote_ip_prefix {spec.remote_ip_prefix} "
                "overlaps another.",
                code="MeteringLabelRuleOverlaps",
            )


SPEC = listing.ListSpec(
    resource="metering_label_rule",
    model=models.MeteringLabelRule,
    columns={
        "id": models.MeteringLabelRule.id,
        "project_id": models.MeteringLabelRule.project_id,
        "tenant_id": models.MeteringLabelRule.project_id,
        "metering_label_id": models.MeteringLabelRule.metering_label_id,
        "direction": models.MeteringLabelRule.direction,
        "remote_ip_prefix": models.MeteringLabelRule.remote_ip_prefix,
        "source_ip_prefix": models.MeteringLabelRule.source_ip_prefix,
        "destination_ip_prefix": models.MeteringLabelRule.destination_ip_prefix,
        "excluded": models.MeteringLabelRule.excluded,
    },
    converters={"excluded": listing.to_bool},
    sortable=frozenset({"id", "project_id", "tenant_id", "metering_label_id", "direction"}),
    getters={
        "id": lambda r: r.id,
        "project_id": lambda r: r.project_id,
        "tenant_id": lambda r: r.project_id,
        "metering_label_id": lambda r: r.metering_label_id,
        "direction": lambda r: r.direction,
    },
)


class MeteringLabelRules:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def list_items(
        self, ctx: RequestContext, query: listing.ListQuery
    ) -> list[MeteringLabelRuleRecord]:
        with self.deps.db.reader() as session:
            model = models.MeteringLabelRule
            stmt = select(model).where(visible_clause(model, ctx))
            return listing.run(
                session, SPEC, stmt, query, lambda _s, rows: [rule_record(r) for r in rows]
            )

    def show(self, ctx: RequestContext, rule_id: str) -> MeteringLabelRuleRecord:
        with self.deps.db.reader() as session:
            return rule_record(self._row(session, ctx, rule_id))

    def create(
        self,
        ctx: RequestContext,
        spec: MeteringLabelRuleSpec,
        check: Check[MeteringLabelRuleRecord],
    ) -> MeteringLabelRuleRecord:
        """Create a rule in its label's project; ``check`` sees it before it is added."""
        spec = validate(spec)

        def tx(session: Session) -> tuple[list[str], MeteringLabelRuleRecord]:
            label = label_row(session, ctx, spec.metering_label_id)
            row = models.MeteringLabelRule(
                id=new_uuid(),
                project_id=label.project_id,
                metering_label_id=label.id,
                direction=spec.direction,
                remote_ip_prefix=spec.remote_ip_prefix,
                source_ip_prefix=spec.source_ip_prefix,
                destination_ip_prefix=spec.destination_ip_prefix,
                excluded=spec.excluded,
            )
            check(rule_record(row))
            _check_overlap(session, spec)
            session.add(row)
            session.flush()
            return routers_of(session, label), rule_record(row)

        routers, created = self.deps.db.write(tx)
        self.deps.metering_labels.notify(routers)
        return created

    def delete(
        self, ctx: RequestContext, rule_id: str, check: Check[MeteringLabelRuleRecord]
    ) -> None:
        def tx(session: Session) -> list[str]:
            row = self._row(session, ctx, rule_id)
            check(rule_record(row))
            label = session.get(models.MeteringLabel, row.metering_label_id)
            session.delete(row)
            return routers_of(session, label) if label is not None else []

        self.deps.metering_labels.notify(self.deps.db.write(tx))

    @staticmethod
    def _row(session: Session, ctx: RequestContext, rule_id: str) -> models.MeteringLabelRule:
        row = session.get(models.MeteringLabelRule, rule_id)
        if row is None or not (ctx.is_admin or row.project_id == project_of(ctx)):
            raise rule_not_found(rule_id)
        return row
