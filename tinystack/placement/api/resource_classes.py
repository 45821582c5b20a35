"""``/resource_classes`` (1.2; PUT creates or verifies from 1.7)."""

from __future__ import annotations

from starlette.responses import Response

from tinystack.placement.api.deps import NO_STAMP, PlacementReq, PlacementRequest
from tinystack.placement.api.schemas import ResourceClassBody
from tinystack.placement.policies import resource_class as policies
from tinystack.placement.services import resource_class as rc_obj
from tinystack.placement.services.resource_class import ResourceClass


def _url(req: PlacementRequest, name: str) -> str:
    return req.url(f"/resource_classes/{name}")


def serialize(req: PlacementRequest, rc: ResourceClass) -> dict[str, object]:
    return {"name": rc.name, "links": [{"rel": "self", "href": _url(req, rc.name)}]}


def list_resource_classes(req: PlacementReq) -> Response:
    req.can(policies.LIST)
    classes = rc_obj.list_all(req.deps)
    modified = max((c.updated_at or c.created_at for c in classes if c.created_at), default=None)
    return req.respond(
        {"resource_classes": [serialize(req, c) for c in classes]}, last_modified=modified
    )


def create_resource_class(req: PlacementReq) -> Response:
    req.can(policies.CREATE)
    req.require_json()
    body = req.body(ResourceClassBody)
    rc = rc_obj.create(req.deps, body.name)
    return req.no_content(201, location=_url(req, rc.name))


def get_resource_class(name: str, req: PlacementReq) -> Response:
    req.can(policies.SHOW)
    rc = rc_obj.get(req.deps, name)
    return req.respond(serialize(req, rc), last_modified=rc.updated_at or rc.created_at)


def update_resource_class(name: str, req: PlacementReq) -> Response:
    req.can(policies.UPDATE)
    new_name: str | None = None  # from 1.7 PUT creates or verifies the class in the path
    if req.at_least("1.7"):
        req.validate(ResourceClassBody, {"name": name})
    else:
        req.require_json()
        new_name = req.body(ResourceClassBody).name
    rc, created = rc_obj.put(req.deps, name, new_name)
    if new_name is not None:
        return req.respond(serialize(req, rc), last_modified=NO_STAMP)
    return req.no_content(201 if created else 204, location=_url(req, rc.name))


def delete_resource_class(name: str, req: PlacementReq) -> Response:
    req.can(policies.DELETE)
    rc_obj.delete(req.deps, name)
    return req.no_content()
