"""A server's interfaces (``os-interface``): its ports, and attaching or detaching one.

The ports are those of the instance's stored network info; attaching asks the agent of
the instance's host (which creates or binds the port and plugs it), detaching tells it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tinystack.common.exceptions import BadRequest, Conflict, NotFound
from tinystack.common.rpc import MessagingTimeout, RemoteError
from tinystack.common.rpc.context import CallContext
from tinystack.compute import states
from tinystack.compute.services import instance_actions, servers
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.records import ServerRecord

ATTACHABLE = [states.ACTIVE, states.PAUSED, states.STOPPED, states.SUSPENDED]


@dataclass(frozen=True, slots=True)
class FixedIp:
    subnet_id: str | None
    ip_address: str


@dataclass(frozen=True, slots=True)
class InterfaceRecord:
    port_id: str
    net_id: str | None
    mac_addr: str | None
    active: bool
    fixed_ips: tuple[FixedIp, ...]
    tag: str | None


def _record(vif: dict[str, Any]) -> InterfaceRecord:
    return InterfaceRecord(
        port_id=vif["id"],
        net_id=vif.get("network_id"),
        mac_addr=vif.get("address"),
        active=bool(vif.get("active", True)),
        fixed_ips=tuple(
            FixedIp(ip.get("subnet_id"), ip["ip_address"]) for ip in vif.get("fixed_ips", [])
        ),
        tag=vif.get("tag"),
    )


def list_for(inst: ServerRecord) -> list[InterfaceRecord]:
    """The instance's interfaces, as its network info records them."""
    return [_record(vif) for vif in inst.network_info or []]


def attach(
    deps: Deps,
    ctx: CallContext,
    inst: ServerRecord,
    *,
    network_id: str | None,
    port_id: str | None,
    fixed_ip: str | None,
    tag: str | None,
) -> InterfaceRecord:
    """Attach a port (given, or new on ``network_id``) through the instance's agent."""
    if not deps.network.available():
        raise BadRequest("Interfaces need the network service, which this cloud does not run.")
    servers.check_lock(ctx, inst)
    servers.check_state(inst, "attach_interface", ATTACHABLE, [None])
    if not inst.host:
        raise Conflict(f"Instance {inst.uuid} is not ready")
    instance_actions.record_start(deps.db, ctx, inst.uuid, instance_actions.ATTACH_INTERFACE)
    try:
        attached = deps.agents.attach_interface(
            ctx,
            inst.host,
            inst.uuid,
            network_id=network_id,
            port_id=port_id,
            fixed_ip=fixed_ip,
            tag=tag,
        )
    except RemoteError as exc:
        if exc.exc_type in ("ClientConflict", "Conflict"):
            raise Conflict(exc.message) from exc
        if exc.exc_type in ("ClientNotFound", "NotFound"):
            raise NotFound(exc.message) from exc
        raise BadRequest(
            f"Failed to attach network adapter device to {inst.uuid}: {exc.message}"
        ) from exc
    except MessagingTimeout as exc:
        raise Conflict(f"Attaching an interface to {inst.uuid} timed out") from exc
    return _record(attached.vif)


def detach(deps: Deps, ctx: CallContext, inst: ServerRecord, port_id: str) -> None:
    """Tell the instance's agent to detach ``port_id``."""
    servers.check_lock(ctx, inst)
    servers.check_state(inst, "detach_interface", ATTACHABLE, [None])
    if port_id not in {v["id"] for v in inst.network_info or []}:
        raise NotFound(f"Port {port_id} is not attached")
    instance_actions.record_start(deps.db, ctx, inst.uuid, instance_actions.DETACH_INTERFACE)
    deps.agents.detach_interface(ctx, inst.host or "", inst.uuid, port_id)
