"""Security group rules as both resources show them (a group lists its rules).

Shared by ``security_groups`` and ``security_group_rules`` so neither imports the other's
module for it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.network import models
from tinystack.network.services.records import SecurityGroupRuleRecord


def normalized_cidr(prefix: str | None) -> str | None:
    return str(ipaddress.ip_network(prefix, strict=False)) if prefix else None


def rule_records(
    session: Session, rows: Sequence[models.SecurityGroupRule]
) -> list[SecurityGroupRuleRecord]:
    """``rows`` as records: one query each for default groups and group owners."""
    group_ids = list({r.security_group_id for r in rows})
    defaults: set[str] = set()
    owners: dict[str, str] = {}
    if group_ids:
        defaults = set(
            session.scalars(
                select(models.DefaultSecurityGroup.security_group_id).where(
                    models.DefaultSecurityGroup.security_group_id.in_(group_ids)
                )
            )
        )
        owners = dict(
            session.execute(
                select(models.SecurityGroup.id, models.SecurityGroup.project_id).where(
                    models.SecurityGroup.id.in_(group_ids)
                )
            ).all()
        )
    return [
        SecurityGroupRuleRecord(
            id=r.id,
            security_group_id=r.security_group_id,
            project_id=r.project_id,
            direction=r.direction,
            ethertype=r.ethertype,
            protocol=r.protocol,
            port_range_min=r.port_range_min,
            port_range_max=r.port_range_max,
            remote_ip_prefix=r.remote_ip_prefix,
            normalized_cidr=normalized_cidr(r.remote_ip_prefix),
            remote_group_id=r.remote_group_id,
            belongs_to_default_sg=r.security_group_id in defaults,
            description=r.description,
            created_at=r.created_at,
            updated_at=r.updated_at,
            revision_number=r.revision_number,
            group_project_id=owners.get(r.security_group_id),
        )
        for r in rows
    ]
