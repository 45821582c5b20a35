"""Row loaders shared by the identity service modules (internal: never returned to api/).

Each loader reads one ORM row inside the caller's transaction and raises the upstream
``NotFound`` when it is missing; the public service functions turn rows into records
(``convert``) before they return.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.exceptions import NotFound
from tinystack.identity import models


def user(session: Session, user_id: str) -> models.User:
    row = session.get(models.User, user_id)
    if row is None:
        raise NotFound(f"Could not find user: {user_id}.")
    return row


def group(session: Session, group_id: str) -> models.Group:
    row = session.get(models.Group, group_id)
    if row is None:
        raise NotFound(f"Could not find group: {group_id}.")
    return row


def project(session: Session, project_id: str) -> models.Project:
    row = session.get(models.Project, project_id)
    if row is None:
        raise NotFound(f"Could not find project: {project_id}.")
    return row


def domain(session: Session, domain_id: str) -> models.Domain:
    row = session.get(models.Domain, domain_id)
    if row is None:
        raise NotFound(f"Could not find domain: {domain_id}.")
    return row


def role(session: Session, role_id: str) -> models.Role:
    row = session.get(models.Role, role_id)
    if row is None:
        raise NotFound(f"Could not find role: {role_id}.")
    return row


def role_by_name(session: Session, name: str, domain_id: str | None = None) -> models.Role | None:
    query = select(models.Role).where(models.Role.name == name)
    query = query.where(
        models.Role.domain_id.is_(None) if domain_id is None else models.Role.domain_id == domain_id
    )
    return session.scalars(query).first()


def application_credential(
    session: Session, user_id: str, cred_id: str
) -> models.ApplicationCredential:
    row = session.get(models.ApplicationCredential, cred_id)
    if row is None or row.user_id != user_id:
        raise NotFound(f"Could not find Application Credential: {cred_id}.")
    return row


def region(session: Session, region_id: str) -> models.Region:
    row = session.get(models.Region, region_id)
    if row is None:
        raise NotFound(f"Could not find region: {region_id}.")
    return row


def service(session: Session, service_id: str) -> models.Service:
    row = session.get(models.Service, service_id)
    if row is None:
        raise NotFound(f"Could not find service: {service_id}.")
    return row


def endpoint(session: Session, endpoint_id: str) -> models.Endpoint:
    row = session.get(models.Endpoint, endpoint_id)
    if row is None:
        raise NotFound(f"Could not find endpoint: {endpoint_id}.")
    return row


def policy(session: Session, policy_id: str) -> models.Policy:
    row = session.get(models.Policy, policy_id)
    if row is None:
        raise NotFound(f"Could not find policy: {policy_id}.")
    return row
