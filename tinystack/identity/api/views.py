"""Rendering of identity's records as Keystone's JSON bodies (links, collections)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from starlette.requests import Request

from tinystack.common.timeutils import isotime_micro
from tinystack.identity import models
from tinystack.identity.services.records import Domain, Group, Project, User

T = TypeVar("T")


def base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def link(request: Request, path: str) -> dict[str, str]:
    return {"self": f"{base_url(request)}{path}"}


def collection(
    request: Request, key: str, items: Iterable[T], render: Callable[[Request, T], dict[str, Any]]
) -> dict[str, Any]:
    return {
        key: [render(request, item) for item in items],
        "links": {"self": str(request.url), "previous": None, "next": None},
    }


def render_user(request: Request, u: User) -> dict[str, Any]:
    body = {
        **u.extra,
        "id": u.id,
        "name": u.name,
        "domain_id": u.domain_id,
        "enabled": u.enabled,
        "password_expires_at": (
            isotime_micro(u.password_expires_at) if u.password_expires_at else None
        ),
        "options": dict(u.options),
        "links": link(request, f"/v3/users/{u.id}"),
    }
    if u.default_project_id:
        body["default_project_id"] = u.default_project_id
    if u.description is not None:
        body["description"] = u.description
    return body


def render_group(request: Request, g: Group) -> dict[str, Any]:
    return {
        **g.extra,
        "id": g.id,
        "name": g.name,
        "domain_id": g.domain_id,
        "description": g.description or "",
        "links": link(request, f"/v3/groups/{g.id}"),
    }


def render_project(request: Request, p: Project) -> dict[str, Any]:
    return {
        **p.extra,
        "id": p.id,
        "name": p.name,
        "domain_id": p.domain_id,
        "parent_id": p.parent_id or p.domain_id,
        "description": p.description or "",
        "enabled": p.enabled,
        "is_domain": False,
        "tags": list(p.tags),
        "options": {},
        "links": link(request, f"/v3/projects/{p.id}"),
    }


def render_domain(request: Request, d: Domain) -> dict[str, Any]:
    return {
        **d.extra,
        "id": d.id,
        "name": d.name,
        "description": d.description or "",
        "enabled": d.enabled,
        "tags": list(d.tags),
        "options": {},
        "links": link(request, f"/v3/domains/{d.id}"),
    }


def render_role(request: Request, r: models.Role) -> dict[str, Any]:
    return {
        **r.extra,
        "id": r.id,
        "name": r.name,
        "domain_id": r.domain_id,
        "description": r.description,
        "options": dict(r.options),
        "links": link(request, f"/v3/roles/{r.id}"),
    }


def role_ref(request: Request, r: models.Role) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "links": link(request, f"/v3/roles/{r.id}")}


def render_application_credential(
    request: Request, c: models.ApplicationCredential
) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "description": c.description,
        "user_id": c.user_id,
        "project_id": c.project_id,
        "expires_at": c.expires_at.isoformat() if c.expires_at else None,
        "unrestricted": c.unrestricted,
        "system": None,
        "roles": [
            {"id": r["id"], "name": r["name"], "domain_id": r.get("domain_id")} for r in c.roles
        ],
        "access_rules": list(c.access_rules),
        "links": link(request, f"/v3/users/{c.user_id}/application_credentials/{c.id}"),
    }


def render_region(request: Request, r: models.Region) -> dict[str, Any]:
    return {
        **r.extra,
        "id": r.id,
        "description": r.description,
        "parent_region_id": r.parent_region_id,
        "links": link(request, f"/v3/regions/{r.id}"),
    }


def render_service(request: Request, s: models.Service) -> dict[str, Any]:
    body = {
        **s.extra,
        "id": s.id,
        "type": s.type,
        "enabled": s.enabled,
        "links": link(request, f"/v3/services/{s.id}"),
    }
    if s.name is not None:
        body["name"] = s.name
    if s.description is not None:
        body["description"] = s.description
    return body


def render_endpoint(request: Request, e: models.Endpoint) -> dict[str, Any]:
    return {
        **e.extra,
        "id": e.id,
        "service_id": e.service_id,
        "interface": e.interface,
        "url": e.url,
        "region_id": e.region_id,
        "region": e.region_id,
        "enabled": e.enabled,
        "links": link(request, f"/v3/endpoints/{e.id}"),
    }
