"""Consoles, diagnostics, interfaces and external events (mostly RPC calls)."""

from __future__ import annotations

import logging
from typing import Any

from tinystack.common.clients.session import ClientError
from tinystack.compute import exception, states
from tinystack.compute.agent.migrate import MigrateMixin
from tinystack.compute.context import CallContext
from tinystack.compute.services import instance_actions, instances
from tinystack.compute.services import ports as network

LOG = logging.getLogger(__name__)


class DevicesMixin(MigrateMixin):
    def get_console_output(
        self, ctxt: dict[str, Any], instance_uuid: str, length: int | None = None
    ) -> str:
        ctx = CallContext.from_dict(ctxt)
        inst = self.load(instance_uuid)
        output = self.driver.get_console_output(ctx, self.meta(inst))
        if length is not None and length >= 0:
            lines = output.splitlines(keepends=True)
            output = "".join(lines[-length:]) if length else ""
        return output

    def get_vnc_console(self, ctxt: dict[str, Any], instance_uuid: str) -> dict[str, Any]:
        ctx = CallContext.from_dict(ctxt)
        inst = self.load(instance_uuid)
        info = self.driver.get_vnc_console(ctx, self.meta(inst))
        return {"host": info.host, "port": info.port, "path": info.internal_access_path}

    def get_diagnostics(self, ctxt: dict[str, Any], instance_uuid: str) -> dict[str, Any]:
        ctx = CallContext.from_dict(ctxt)
        inst = self.load(instance_uuid)
        return self.driver.get_diagnostics(ctx, self.meta(inst))

    def attach_interface(
        self,
        ctxt: dict[str, Any],
        instance_uuid: str,
        network_id: str | None,
        port_id: str | None,
        fixed_ip: str | None,
        tag: str | None = None,
    ) -> dict[str, Any]:
        """Create (or adopt) a port, bind it here and plug it; returns the new VIF."""
        result: dict[str, Any] = {}
        with self.operation(
            ctxt, instance_uuid, "compute_attach_interface", revert_task_state=False, reraise=True
        ) as ctx:
            inst = self.load(instance_uuid)
            if not network_id and not port_id:
                network_id = network.choose_auto_network(self.deps.network, ctx, inst.project_id)
                if network_id is None:
                    raise exception.NetworkError("No network available to attach an interface.")
            req = {"network_id": network_id, "port_id": port_id, "fixed_ip": fixed_ip, "tag": tag}
            vif = network._one_port(
                self.deps.network,
                ctx,
                inst,
                self.host,
                inst.availability_zone or "nova",
                req,
                None,
            )
            try:
                self.driver.attach_interface(ctx, self.meta(inst), instances.as_vif(vif))
            except Exception:
                network.deallocate(self.deps.network, ctx, [vif])
                raise
            self.save(instance_uuid, {"network_info": [*(inst.network_info or []), vif]})
            result = vif
        return result

    def detach_interface(self, ctxt: dict[str, Any], instance_uuid: str, port_id: str) -> None:
        with self.operation(
            ctxt, instance_uuid, "compute_detach_interface", revert_task_state=False
        ) as ctx:
            inst = self.load(instance_uuid)
            remaining = [v for v in inst.network_info or [] if v["id"] != port_id]
            gone = [v for v in inst.network_info or [] if v["id"] == port_id]
            for vif in gone:
                self.driver.detach_interface(ctx, self.meta(inst), instances.as_vif(vif))
            network.deallocate(self.deps.network, ctx, gone)
            self.save(instance_uuid, {"network_info": remaining})

    def external_instance_event(
        self,
        ctxt: dict[str, Any],
        instance_uuid: str,
        name: str,
        tag: str | None,
        status: str = "completed",
        data: dict[str, Any] | None = None,
    ) -> None:
        ctx = CallContext.from_dict(ctxt)
        key = f"{name}-{tag}" if tag else name
        if name == "network-vif-plugged" and self.waiters.deliver(instance_uuid, key, status):
            return
        if name in ("network-changed", "network-vif-deleted", "network-vif-unplugged"):
            self._refresh_network(instance_uuid)
        elif name == "power-update":
            self._power_update(ctx, instance_uuid, tag)

    def _refresh_network(self, uuid: str) -> None:
        try:
            inst = self.load(uuid)
            vifs = network.refresh(self.deps.network, inst)
            self.save(uuid, {"network_info": vifs})
        except (exception.InstanceNotFound, ClientError) as exc:
            LOG.info("cannot refresh the network info of %s: %s", uuid, exc)

    def _power_update(self, ctx: CallContext, uuid: str, target: str | None) -> None:
        event = "compute_power_update"
        with instance_actions.record(self.deps.db, ctx, uuid, event, self.host):
            inst = self.load(uuid)
            meta = self.meta(inst)
            if target == "POWER_OFF" and inst.vm_state == states.ACTIVE:
                self.driver.power_off(ctx, meta)
                self.save(uuid, {"vm_state": states.STOPPED, "power_state": states.SHUTDOWN})
            elif target == "POWER_ON" and inst.vm_state == states.STOPPED:
                self.driver.power_on(ctx, meta, instances.vifs(inst))
                self.save(uuid, {"vm_state": states.ACTIVE, "power_state": states.RUNNING})
