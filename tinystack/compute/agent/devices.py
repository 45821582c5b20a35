"""Consoles, diagnostics, interfaces and external events (mostly RPC calls)."""

from __future__ import annotations

import logging

from tinystack.common.clients.session import ClientError
from tinystack.common.rpc.context import CallContext
from tinystack.compute import exception, states
from tinystack.compute.agent.context import AgentContext
from tinystack.compute.agent.volumes import VolumeOps
from tinystack.compute.objects import (
    VIF,
    AttachedInterface,
    ConsoleInfo,
    Diagnostics,
    NetworkRequest,
)

LOG = logging.getLogger(__name__)


class DeviceOps:
    """Consoles, diagnostics, interfaces and external events."""

    def __init__(self, agent: AgentContext, volumes: VolumeOps) -> None:
        self.agent = agent
        self.volumes = volumes

    def get_console_output(
        self, ctx: CallContext, instance_uuid: str, length: int | None = None
    ) -> str:
        inst = self.agent.load(instance_uuid)
        output = self.agent.driver.get_console_output(ctx, inst.meta)
        if length is not None and length >= 0:
            lines = output.splitlines(keepends=True)
            output = "".join(lines[-length:]) if length else ""
        return output

    def get_vnc_console(self, ctx: CallContext, instance_uuid: str) -> ConsoleInfo:
        inst = self.agent.load(instance_uuid)
        return self.agent.driver.get_vnc_console(ctx, inst.meta)

    def get_serial_console(self, ctx: CallContext, instance_uuid: str) -> ConsoleInfo:
        inst = self.agent.load(instance_uuid)
        return self.agent.driver.get_serial_console(ctx, inst.meta)

    def get_diagnostics(self, ctx: CallContext, instance_uuid: str) -> Diagnostics:
        inst = self.agent.load(instance_uuid)
        return Diagnostics(self.agent.driver.get_diagnostics(ctx, inst.meta))

    def attach_interface(
        self,
        ctx: CallContext,
        instance_uuid: str,
        network_id: str | None,
        port_id: str | None,
        fixed_ip: str | None,
        tag: str | None = None,
    ) -> AttachedInterface:
        """Create (or adopt) a port, bind it here and plug it; returns the new VIF."""
        result = AttachedInterface()
        with self.agent.operation(
            ctx, instance_uuid, "compute_attach_interface", revert_task_state=False, reraise=True
        ) as ctx:
            inst = self.agent.load(instance_uuid)
            if not network_id and not port_id:
                network_id = self.agent.store.choose_auto_network(ctx, inst.project_id)
                if network_id is None:
                    raise exception.NetworkError("No network available to attach an interface.")
            req = NetworkRequest(network_id, port_id, fixed_ip, tag)
            vif = self.agent.store.attach_port(
                ctx, inst, self.agent.host, inst.availability_zone or "nova", req
            )
            try:
                self.agent.driver.attach_interface(ctx, inst.meta, VIF.from_stored(vif))
            except Exception:
                self.agent.store.release_ports(ctx, [vif])
                raise
            self.agent.save(instance_uuid, {"network_info": [*(inst.network_info or []), vif]})
            result = AttachedInterface(vif)
        return result

    def detach_interface(self, ctx: CallContext, instance_uuid: str, port_id: str) -> None:
        with self.agent.operation(
            ctx, instance_uuid, "compute_detach_interface", revert_task_state=False
        ) as ctx:
            inst = self.agent.load(instance_uuid)
            remaining = [v for v in inst.network_info or [] if v["id"] != port_id]
            gone = [v for v in inst.network_info or [] if v["id"] == port_id]
            for vif in gone:
                self.agent.driver.detach_interface(ctx, inst.meta, VIF.from_stored(vif))
            self.agent.store.release_ports(ctx, gone)
            self.agent.save(instance_uuid, {"network_info": remaining})

    def external_instance_event(
        self,
        ctx: CallContext,
        instance_uuid: str,
        name: str,
        tag: str | None,
        status: str = "completed",
    ) -> None:
        key = f"{name}-{tag}" if tag else name
        if name == "network-vif-plugged" and self.agent.waiters.deliver(instance_uuid, key, status):
            return
        if name == "volume-reimaged":
            # a rebuild waits for it (agent/volumes.py reimage_root)
            self.agent.waiters.deliver(instance_uuid, key, status)
            return
        if name in ("network-changed", "network-vif-deleted", "network-vif-unplugged"):
            self._refresh_network(instance_uuid)
        elif name == "power-update":
            self._power_update(ctx, instance_uuid, tag)
        elif name == "volume-extended" and tag:
            self.volumes.extend_volume(ctx, instance_uuid, tag)

    def _refresh_network(self, uuid: str) -> None:
        try:
            inst = self.agent.load(uuid)
            vifs = self.agent.store.refresh_ports(inst)
            self.agent.save(uuid, {"network_info": vifs})
        except (exception.InstanceNotFound, ClientError) as exc:
            LOG.info("cannot refresh the network info of %s: %s", uuid, exc)

    def _power_update(self, ctx: CallContext, uuid: str, target: str | None) -> None:
        event = "compute_power_update"
        with self.agent.store.action_event(ctx, uuid, event, self.agent.host):
            inst = self.agent.load(uuid)
            meta = inst.meta
            if target == "POWER_OFF" and inst.vm_state == states.ACTIVE:
                self.agent.driver.power_off(ctx, meta)
                self.agent.save(uuid, {"vm_state": states.STOPPED, "power_state": states.SHUTDOWN})
            elif target == "POWER_ON" and inst.vm_state == states.STOPPED:
                self.agent.driver.power_on(ctx, meta, inst.vifs)
                self.agent.save(uuid, {"vm_state": states.ACTIVE, "power_state": states.RUNNING})
