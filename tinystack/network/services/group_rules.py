"""Security group rules as both resources show them (a group lists its rules).

Shared by ``security_groups`` and ``security_group_rules`` so neither imports the other's
module for it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.timeutils import isotime
from tinystack.network import models
from tinystack.network.services.standard_attrs import owner_fields


def normalized_cidr(prefix: str | None) -> str | None:
    return str(ipaddress.ip_network(prefix, strict=False)) if prefix else None


def render_rules(
    session: Session, rows: Sequence[models.SecurityGroupRule]
) -> list[dict[str, Any]]:
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
        {
            "id": r.id,
            "security_group_id": r.security_group_id,
            **owner_fields(r.project_id),
            "direction": r.direction,
            "ethertype": r.ethertype,
            "protocol": r.protocol,
            "port_range_min": r.port_range_min,
            "port_range_max": r.port_range_max,
            "remote_ip_prefix": r.remote_ip_prefix,
            "normalized_cidr": normalized_cidr(r.remote_ip_prefix),
            "remote_group_id": r.remote_group_id,
            "belongs_to_default_sg": r.security_group_id in defaults,
            "description": r.description,
            "created_at": isotime(r.created_at),
            "updated_at": isotime(r.updated_at),
            "revision_number": r.revision_number,
            "_policy": {"security_group:project_id": owners.get(r.security_group_id)},
        }
        for r in rows
    ]
