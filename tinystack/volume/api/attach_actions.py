"""The attach actions of ``POST /volumes/{volume_id}/action`` (the legacy flow Tempest
and older clients drive): each handler validates its part of the body as upstream's
``volume_actions`` / ``admin_actions`` schemas do and calls the service layer.

:data:`ACTIONS` maps each action to its handler and the rules it checks; the volume
actions route dispatches to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tinystack.common.auth.context import RequestContext
from tinystack.volume.api import schemas
from tinystack.volume.services import attach_actions as svc
from tinystack.volume.services.deps import Deps

#: what a handler answers: a JSON body (200) or None (202, no body)
Answer = dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class AttachAction:
    handler: Callable[[Deps, RequestContext, str, Any], Answer]
    rules: tuple[str, ...]


def reserve(deps: Deps, ctx: RequestContext, volume_id: str, value: Any) -> Answer:
    del value  # upstream takes any value ({} or null)
    svc.reserve(deps, ctx, volume_id)
    return None


def unreserve(deps: Deps, ctx: RequestContext, volume_id: str, value: Any) -> Answer:
    del value  # upstream takes any value ({} or null)
    svc.unreserve(deps, ctx, volume_id)
    return None


def begin_detaching(deps: Deps, ctx: RequestContext, volume_id: str, value: Any) -> Answer:
    del value  # upstream takes any value ({} or null)
    svc.begin_detaching(deps, ctx, volume_id)
    return None


def roll_detaching(deps: Deps, ctx: RequestContext, volume_id: str, value: Any) -> Answer:
    del value  # upstream takes any value ({} or null)
    svc.roll_detaching(deps, ctx, volume_id)
    return None


def initialize_connection(deps: Deps, ctx: RequestContext, volume_id: str, value: Any) -> Answer:
    part = schemas.object_part("os-initialize_connection", value, {"connector"})
    connector = part["connector"]
    if not isinstance(connector, dict | str):
        raise schemas.invalid(
            "connector", connector, f"{connector!r} is not of type 'object', 'string'"
        )
    conn = svc.initialize_connection(deps, ctx, volume_id, connector)
    enforce = (
        bool(connector.get("enforce_multipath", False)) if isinstance(connector, dict) else False
    )
    info = {
        "driver_volume_type": conn.driver_volume_type,
        "data": dict(conn.data),
        "enforce_multipath": enforce,
    }
    return {"connection_info": info}


def terminate_connection(deps: Deps, ctx: RequestContext, volume_id: str, value: Any) -> Answer:
    part = schemas.object_part("os-terminate_connection", value, {"connector"})
    connector = part["connector"]
    if connector is not None and not isinstance(connector, dict | str):
        raise schemas.invalid(
            "connector", connector, f"{connector!r} is not of type 'string', 'object', 'null'"
        )
    svc.terminate_connection(deps, ctx, volume_id, connector)
    return None


def attach(deps: Deps, ctx: RequestContext, volume_id: str, value: Any) -> Answer:
    req = schemas.os_attach(value)
    svc.attach(
        deps,
        ctx,
        volume_id,
        instance_uuid=req.instance_uuid,
        host_name=req.host_name,
        mountpoint=req.mountpoint,
        mode=req.mode,
    )
    return None


def detach(deps: Deps, ctx: RequestContext, volume_id: str, value: Any) -> Answer:
    attachment_id = schemas.os_detach(value)
    svc.detach(deps, ctx, volume_id, attachment_id)
    return None


def force_detach(deps: Deps, ctx: RequestContext, volume_id: str, value: Any) -> Answer:
    part = schemas.object_part("os-force_detach", value, {"connector", "attachment_id"}, ())
    connector = part.get("connector")
    if connector is not None and not isinstance(connector, dict | str):
        raise schemas.invalid(
            "connector", connector, f"{connector!r} is not of type 'string', 'object', 'null'"
        )
    attachment_id = part.get("attachment_id")
    if attachment_id is not None and not isinstance(attachment_id, str):
        raise schemas.invalid(
            "attachment_id", attachment_id, f"{attachment_id!r} is not of type 'string', 'null'"
        )
    svc.force_detach(deps, ctx, volume_id, connector, attachment_id)
    return None


ACTIONS: dict[str, AttachAction] = {
    "os-reserve": AttachAction(reserve, (svc.RESERVE,)),
    "os-unreserve": AttachAction(unreserve, (svc.UNRESERVE,)),
    "os-begin_detaching": AttachAction(begin_detaching, (svc.BEGIN_DETACHING,)),
    "os-roll_detaching": AttachAction(roll_detaching, (svc.ROLL_DETACHING,)),
    "os-initialize_connection": AttachAction(initialize_connection, (svc.INITIALIZE,)),
    "os-terminate_connection": AttachAction(terminate_connection, (svc.TERMINATE,)),
    "os-attach": AttachAction(attach, (svc.ATTACH,)),
    "os-detach": AttachAction(detach, (svc.DETACH,)),
    "os-force_detach": AttachAction(force_detach, (svc.FORCE_DETACH,)),
}
