"""Quotas: per-project limits per resource, enforced inside the creating transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tinystack.network import models
from tinystack.network.conf import QUOTA_DEFAULTS, Options
from tinystack.network.exception import invalid_input, over_quota
from tinystack.network.services.records import QuotaRecord, QuotaUsage

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

COUNTED: dict[str, Any] = {
    "network": models.Network,
    "subnet": models.Subnet,
    "subnetpool": models.SubnetPool,
    "port": models.Port,
    "router": models.Router,
    "floatingip": models.FloatingIP,
    "security_group": models.SecurityGroup,
    "security_group_rule": models.SecurityGroupRule,
    "rbac_policy": models.RbacPolicy,
}


def defaults(opts: Options) -> dict[str, int]:
    return {name: opts.quota(name) for name in QUOTA_DEFAULTS}


def limits(session: Session, opts: Options, project_id: str) -> dict[str, int]:
    out = defaults(opts)
    for row in session.scalars(select(models.Quota).where(models.Quota.project_id == project_id)):
        if row.resource in out:
            out[row.resource] = row.limit
    return out


def usage(session: Session, project_id: str, resource: str) -> int:
    model = COUNTED[resource]
    stmt = select(func.count()).select_from(model).where(model.project_id == project_id)
    return int(session.scalar(stmt) or 0)


def enforce(session: Session, opts: Options, project_id: str, counts: dict[str, int]) -> None:
    """Raise OverQuota if creating ``counts`` more resources exceeds the project's limits."""
    if not project_id:
        return
    rows = session.scalars(
        select(models.Quota).where(
            models.Quota.project_id == project_id, models.Quota.resource.in_(list(counts))
        )
    )
    overrides = {r.resource: r.limit for r in rows}
    over = []
    for resource, delta in counts.items():
        limit = overrides.get(resource, opts.quota(resource))
        if limit >= 0 and usage(session, project_id, resource) + delta > limit:
            over.append(resource)
    if over:
        raise over_quota(sorted(over))


class Quotas:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def list_items(self) -> list[QuotaRecord]:
        """Projects with quotas that differ from the defaults."""
        with self.deps.db.reader() as session:
            projects = sorted(set(session.scalars(select(models.Quota.project_id))))
            return [
                QuotaRecord(project_id, limits(session, self.deps.opts, project_id))
                for project_id in projects
            ]

    def show(self, project_id: str) -> dict[str, int]:
        with self.deps.db.reader() as session:
            return limits(session, self.deps.opts, project_id)

    def defaults(self) -> dict[str, int]:
        return defaults(self.deps.opts)

    def details(self, project_id: str) -> dict[str, QuotaUsage]:
        with self.deps.db.reader() as session:
            current = limits(session, self.deps.opts, project_id)
            return {
                name: QuotaUsage(limit, usage(session, project_id, name))
                for name, limit in current.items()
            }

    def update(self, project_id: str, values: Mapping[str, object]) -> dict[str, int]:
        """Set limits from the values a client sent (each checked here)."""
        known = set(QUOTA_DEFAULTS)
        parsed: dict[str, int] = {}
        for name, raw in values.items():
            if name not in known:
                raise invalid_input(f"Unrecognized quota resource {name}")
            try:
                limit = int(raw)  # type: ignore[call-overload]
            except (TypeError, ValueError):
                raise invalid_input(f"'{raw}' is not an integer") from None
            if limit < -1:
                raise invalid_input(f"'{limit}' is too small - must be at least '-1'")
            parsed[name] = limit

        def tx(session: Session) -> dict[str, int]:
            for name, limit in parsed.items():
                row = session.get(models.Quota, (project_id, name))
                if row is None:
                    session.add(models.Quota(project_id=project_id, resource=name, limit=limit))
                else:
                    row.limit = limit
            session.flush()
            return limits(session, self.deps.opts, project_id)

        return self.deps.db.write(tx)

    def delete(self, project_id: str) -> None:
        def tx(session: Session) -> None:
            session.execute(delete(models.Quota).where(models.Quota.project_id == project_id))

        self.deps.db.write(tx)
