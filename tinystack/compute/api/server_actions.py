"""``POST /servers/{id}/action``: the action table and the one route that dispatches on it.

:data:`ACTIONS` maps each action name to its handler (in
:mod:`tinystack.compute.api.action_handlers`), policy rule, microversion range and body
model (in :mod:`tinystack.compute.api.schemas`), so ``"pause"`` is found by reading the
table, not by grepping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Body
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_schema
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.common.rpc.context import CallContext
from tinystack.compute import states
from tinystack.compute.api import action_handlers as h
from tinystack.compute.api.action_handlers import ActionRequest
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import MAX_VERSION, Version
from tinystack.compute.api.rendering import json_response
from tinystack.compute.api.schemas import (
    AddFloatingIpBody,
    BackupBody,
    ConsoleOutputBody,
    CreateImageBody,
    EvacuateBody,
    LiveMigrateBody,
    LockBody,
    MigrateBody,
    PasswordBody,
    RebootBody,
    RebuildBody,
    RemoveFloatingIpBody,
    RescueBody,
    ResetStateBody,
    ResizeBody,
    SecurityGroupBody,
    SerialBody,
    VncBody,
)
from tinystack.compute.services import servers

router = APIRouter(tags=["server actions"])

Handler = Callable[[ActionRequest], Response | dict[str, Any] | None]
S = "os_compute_api:servers:%s"


@dataclass(frozen=True)
class Action:
    name: str
    handler: Handler
    policy: str
    min_version: Version = Version(2, 1)
    max_version: Version = MAX_VERSION
    #: a model validating the action's value (None: any value is accepted)
    schema: type[BaseModel] | None = None
    nullable: bool = True
    #: when the action's work is done (the API lingers until then; None: do not linger)
    settled: servers.Settled | None = servers.idle


def _resize_confirmed(vm_state: str, task_state: str | None) -> bool:
    return vm_state != states.RESIZED


def _shelved(vm_state: str, task_state: str | None) -> bool:
    return vm_state == states.SHELVED_OFFLOADED or (vm_state != states.SHELVED and not task_state)


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("reboot", h.reboot, S % "reboot", schema=RebootBody, nullable=False),
        Action("os-stop", h.stop, S % "stop"),
        Action("os-start", h.start, S % "start"),
        Action("pause", h.pause, "os_compute_api:os-pause-server:pause"),
        Action("unpause", h.unpause, "os_compute_api:os-pause-server:unpause"),
        Action("suspend", h.suspend, "os_compute_api:os-suspend-server:suspend"),
        Action("resume", h.resume, "os_compute_api:os-suspend-server:resume"),
        Action(
            "trigger_crash_dump",
            h.trigger_crash_dump,
            S % "trigger_crash_dump",
            min_version=Version(2, 17),
        ),
        Action("lock", h.lock, "os_compute_api:os-lock-server:lock", schema=LockBody, settled=None),
        Action("unlock", h.unlock, "os_compute_api:os-lock-server:unlock", settled=None),
        Action("rescue", h.rescue, "os_compute_api:os-rescue", schema=RescueBody),
        Action("unrescue", h.unrescue, "os_compute_api:os-unrescue"),
        Action("rebuild", h.rebuild, S % "rebuild", schema=RebuildBody, nullable=False),
        Action("resize", h.resize, S % "resize", schema=ResizeBody, nullable=False),
        Action("confirmResize", h.confirm_resize, S % "confirm_resize", settled=_resize_confirmed),
        Action("revertResize", h.revert_resize, S % "revert_resize"),
        Action(
            "migrate", h.migrate, "os_compute_api:os-migrate-server:migrate", schema=MigrateBody
        ),
        Action(
            "os-migrateLive",
            h.live_migrate,
            "os_compute_api:os-migrate-server:migrate_live",
            schema=LiveMigrateBody,
            nullable=False,
        ),
        Action(
            "createImage",
            h.create_image,
            S % "create_image",
            schema=CreateImageBody,
            nullable=False,
        ),
        Action(
            "createBackup",
            h.create_backup,
            "os_compute_api:os-create-backup",
            schema=BackupBody,
            nullable=False,
        ),
        Action("shelve", h.shelve, "os_compute_api:os-shelve:shelve", settled=_shelved),
        Action("shelveOffload", h.shelve_offload, "os_compute_api:os-shelve:shelve_offload"),
        Action("unshelve", h.unshelve, "os_compute_api:os-shelve:unshelve"),
        Action(
            "os-getConsoleOutput",
            h.console_output,
            "os_compute_api:os-console-output",
            schema=ConsoleOutputBody,
            nullable=False,
        ),
        Action(
            "os-getVNCConsole",
            h.vnc_console,
            "os_compute_api:os-remote-consoles",
            schema=VncBody,
            nullable=False,
        ),
        Action(
            "os-getSerialConsole",
            h.serial_console,
            "os_compute_api:os-remote-consoles",
            schema=SerialBody,
            nullable=False,
        ),
        Action(
            "changePassword",
            h.change_password,
            "os_compute_api:os-admin-password",
            schema=PasswordBody,
            nullable=False,
        ),
        Action(
            "addSecurityGroup",
            h.add_security_group,
            "os_compute_api:os-security-groups:add",
            schema=SecurityGroupBody,
            nullable=False,
        ),
        Action(
            "removeSecurityGroup",
            h.remove_security_group,
            "os_compute_api:os-security-groups:remove",
            schema=SecurityGroupBody,
            nullable=False,
        ),
        Action(
            "addFloatingIp",
            h.add_floating_ip,
            "os_compute_api:os-floating-ips:add",
            max_version=Version(2, 43),
            schema=AddFloatingIpBody,
            nullable=False,
        ),
        Action(
            "removeFloatingIp",
            h.remove_floating_ip,
            "os_compute_api:os-floating-ips:remove",
            max_version=Version(2, 43),
            schema=RemoveFloatingIpBody,
            nullable=False,
        ),
        Action(
            "os-resetState",
            h.reset_state,
            "os_compute_api:os-admin-actions:reset_state",
            schema=ResetStateBody,
            nullable=False,
        ),
        Action(
            "injectNetworkInfo",
            h.inject_network_info,
            "os_compute_api:os-admin-actions:inject_network_info",
            settled=None,
        ),
        Action("forceDelete", h.force_delete, "os_compute_api:os-deferred-delete:force"),
        Action("restore", h.restore, "os_compute_api:os-deferred-delete:restore"),
        Action(
            "evacuate",
            h.evacuate,
            "os_compute_api:os-evacuate",
            schema=EvacuateBody,
            nullable=False,
        ),
    )
}


def _action_bodies() -> dict[str, Any]:
    """The route's body in /openapi.json: one of the actions of :data:`ACTIONS`, each an
    object with the action's name as its only key."""
    bodies = []
    for action in ACTIONS.values():
        value: dict[str, Any] = {}
        if action.schema is not None:
            value = action.schema.model_json_schema()
            if action.nullable:
                value = {"anyOf": [value, {"type": "null"}]}
        bodies.append(
            {
                "type": "object",
                "properties": {action.name: value},
                "required": [action.name],
                "additionalProperties": False,
            }
        )
    return request_schema("ServerAction", {"oneOf": bodies})


@router.post(
    "/servers/{server_id}/action",
    openapi_extra={**policies(), "x-action-registry": True, **_action_bodies()},
)
def server_action(
    request: Request,
    server_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: Any = Body(...),
) -> Response:
    if not isinstance(body, dict) or not body:
        raise BadRequest("Malformed request body")
    name = next((k for k in body if k in ACTIONS), None)
    if name is None:
        raise BadRequest(f"There is no such action: {next(iter(body))}")
    spec = ACTIONS[name]
    if not spec.min_version <= version <= spec.max_version:
        raise NotFound("The resource could not be found.")
    call = CallContext.from_request(ctx)
    inst = servers.get_authorized(deps, ctx, server_id, spec.policy)
    value = body[name]
    if spec.schema is not None:
        if value is None and spec.nullable:
            value = spec.schema()
        elif not isinstance(value, dict):
            raise BadRequest(
                f"Invalid input for field/attribute {name}. Value: {value!r}. "
                f"{value!r} is not of type 'object'"
            )
        else:
            value = spec.schema.model_validate(value)
    req = ActionRequest(request, ctx, call, deps, version, inst, value)
    result = spec.handler(req)
    if spec.settled is not None:
        servers.settle(deps, inst.uuid, until=spec.settled)
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status_code=202)
    return json_response(result, 202)
