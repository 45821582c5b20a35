"""ORM rows to records: the one place a service's table row becomes what it returns.

Records are built inside the transaction that loaded the rows; nothing outside the
service layer sees a row or a session.
"""

from __future__ import annotations

from tinystack.identity import models
from tinystack.identity.services import records


def user(row: models.User) -> records.User:
    return records.User(
        id=row.id,
        name=row.name,
        domain_id=row.domain_id,
        enabled=row.enabled,
        password_expires_at=row.password_expires_at,
        default_project_id=row.default_project_id,
        description=row.description,
        options=row.options,
        extra=row.extra,
    )


def group(row: models.Group) -> records.Group:
    return records.Group(
        id=row.id,
        name=row.name,
        domain_id=row.domain_id,
        description=row.description,
        extra=row.extra,
    )


def project(row: models.Project) -> records.Project:
    return records.Project(
        id=row.id,
        name=row.name,
        domain_id=row.domain_id,
        parent_id=row.parent_id,
        description=row.description,
        enabled=row.enabled,
        tags=tuple(t.name for t in row.tags),
        extra=row.extra,
    )


def domain(row: models.Domain) -> records.Domain:
    return records.Domain(
        id=row.id,
        name=row.name,
        description=row.description,
        enabled=row.enabled,
        tags=tuple(row.tags),
        extra=row.extra,
    )


def role(row: models.Role) -> records.Role:
    return records.Role(
        id=row.id,
        name=row.name,
        domain_id=row.domain_id,
        description=row.description,
        options=row.options,
        extra=row.extra,
    )


def region(row: models.Region) -> records.Region:
    return records.Region(
        id=row.id,
        description=row.description,
        parent_region_id=row.parent_region_id,
        extra=row.extra,
    )


def service(row: models.Service) -> records.Service:
    return records.Service(
        id=row.id,
        type=row.type,
        name=row.name,
        description=row.description,
        enabled=row.enabled,
        extra=row.extra,
    )


def endpoint(row: models.Endpoint) -> records.Endpoint:
    return records.Endpoint(
        id=row.id,
        service_id=row.service_id,
        interface=row.interface,
        url=row.url,
        region_id=row.region_id,
        enabled=row.enabled,
        extra=row.extra,
    )


def application_credential(row: models.ApplicationCredential) -> records.ApplicationCredential:
    return records.ApplicationCredential(
        id=row.id,
        name=row.name,
        description=row.description,
        user_id=row.user_id,
        project_id=row.project_id,
        expires_at=row.expires_at,
        unrestricted=row.unrestricted,
        roles=tuple(
            records.RoleRef(id=r["id"], name=r["name"], domain_id=r.get("domain_id"))
            for r in row.roles
        ),
        access_rules=tuple(access_rule(r) for r in row.access_rules),
    )


def access_rule(row: models.AccessRule) -> records.AccessRule:
    return records.AccessRule(id=row.id, service=row.service, path=row.path, method=row.method)
