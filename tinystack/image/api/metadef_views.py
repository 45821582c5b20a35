"""How metadata definitions and tasks render (Glance's JSON: unset attributes are left out)."""

from __future__ import annotations

from typing import Any

from tinystack.common.timeutils import isotime
from tinystack.image.services.records import (
    AssociationRecord,
    NamespaceRecord,
    ObjectRecord,
    PropertyRecord,
    ResourceTypeRecord,
    TagRecord,
    TaskRecord,
)

NAMESPACES = "/v2/metadefs/namespaces"


def namespace_href(name: str) -> str:
    return f"{NAMESPACES}/{name}"


def _dropping_none(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if v is not None}


def render_association(link: AssociationRecord) -> dict[str, Any]:
    return _dropping_none(
        {
            "name": link.name,
            "prefix": link.prefix,
            "properties_target": link.properties_target,
            "created_at": isotime(link.created_at),
            "updated_at": isotime(link.updated_at),
        }
    )


def render_resource_type(kind: ResourceTypeRecord) -> dict[str, Any]:
    return {
        "name": kind.name,
        "created_at": isotime(kind.created_at),
        "updated_at": isotime(kind.updated_at),
    }


def render_object(namespace: str, obj: ObjectRecord) -> dict[str, Any]:
    return _dropping_none(
        {
            "name": obj.name,
            "description": obj.description,
            "required": list(obj.required) or None,
            "properties": obj.properties or None,
            "created_at": isotime(obj.created_at),
            "updated_at": isotime(obj.updated_at),
            "schema": "/v2/schemas/metadefs/object",
            "self": f"{namespace_href(namespace)}/objects/{obj.name}",
        }
    )


def render_property(prop: PropertyRecord) -> dict[str, Any]:
    return {"name": prop.name, **prop.schema}


def render_tag(tag: TagRecord) -> dict[str, Any]:
    return {
        "name": tag.name,
        "created_at": isotime(tag.created_at),
        "updated_at": isotime(tag.updated_at),
    }


def render_namespace(ns: NamespaceRecord) -> dict[str, Any]:
    view = _dropping_none(
        {
            "namespace": ns.namespace,
            "display_name": ns.display_name,
            "description": ns.description,
            "visibility": ns.visibility,
            "protected": ns.protected,
            "owner": ns.owner,
            "created_at": isotime(ns.created_at),
            "updated_at": isotime(ns.updated_at),
            "schema": "/v2/schemas/metadefs/namespace",
            "self": namespace_href(ns.namespace),
        }
    )
    if ns.resource_type_associations:
        view["resource_type_associations"] = [
            render_association(a) for a in ns.resource_type_associations
        ]
    if ns.properties:
        view["properties"] = dict(ns.properties)
    if ns.objects:
        view["objects"] = [render_object(ns.namespace, o) for o in ns.objects]
    if ns.tags:
        view["tags"] = [{"name": t.name} for t in ns.tags]
    return view


def _isotime(value: Any) -> str | None:
    return isotime(value) if value is not None else None


def render_task(task: TaskRecord, *, full: bool = True) -> dict[str, Any]:
    """A task of ``/v2/tasks`` (lists leave out input, result and message)."""
    view: dict[str, Any] = {
        "id": task.id,
        "type": task.type,
        "status": task.status,
        "owner": task.owner,
        "created_at": isotime(task.created_at),
        "updated_at": isotime(task.updated_at),
        "self": f"/v2/tasks/{task.id}",
        "schema": "/v2/schemas/task",
    }
    if task.expires_at is not None:
        view["expires_at"] = _isotime(task.expires_at)
    if full:
        view.update(input=task.input, result=task.result, message=task.message)
        if task.image_id:
            view["image_id"] = task.image_id
        if task.request_id:
            view["request_id"] = task.request_id
        if task.user_id:
            view["user_id"] = task.user_id
    return view
