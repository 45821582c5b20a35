"""Archive policy rules: which archive policy a metric created without one gets, by
the metric's name (``fnmatch`` patterns; the longest matching pattern wins)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tinystack.common.exceptions import BadRequest, Conflict, NotFound
from tinystack.metric import models
from tinystack.metric.services.deps import Deps
from tinystack.metric.services.records import ArchivePolicyRuleRecord


def record(row: models.ArchivePolicyRule) -> ArchivePolicyRuleRecord:
    return ArchivePolicyRuleRecord(row.name, row.archive_policy_name, row.metric_pattern)


def _load(session: Session, name: str) -> models.ArchivePolicyRule:
    row = session.get(models.ArchivePolicyRule, name)
    if row is None:
        raise NotFound(f"Archive policy rule {name} does not exist")
    return row


def create(
    deps: Deps, name: str, archive_policy_name: str, pattern: str
) -> ArchivePolicyRuleRecord:
    def tx(session: Session) -> ArchivePolicyRuleRecord:
        if session.get(models.ArchivePolicy, archive_policy_name) is None:
            raise BadRequest(f"Archive policy {archive_policy_name} does not exist")
        if session.get(models.ArchivePolicyRule, name) is not None:
            raise Conflict(f"Archive policy rule {name} already exists")
        row = models.ArchivePolicyRule(
            name=name, archive_policy_name=archive_policy_name, metric_pattern=pattern
        )
        session.add(row)
        return record(row)

    return deps.db.write(tx)


def get(deps: Deps, name: str) -> ArchivePolicyRuleRecord:
    with deps.db.reader() as session:
        return record(_load(session, name))


def list_all(deps: Deps) -> list[ArchivePolicyRuleRecord]:
    with deps.db.reader() as session:
        rows = session.scalars(
            select(models.ArchivePolicyRule).order_by(
                func.length(models.ArchivePolicyRule.metric_pattern).desc(),
                models.ArchivePolicyRule.name,
            )
        )
        return [record(r) for r in rows]


def rename(deps: Deps, name: str, new_name: str) -> ArchivePolicyRuleRecord:
    def tx(session: Session) -> ArchivePolicyRuleRecord:
        row = _load(session, name)
        if new_name != name and session.get(models.ArchivePolicyRule, new_name) is not None:
            raise Conflict(f"Archive policy rule {new_name} already exists")
        renamed = models.ArchivePolicyRule(
            name=new_name,
            archive_policy_name=row.archive_policy_name,
            metric_pattern=row.metric_pattern,
        )
        session.delete(row)
        session.flush()
        session.add(renamed)
        return record(renamed)

    return deps.db.write(tx)


def delete(deps: Deps, name: str) -> None:
    def tx(session: Session) -> None:
        session.delete(_load(session, name))

    deps.db.write(tx)
