"""The attach actions of ``POST /volumes/{volume_id}/action`` (the legacy flow Tempest
and older clients drive): ``os-reserve``, ``os-unreserve``, ``os-begin_detaching``,
``os-roll_detaching``, ``os-initialize_connection``, ``os-terminate_connection``,
``os-attach``, ``os-detach`` and the admin's ``os-force_detach``.

Each handler validates its value as upstream's ``volume_actions`` / ``admin_actions``
schemas do (with their messages) and calls ``services/attach_actions.py``. They are
registered in the volume action table when this module is imported (``api/attachments``
imports it).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from tinystack.volume.api import schemas
from tinystack.volume.api.rendering import json_response
from tinystack.volume.api.volume_actions import Action, ActionRequest, register
from tinystack.volume.services import attach_actions as svc

ACCEPTED = 202


def _reserve(a: ActionRequest) -> Response:
    svc.reserve(a.deps, a.ctx, a.volume_id)
    return Response(status_code=ACCEPTED)


def _unreserve(a: ActionRequest) -> Response:
    svc.unreserve(a.deps, a.ctx, a.volume_id)
    return Response(status_code=ACCEPTED)


def _begin_detaching(a: ActionRequest) -> Response:
    svc.begin_detaching(a.deps, a.ctx, a.volume_id)
    return Response(status_code=ACCEPTED)


def _roll_detaching(a: ActionRequest) -> Response:
    svc.roll_detaching(a.deps, a.ctx, a.volume_id)
    return Response(status_code=ACCEPTED)


def _connector(value: Any, types: tuple[type, ...], wording: str) -> Any:
    if not isinstance(value, types):
        raise schemas.invalid("connector", value, f"{value!r} is not of type {wording}")
    return value


def _initialize_connection(a: ActionRequest) -> Response:
    part = schemas.object_part("os-initialize_connection", a.value, {"connector"})
    connector = _connector(part["connector"], (dict, str), "'object', 'string'")
    conn = svc.initialize_connection(a.deps, a.ctx, a.volume_id, connector)
    enforce = isinstance(connector, dict) and bool(connector.get("enforce_multipath", False))
    info = {
        "driver_volume_type": conn.driver_volume_type,
        "data": dict(conn.data),
        "enforce_multipath": enforce,
    }
    return json_response({"connection_info": info})


def _terminate_connection(a: ActionRequest) -> Response:
    part = schemas.object_part("os-terminate_connection", a.value, {"connector"})
    wording = "'string', 'object', 'null'"
    connector = _connector(part["connector"], (dict, str, type(None)), wording)
    svc.terminate_connection(a.deps, a.ctx, a.volume_id, connector)
    return Response(status_code=ACCEPTED)


def _attach(a: ActionRequest) -> Response:
    req = schemas.os_attach(a.value)
    svc.attach(
        a.deps,
        a.ctx,
        a.volume_id,
        instance_uuid=req.instance_uuid,
        host_name=req.host_name,
        mountpoint=req.mountpoint,
        mode=req.mode,
    )
    return Response(status_code=ACCEPTED)


def _detach(a: ActionRequest) -> Response:
    svc.detach(a.deps, a.ctx, a.volume_id, schemas.os_detach(a.value))
    return Response(status_code=ACCEPTED)


def _force_detach(a: ActionRequest) -> Response:
    part = schemas.object_part("os-force_detach", a.value, {"connector", "attachment_id"}, ())
    wording = "'string', 'object', 'null'"
    connector = _connector(part.get("connector"), (dict, str, type(None)), wording)
    attachment_id = part.get("attachment_id")
    if attachment_id is not None and not isinstance(attachment_id, str):
        raise schemas.invalid(
            "attachment_id", attachment_id, f"{attachment_id!r} is not of type 'string', 'null'"
        )
    svc.force_detach(a.deps, a.ctx, a.volume_id, connector, attachment_id)
    return Response(status_code=ACCEPTED)


register(
    # upstream's schemas take any value for these four ({} or null)
    Action("os-reserve", _reserve, (svc.RESERVE,), nullable=True),
    Action("os-unreserve", _unreserve, (svc.UNRESERVE,), nullable=True),
    Action("os-begin_detaching", _begin_detaching, (svc.BEGIN_DETACHING,), nullable=True),
    Action("os-roll_detaching", _roll_detaching, (svc.ROLL_DETACHING,), nullable=True),
    Action("os-initialize_connection", _initialize_connection, (svc.INITIALIZE,)),
    Action("os-terminate_connection", _terminate_connection, (svc.TERMINATE,)),
    Action("os-attach", _attach, (svc.ATTACH,)),
    Action("os-detach", _detach, (svc.DETACH,), nullable=True),
    Action("os-force_detach", _force_detach, (svc.FORCE_DETACH, svc.TERMINATE, svc.DETACH)),
)
