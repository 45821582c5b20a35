"""The server actions' handlers: each gets an :class:`ActionRequest` (the instance loaded and
the action's policy checked, its body validated) and calls the service layer.

They are listed, with their policies and body models, in the action table
:data:`tinystack.compute.api.server_actions.ACTIONS`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, Conflict
from tinystack.common.rpc.context import CallContext
from tinystack.compute.api import servers_view
from tinystack.compute.api.bodies import gate, unexpected
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.rendering import json_response
from tinystack.compute.api.schemas import (
    EVACUATE_GATES,
    REBUILD_GATES,
    BackupBody,
    EvacuateBody,
    RebuildBody,
    ResizeBody,
    UnshelveBody,
    parse_hostname,
)
from tinystack.compute.services import consoles, live_migrations, servers
from tinystack.compute.services import evacuate as evacuations
from tinystack.compute.services import images as image_service
from tinystack.compute.services import network_proxies as proxies
from tinystack.compute.services import server_actions as actions
from tinystack.compute.services import server_moves as moves
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.records import ServerRecord


@dataclass
class ActionRequest:
    """One server action being handled: the caller, the loaded instance, the parsed body."""

    request: Request
    ctx: RequestContext
    call: CallContext
    deps: Deps
    version: Version
    instance: ServerRecord
    body: Any

    @property
    def uuid(self) -> str:
        return self.instance.uuid


S = "os_compute_api:servers:%s"


# -- power ------------------------------------------------------------------------------------
def reboot(req: ActionRequest) -> None:
    actions.reboot(req.deps, req.call, req.uuid, req.body.type)


def stop(req: ActionRequest) -> None:
    actions.simple(req.deps, req.call, req.uuid, "stop")


def start(req: ActionRequest) -> None:
    actions.simple(req.deps, req.call, req.uuid, "start")


def pause(req: ActionRequest) -> None:
    actions.simple(req.deps, req.call, req.uuid, "pause")


def unpause(req: ActionRequest) -> None:
    actions.simple(req.deps, req.call, req.uuid, "unpause")


def suspend(req: ActionRequest) -> None:
    actions.simple(req.deps, req.call, req.uuid, "suspend")


def resume(req: ActionRequest) -> None:
    actions.simple(req.deps, req.call, req.uuid, "resume")


def trigger_crash_dump(req: ActionRequest) -> None:
    if req.body is not None:
        raise BadRequest(
            f"Invalid input for field/attribute trigger_crash_dump. Value: {req.body}. "
            f"{req.body!r} is not of type 'null'"
        )
    actions.trigger_crash_dump(req.deps, req.call, req.uuid)


# -- lock -------------------------------------------------------------------------------------
def lock(req: ActionRequest) -> None:
    reason = req.body.locked_reason
    if reason is not None and req.version < (2, 73):
        raise BadRequest("Additional properties are not allowed ('locked_reason' was unexpected)")
    actions.lock(req.deps, req.call, req.uuid, reason)


def unlock(req: ActionRequest) -> None:
    inst = req.instance
    if inst.locked and inst.locked_by == "admin" and req.call.project_id == inst.project_id:
        req.ctx.can("os_compute_api:os-lock-server:unlock:unlock_override", servers.target(inst))
    actions.unlock(req.deps, req.call, req.uuid)


# -- rescue -----------------------------------------------------------------------------------
def rescue(req: ActionRequest) -> Response:
    password = actions.rescue(
        req.deps, req.call, req.uuid, req.body.adminPass, req.body.rescue_image_ref,
        allow_bfv_rescue=req.version >= Version(2, 87),
    )  # fmt: skip
    return json_response({"adminPass": password}, 200)


def unrescue(req: ActionRequest) -> None:
    actions.simple(req.deps, req.call, req.uuid, "unrescue")


# -- rebuild, resize, migrate -----------------------------------------------------------------
def rebuild(req: ActionRequest) -> Response:
    body: RebuildBody = req.body
    fields = body.model_fields_set
    gate(dict.fromkeys(fields, True), req.version, REBUILD_GATES)
    hostname = None
    if body.hostname is not None:
        try:
            hostname = parse_hostname(body.hostname, fqdn=req.version >= (2, 94))
        except ValueError as exc:
            raise BadRequest(f"Invalid input for field/attribute hostname. {exc}") from None
    if body.trusted_image_certificates:
        req.ctx.can(S % "rebuild:trusted_certs", servers.target(req.instance))
    password = body.adminPass or secrets.token_urlsafe(9)[:12]
    rebuild_req = moves.RebuildRequest(
        image_ref=body.imageRef,
        name=body.name,
        admin_password=password,
        metadata=body.metadata,
        access_ip_v4=body.accessIPv4,
        access_ip_v6=body.accessIPv6,
        hostname=hostname,
        auto_disk_config=None if body.disk_config is None else body.disk_config == "AUTO",
        reimage_boot_volume=req.version >= (2, 93),
    )
    if "description" in fields:
        rebuild_req.description = body.description
    if "key_name" in fields:
        rebuild_req.key_name = body.key_name
    if "user_data" in fields:
        rebuild_req.user_data = body.user_data
    if "trusted_image_certificates" in fields:
        rebuild_req.trusted_certs = body.trusted_image_certificates
    inst = moves.rebuild(req.deps, req.call, req.uuid, rebuild_req)
    opts = servers_view.view_options(req.ctx, req.deps, req.version, [inst], with_groups=True)
    opts.show_user_data = False
    opts.restrict(show_keypair=req.version >= (2, 54))
    server = servers_view.show(req.request, inst, opts)
    if req.version >= (2, 57):
        server["user_data"] = inst.user_data
    server["adminPass"] = password
    return json_response({"server": server}, 202)


def resize(req: ActionRequest) -> None:
    body: ResizeBody = req.body
    moves.resize(req.deps, req.call, req.uuid, str(body.flavorRef), body.disk_config == "AUTO")


def confirm_resize(req: ActionRequest) -> Response:
    moves.confirm_resize(req.deps, req.call, req.uuid)
    return Response(status_code=204)


def revert_resize(req: ActionRequest) -> None:
    moves.revert_resize(req.deps, req.call, req.uuid)


def migrate(req: ActionRequest) -> None:
    host = req.body.host
    if host is not None:
        if req.version < (2, 56):
            raise BadRequest("Additional properties are not allowed ('host' was unexpected)")
        req.ctx.can("os_compute_api:os-migrate-server:migrate:host", servers.target(req.instance))
    moves.migrate(req.deps, req.call, req.uuid, host)


def live_migrate(req: ActionRequest) -> None:
    body, version = req.body, req.version
    given = body.model_fields_set
    required = ["host", "block_migration"] + (["disk_over_commit"] if version < (2, 25) else [])
    for key in required:
        if key not in given:
            raise BadRequest(f"Invalid input for field/attribute os-migrateLive. '{key}' is a "
                             "required property")  # fmt: skip
    allowed = {"disk_over_commit"} if version < (2, 25) else set()
    if (2, 30) <= version < (2, 68):
        allowed.add("force")
    unexpected = [k for k in ("disk_over_commit", "force") if k in given and k not in allowed]
    if unexpected:
        raise BadRequest(
            f"Additional properties are not allowed ('{unexpected[0]}' was unexpected)"
        )
    block = body.block_migration
    if block == "auto" and version < (2, 25):
        raise BadRequest("Invalid input for field/attribute block_migration. Value: auto. "
                         "'auto' is not of type 'boolean', 'string'")  # fmt: skip
    if body.host is not None:
        req.ctx.can(
            "os_compute_api:os-migrate-server:migrate_live:host", servers.target(req.instance)
        )
    live_migrations.live_migrate(
        req.deps,
        req.call,
        req.uuid,
        body.host,
        None if block == "auto" else bool(block),
        force=bool(body.force) and body.host is not None,
        wait=version < (2, 34),
    )


# -- images -----------------------------------------------------------------------------------
def _image_response(req: ActionRequest, image_id: str, location: bool = True) -> Response:
    if req.version >= (2, 45):
        return json_response({"image_id": image_id}, 202)
    headers = {}
    href = image_service.location(req.deps, image_id) if location else None
    if href is not None:
        headers["Location"] = href
    return Response(status_code=202, headers=headers)


def create_image(req: ActionRequest) -> Response:
    image_id = moves.create_image(
        req.deps, req.call, req.uuid, req.body.name, dict(req.body.metadata or {})
    )
    return _image_response(req, image_id)


def create_backup(req: ActionRequest) -> Response:
    body: BackupBody = req.body
    image_id = moves.create_backup(
        req.deps,
        req.call,
        req.uuid,
        body.name,
        body.backup_type,
        body.rotation,
        dict(body.metadata or {}),
    )
    # a rotation of 0 deletes the backup right away: no Location then
    return _image_response(req, image_id, location=body.rotation > 0)


def shelve(req: ActionRequest) -> None:
    moves.shelve(req.deps, req.call, req.uuid)


def shelve_offload(req: ActionRequest) -> None:
    moves.shelve_offload(req.deps, req.call, req.uuid)


def unshelve(req: ActionRequest) -> None:
    body = req.body
    if body is None:
        moves.unshelve(req.deps, req.call, req.uuid)
        return
    if not isinstance(body, dict) or req.version < (2, 77):
        if req.version < (2, 77) and body in ({},):
            moves.unshelve(req.deps, req.call, req.uuid)
            return
        raise BadRequest("Invalid input for field/attribute unshelve.")
    parsed = UnshelveBody.model_validate(body)
    if req.version < (2, 91):
        if "host" in body or "availability_zone" not in body or parsed.availability_zone is None:
            raise BadRequest("Invalid input for field/attribute unshelve.")
    elif not body:
        raise BadRequest("Invalid input for field/attribute unshelve.")
    if parsed.host is not None:
        req.ctx.can("os_compute_api:os-shelve:unshelve_to_host", servers.target(req.instance))
    zone: Any = parsed.availability_zone if "availability_zone" in body else ...
    moves.unshelve(req.deps, req.call, req.uuid, zone=zone, host=parsed.host)


# -- consoles and password --------------------------------------------------------------------
def console_output(req: ActionRequest) -> Response:
    raw = req.body.length
    length: int | None = None
    if raw is not None:
        try:
            length = int(raw)
        except (TypeError, ValueError):
            raise BadRequest(f"Invalid input for field/attribute length. Value: {raw}.") from None
        if length < -1:
            raise BadRequest(f"Invalid input for field/attribute length. Value: {raw}.")
        if length == -1:
            length = None
    output = actions.console_output(req.deps, req.call, req.uuid, length)
    return json_response({"output": output})


def vnc_console(req: ActionRequest) -> Response:
    url = consoles.console_url(req.deps, req.call, req.uuid, req.body.type)
    return json_response({"console": {"type": req.body.type, "url": url}})


def serial_console(req: ActionRequest) -> Response:
    url = consoles.console_url(req.deps, req.call, req.uuid, req.body.type)
    return json_response({"console": {"type": req.body.type, "url": url}})


def change_password(req: ActionRequest) -> None:
    actions.change_password(req.deps, req.call, req.uuid, req.body.adminPass)


# -- security groups --------------------------------------------------------------------------
def add_security_group(req: ActionRequest) -> None:
    actions.change_security_group(req.deps, req.call, req.uuid, req.body.name, add=True)


def remove_security_group(req: ActionRequest) -> None:
    actions.change_security_group(req.deps, req.call, req.uuid, req.body.name, add=False)


# -- floating IPs (the proxy API, before 2.44) -------------------------------------------------
def add_floating_ip(req: ActionRequest) -> None:
    fixed = str(req.body.fixed_address) if req.body.fixed_address else None
    proxies.associate(req.deps, req.call, req.uuid, str(req.body.address), fixed)


def remove_floating_ip(req: ActionRequest) -> None:
    proxies.disassociate(req.deps, req.call, req.uuid, str(req.body.address))


# -- admin ------------------------------------------------------------------------------------
def reset_state(req: ActionRequest) -> None:
    actions.reset_state(req.deps, req.call, req.uuid, req.body.state)


def inject_network_info(req: ActionRequest) -> None:
    # nothing to inject into a guest: the drivers read the network info at boot
    servers.check_lock(req.call, req.instance)


def force_delete(req: ActionRequest) -> None:
    if req.instance.vm_state != "soft-delete":
        raise Conflict(
            f"Cannot 'forceDelete' instance {req.uuid} while it is in vm_state "
            f"{req.instance.vm_state}"
        )
    servers.delete(req.deps, req.call, req.uuid, force=True)


def restore(req: ActionRequest) -> None:
    raise Conflict(
        f"Cannot 'restore' instance {req.uuid} while it is in vm_state {req.instance.vm_state}"
    )


def evacuate(req: ActionRequest) -> Response:
    body: EvacuateBody = req.body
    fields = body.model_fields_set
    gate(dict.fromkeys(fields, True), req.version, EVACUATE_GATES)
    if "force" in fields and req.version >= (2, 68):
        raise unexpected(["force"])
    legacy = req.version < (2, 14)
    if legacy and body.onSharedStorage is None:
        raise BadRequest(
            "Invalid input for field/attribute evacuate. 'onSharedStorage' is a required property"
        )
    shared = bool(body.onSharedStorage)
    if shared and body.adminPass is not None:
        raise BadRequest("admin password can't be changed on existing disk")
    password = body.adminPass
    if password is None and not shared:
        password = secrets.token_urlsafe(9)[:12]
    request = evacuations.EvacuateRequest(
        host=body.host,
        on_shared_storage=body.onSharedStorage if legacy else None,
        admin_password=password,
        force=bool(body.force),
        stopped=req.version >= (2, 95),
    )
    evacuations.evacuate(req.deps, req.call, req.uuid, request)
    if legacy:
        return json_response({"adminPass": password}, 200)
    return Response(status_code=200)
