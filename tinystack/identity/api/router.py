"""The identity route table: every resource router, in URL order."""

from __future__ import annotations

from fastapi import APIRouter

from tinystack.identity.api import (
    application_credentials,
    auth,
    catalog,
    domains,
    grants,
    groups,
    projects,
    revoke,
    role_assignments,
    roles,
    users,
    versions,
)

ROUTERS: list[APIRouter] = [
    versions.router,
    auth.router,
    catalog.router,
    domains.router,
    projects.router,
    users.router,
    application_credentials.router,
    groups.router,
    roles.router,
    grants.router,
    role_assignments.router,
    revoke.router,
]
