"""``POST /servers/{id}/action``: one explicit registry of actions.

Each entry maps an action name to its handler, microversion range, policy rule and
body schema, so ``"pause"`` is found by reading :data:`ACTIONS`, not by grepping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.compute import models
from tinystack.compute.api.bodies import Strict
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import MAX_VERSION, Version
from tinystack.compute.api.openapi import policies
from tinystack.compute.api.rendering import json_response
from tinystack.compute.api.schemas import (
    Base64,
    BoolLike,
    Description,
    Fqdn,
    IPAddress,
    IPv4,
    IPv6,
    Metadata,
    Name,
    NonNegativeInt,
    Uuid,
)
from tinystack.compute.context import CallContext
from tinystack.compute.services import servers
from tinystack.compute.services.deps import Deps

router = APIRouter(tags=["server actions"])


@dataclass
class ActionRequest:
    request: Request
    ctx: RequestContext
    call: CallContext
    deps: Deps
    version: Version
    instance: models.Instance
    body: Any

    @property
    def uuid(self) -> str:
        return self.instance.uuid


Handler = Callable[[ActionRequest], Response | dict[str, Any] | None]


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


ACTIONS: dict[str, Action] = {}


def action(
    name: str,
    policy: str,
    *,
    min_version: str = "2.1",
    max_version: str | None = None,
    schema: type[BaseModel] | None = None,
    nullable: bool = True,
    settled: servers.Settled | None = servers.idle,
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        ACTIONS[name] = Action(
            name=name,
            handler=fn,
            policy=policy,
            min_version=Version.parse(min_version),
            max_version=Version.parse(max_version) if max_version else MAX_VERSION,
            schema=schema,
            nullable=nullable,
            settled=settled,
        )
        return fn

    return register


@router.post(
    "/servers/{server_id}/action",
    openapi_extra={**policies(), "x-action-registry": True},
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
    inst = servers.get(deps, call, server_id)
    ctx.can(spec.policy, servers.target(inst))
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


# -- body schemas used by the handlers --------------------------------------------------------
class RebootBody(Strict):
    type: Literal["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]


class ResizeBody(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    flavorRef: str | int
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")


class CreateImageBody(Strict):
    name: Name
    metadata: Metadata | None = None


class BackupBody(Strict):
    name: Name
    backup_type: str
    rotation: NonNegativeInt
    metadata: Metadata | None = None


class RescueBody(Strict):
    adminPass: str | None = None
    rescue_image_ref: Uuid | None = None


class LockBody(Strict):
    locked_reason: str | None = Field(None, min_length=1, max_length=255)


class ConsoleOutputBody(Strict):
    length: int | str | None = None


class VncBody(Strict):
    type: Literal["novnc", "xvpvnc"]


class PasswordBody(Strict):
    adminPass: str


class ResetStateBody(Strict):
    state: Literal["active", "error"]


class SecurityGroupBody(BaseModel):
    name: str = Field(min_length=1)


class AddFloatingIpBody(Strict):
    address: IPAddress
    fixed_address: IPAddress | None = None


class RemoveFloatingIpBody(Strict):
    address: IPAddress


class MigrateBody(Strict):
    host: Fqdn | None = None


class UnshelveBody(Strict):
    availability_zone: str | None = None
    host: str | None = None


class RebuildBody(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    imageRef: Uuid
    name: Name | None = None
    adminPass: str | None = None
    metadata: Metadata | None = None
    preserve_ephemeral: BoolLike | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    accessIPv4: IPv4 | None = None
    accessIPv6: IPv6 | None = None
    personality: list[dict[str, Any]] | None = None
    description: Description = None
    key_name: str | None = None
    user_data: Base64 | None = None
    trusted_image_certificates: list[str] | None = None
    hostname: str | None = None


REBUILD_GATES = {
    "description": (2, 19),
    "key_name": (2, 54),
    "user_data": (2, 57),
    "trusted_image_certificates": (2, 63),
    "hostname": (2, 90),
    "personality": (2, -57),
}


# The handlers register themselves on import.
from tinystack.compute.api import action_handlers  # noqa: E402, F401
