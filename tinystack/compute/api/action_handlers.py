"""The server actions: each handler authorizes through its registry entry, then calls the
service layer. Registered in :data:`tinystack.compute.api.server_actions.ACTIONS`."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.responses import Response

from tinystack.common.exceptions import BadRequest, Conflict
from tinystack.compute import states
from tinystack.compute.api import servers_view
from tinystack.compute.api.bodies import gate
from tinystack.compute.api.rendering import json_response
from tinystack.compute.api.schemas import parse_hostname
from tinystack.compute.api.server_actions import (
    REBUILD_GATES,
    ActionRequest,
    AddFloatingIpBody,
    BackupBody,
    ConsoleOutputBody,
    CreateImageBody,
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
    UnshelveBody,
    VncBody,
    action,
)
from tinystack.compute.services import network_proxies as proxies
from tinystack.compute.services import server_actions as actions
from tinystack.compute.services import server_moves as moves
from tinystack.compute.services import servers

S = "os_compute_api:servers:%s"


# -- power ------------------------------------------------------------------------------------
@action("reboot", S % "reboot", schema=RebootBody, nullable=False)
def reboot(req: ActionRequest) -> None:
    actions.reboot(req.deps, req.call, req.uuid, req.body.type)


@action("os-stop", S % "stop")
def stop(req: ActionRequest) -> None:
    actions.simple(req.deps, req.call, req.uuid, "stop")


@action("os-start", S % "start")
def start(req: ActionRequest) -> None:
    actions.simple(req.deps, req.call, req.uuid, "start")


@action("pause", "os_compute_api:os-pause-server:pause")
def pause(req: ActionRequest) -> None:
    actions.simple(req.deps, req.call, req.uuid, "pause")


@action("unpause", "os_compute_api:os-pause-server:unpause")
def unpause(req: ActionRequest) -> None:
    actions.simple(req.deps, req.call, req.uuid, "unpause")


@action("suspend", "os_compute_api:os-suspend-server:suspend")
def suspend(req: ActionRequest) -> None:
    actions.simple(req.deps, req.call, req.uuid, "suspend")


@action("resume", "os_compute_api:os-suspend-server:resume")
def resume(req: ActionRequest) -> None:
    actions.simple(req.deps, req.call, req.uuid, "resume")


@action("trigger_crash_dump", S % "trigger_crash_dump", min_version="2.17")
def trigger_crash_dump(req: ActionRequest) -> None:
    if req.body is not None:
        raise BadRequest(
            f"Invalid input for field/attribute trigger_crash_dump. Value: {req.body}. "
            f"{req.body!r} is not of type 'null'"
        )
    actions.trigger_crash_dump(req.deps, req.call, req.uuid)


# -- lock -------------------------------------------------------------------------------------
@action("lock", "os_compute_api:os-lock-server:lock", schema=LockBody, settled=None)
def lock(req: ActionRequest) -> None:
    reason = req.body.locked_reason
    if reason is not None and req.version < (2, 73):
        raise BadRequest("Additional properties are not allowed ('locked_reason' was unexpected)")
    actions.lock(req.deps, req.call, req.uuid, reason)


@action("unlock", "os_compute_api:os-lock-server:unlock", settled=None)
def unlock(req: ActionRequest) -> None:
    inst = req.instance
    if inst.locked and inst.locked_by == "admin" and req.call.project_id == inst.project_id:
        req.ctx.can("os_compute_api:os-lock-server:unlock:unlock_override", servers.target(inst))
    actions.unlock(req.deps, req.call, req.uuid)


# -- rescue -----------------------------------------------------------------------------------
@action("rescue", "os_compute_api:os-rescue", schema=RescueBody)
def rescue(req: ActionRequest) -> Response:
    password = actions.rescue(
        req.deps, req.call, req.uuid, req.body.adminPass, req.body.rescue_image_ref
    )
    return json_response({"adminPass": password}, 200)


@action("unrescue", "os_compute_api:os-unrescue")
def unrescue(req: ActionRequest) -> None:
    actions.simple(req.deps, req.call, req.uuid, "unrescue")


# -- rebuild, resize, migrate -----------------------------------------------------------------
@action("rebuild", S % "rebuild", schema=RebuildBody, nullable=False)
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


@action("resize", S % "resize", schema=ResizeBody, nullable=False)
def resize(req: ActionRequest) -> None:
    body: ResizeBody = req.body
    moves.resize(req.deps, req.call, req.uuid, str(body.flavorRef), body.disk_config == "AUTO")


@action("confirmResize", S % "confirm_resize", settled=lambda vm, task: vm != states.RESIZED)
def confirm_resize(req: ActionRequest) -> Response:
    moves.confirm_resize(req.deps, req.call, req.uuid)
    return Response(status_code=204)


@action("revertResize", S % "revert_resize")
def revert_resize(req: ActionRequest) -> None:
    moves.revert_resize(req.deps, req.call, req.uuid)


@action("migrate", "os_compute_api:os-migrate-server:migrate", schema=MigrateBody)
def migrate(req: ActionRequest) -> None:
    host = req.body.host
    if host is not None:
        if req.version < (2, 56):
            raise BadRequest("Additional properties are not allowed ('host' was unexpected)")
        req.ctx.can("os_compute_api:os-migrate-server:migrate:host", servers.target(req.instance))
    moves.migrate(req.deps, req.call, req.uuid, host)


# -- images -----------------------------------------------------------------------------------
def _image_response(req: ActionRequest, image_id: str, location: bool = True) -> Response:
    if req.version >= (2, 45):
        return json_response({"image_id": image_id}, 202)
    headers = {}
    if location and req.deps.image.available():
        headers["Location"] = f"{req.deps.session.endpoint('image')}/v2/images/{image_id}"
    return Response(status_code=202, headers=headers)


@action("createImage", S % "create_image", schema=CreateImageBody, nullable=False)
def create_image(req: ActionRequest) -> Response:
    image_id = moves.create_image(
        req.deps, req.call, req.uuid, req.body.name, dict(req.body.metadata or {})
    )
    return _image_response(req, image_id)


@action("createBackup", "os_compute_api:os-create-backup", schema=BackupBody, nullable=False)
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


@action(
    "shelve",
    "os_compute_api:os-shelve:shelve",
    settled=lambda vm, task: vm == states.SHELVED_OFFLOADED or (vm != states.SHELVED and not task),
)
def shelve(req: ActionRequest) -> None:
    moves.shelve(req.deps, req.call, req.uuid)


@action("shelveOffload", "os_compute_api:os-shelve:shelve_offload")
def shelve_offload(req: ActionRequest) -> None:
    moves.shelve_offload(req.deps, req.call, req.uuid)


@action("unshelve", "os_compute_api:os-shelve:unshelve")
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
@action(
    "os-getConsoleOutput",
    "os_compute_api:os-console-output",
    schema=ConsoleOutputBody,
    nullable=False,
)
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


@action("os-getVNCConsole", "os_compute_api:os-remote-consoles", schema=VncBody, nullable=False)
def vnc_console(req: ActionRequest) -> Response:
    url = actions.console_url(req.deps, req.call, req.uuid, "vnc", req.body.type)
    return json_response({"console": {"type": req.body.type, "url": url}})


@action("changePassword", "os_compute_api:os-admin-password", schema=PasswordBody, nullable=False)
def change_password(req: ActionRequest) -> None:
    actions.change_password(req.deps, req.call, req.uuid, req.body.adminPass)


# -- security groups --------------------------------------------------------------------------
@action(
    "addSecurityGroup",
    "os_compute_api:os-security-groups:add",
    schema=SecurityGroupBody,
    nullable=False,
)
def add_security_group(req: ActionRequest) -> None:
    actions.change_security_group(req.deps, req.call, req.uuid, req.body.name, add=True)


@action(
    "removeSecurityGroup",
    "os_compute_api:os-security-groups:remove",
    schema=SecurityGroupBody,
    nullable=False,
)
def remove_security_group(req: ActionRequest) -> None:
    actions.change_security_group(req.deps, req.call, req.uuid, req.body.name, add=False)


# -- floating IPs (the proxy API, before 2.44) -------------------------------------------------
@action(
    "addFloatingIp",
    "os_compute_api:os-floating-ips:add",
    max_version="2.43",
    schema=AddFloatingIpBody,
    nullable=False,
)
def add_floating_ip(req: ActionRequest) -> None:
    fixed = str(req.body.fixed_address) if req.body.fixed_address else None
    proxies.associate(req.deps, req.call, req.uuid, str(req.body.address), fixed)


@action(
    "removeFloatingIp",
    "os_compute_api:os-floating-ips:remove",
    max_version="2.43",
    schema=RemoveFloatingIpBody,
    nullable=False,
)
def remove_floating_ip(req: ActionRequest) -> None:
    proxies.disassociate(req.deps, req.call, req.uuid, str(req.body.address))


# -- admin ------------------------------------------------------------------------------------
@action(
    "os-resetState",
    "os_compute_api:os-admin-actions:reset_state",
    schema=ResetStateBody,
    nullable=False,
)
def reset_state(req: ActionRequest) -> None:
    actions.reset_state(req.deps, req.call, req.uuid, req.body.state)


@action(
    "injectNetworkInfo",
    "os_compute_api:os-admin-actions:inject_network_info",
    settled=None,
)
def inject_network_info(req: ActionRequest) -> None:
    # nothing to inject into a guest: the drivers read the network info at boot
    servers.check_lock(req.call, req.instance)


@action("forceDelete", "os_compute_api:os-deferred-delete:force")
def force_delete(req: ActionRequest) -> None:
    if req.instance.vm_state != "soft-delete":
        raise Conflict(
            f"Cannot 'forceDelete' instance {req.uuid} while it is in vm_state "
            f"{req.instance.vm_state}"
        )
    servers.delete(req.deps, req.call, req.uuid, force=True)


@action("restore", "os_compute_api:os-deferred-delete:restore")
def restore(req: ActionRequest) -> None:
    raise Conflict(
        f"Cannot 'restore' instance {req.uuid} while it is in vm_state {req.instance.vm_state}"
    )


@action("evacuate", "os_compute_api:os-evacuate")
def evacuate(req: ActionRequest) -> None:
    host = req.instance.host or ""
    if servers.host_statuses(req.deps, [req.instance]).get(req.uuid) in ("UP", "MAINTENANCE"):
        raise BadRequest(f"Compute service of {host} is still in use.")
    raise BadRequest(f"Evacuation of servers from {host} is not supported by this cloud.")
