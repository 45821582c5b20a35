"""One compute host's agent: the RPC endpoint, delegating to its operation families.

The families share one :class:`AgentContext` (host, node, driver, deps, locks, event
waiters): build and delete (``build.py``), power (``power.py``), images and shelve
(``images.py``), resize and migration (``migrate.py``), evacuation (``evacuate.py``),
consoles, interfaces and events
(``devices.py``), volumes (``volumes.py``), start-up recovery and power sync
(``recovery.py``).
"""

from __future__ import annotations

from tinystack.common.rpc import Target
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.compute import rpcapi
from tinystack.compute.agent.build import BuildOps
from tinystack.compute.agent.context import AgentContext, AgentDeps
from tinystack.compute.agent.devices import DeviceOps
from tinystack.compute.agent.evacuate import EvacuateOps
from tinystack.compute.agent.images import ImageOps
from tinystack.compute.agent.live_migrate import LiveMigrateOps
from tinystack.compute.agent.migrate import MigrateOps
from tinystack.compute.agent.power import PowerOps
from tinystack.compute.agent.recovery import RecoveryOps
from tinystack.compute.agent.volumes import VolumeOps
from tinystack.compute.objects import (
    BlockDevice,
    DiskInfo,
    Evacuation,
    FlavorMeta,
    HostList,
    ImageMeta,
    LiveMigrateData,
    RequestSpec,
    ScheduledEvent,
)
from tinystack.compute.virt.driver import ComputeDriver


class ComputeManager:
    """The RPC endpoint of one compute host (``Target('compute', server=host)``)."""

    target = Target(rpcapi.COMPUTE_TOPIC, version=rpcapi.COMPUTE_VERSION)

    def __init__(self, deps: AgentDeps, host: str, node_uuid: str, driver: ComputeDriver) -> None:
        self.agent = AgentContext(deps, host, node_uuid, driver)
        self.volumes = VolumeOps(self.agent)
        self.builds = BuildOps(self.agent, self.volumes)
        self.power = PowerOps(self.agent)
        self.images = ImageOps(self.agent, self.volumes)
        self.moves = MigrateOps(self.agent, self.volumes)
        self.evacuations = EvacuateOps(self.agent)
        self.live = LiveMigrateOps(self.agent)
        self.devices = DeviceOps(self.agent, self.volumes)
        self.recovery = RecoveryOps(self.agent, self.volumes)

    # -- Build and delete ----------------------------------------------------------------------
    def build_and_run_instance(
        self,
        ctxt: rpcapi.RPCContext,
        instance_uuid: str,
        request_spec: JSON,
        host_list: JSON,
        attempt: int = 1,
        node: str | None = None,
        scheduled: JSON = None,
    ) -> None:
        self.builds.build_and_run_instance(
            CallContext.from_dict(ctxt),
            instance_uuid,
            RequestSpec.from_primitive(request_spec),
            HostList.from_primitive(host_list),
            attempt,
            node,
            ScheduledEvent.from_primitive(scheduled) if scheduled is not None else None,
        )

    def terminate_instance(self, ctxt: rpcapi.RPCContext, instance_uuid: str) -> None:
        self.builds.terminate_instance(CallContext.from_dict(ctxt), instance_uuid)

    # -- Power ---------------------------------------------------------------------------------
    def stop_instance(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, clean_shutdown: bool = True
    ) -> None:
        self.power.stop_instance(CallContext.from_dict(ctxt), instance_uuid, clean_shutdown)

    def start_instance(self, ctxt: rpcapi.RPCContext, instance_uuid: str) -> None:
        self.power.start_instance(CallContext.from_dict(ctxt), instance_uuid)

    def reboot_instance(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, reboot_type: str
    ) -> None:
        self.power.reboot_instance(CallContext.from_dict(ctxt), instance_uuid, reboot_type)

    def pause_instance(self, ctxt: rpcapi.RPCContext, instance_uuid: str) -> None:
        self.power.pause_instance(CallContext.from_dict(ctxt), instance_uuid)

    def unpause_instance(self, ctxt: rpcapi.RPCContext, instance_uuid: str) -> None:
        self.power.unpause_instance(CallContext.from_dict(ctxt), instance_uuid)

    def suspend_instance(self, ctxt: rpcapi.RPCContext, instance_uuid: str) -> None:
        self.power.suspend_instance(CallContext.from_dict(ctxt), instance_uuid)

    def resume_instance(self, ctxt: rpcapi.RPCContext, instance_uuid: str) -> None:
        self.power.resume_instance(CallContext.from_dict(ctxt), instance_uuid)

    def rescue_instance(
        self,
        ctxt: rpcapi.RPCContext,
        instance_uuid: str,
        rescue_password: str | None = None,
        rescue_image_ref: str | None = None,
        rescue_image: JSON = None,
    ) -> None:
        image = ImageMeta.from_primitive(rescue_image) if rescue_image else None
        self.power.rescue_instance(
            CallContext.from_dict(ctxt), instance_uuid, rescue_password, rescue_image_ref, image
        )

    def unrescue_instance(self, ctxt: rpcapi.RPCContext, instance_uuid: str) -> None:
        self.power.unrescue_instance(CallContext.from_dict(ctxt), instance_uuid)

    def trigger_crash_dump(self, ctxt: rpcapi.RPCContext, instance_uuid: str) -> None:
        self.power.trigger_crash_dump(CallContext.from_dict(ctxt), instance_uuid)

    def set_admin_password(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, new_pass: str
    ) -> None:
        self.power.set_admin_password(CallContext.from_dict(ctxt), instance_uuid, new_pass)

    # -- Images, shelve and rebuild ------------------------------------------------------------
    def snapshot_instance(
        self,
        ctxt: rpcapi.RPCContext,
        instance_uuid: str,
        image_id: str,
        backup_type: str | None = None,
        rotation: int | None = None,
    ) -> None:
        self.images.snapshot_instance(
            CallContext.from_dict(ctxt), instance_uuid, image_id, backup_type, rotation
        )

    def shelve_instance(
        self,
        ctxt: rpcapi.RPCContext,
        instance_uuid: str,
        image_id: str,
        clean_shutdown: bool = True,
        offload: bool = True,
    ) -> None:
        self.images.shelve_instance(
            CallContext.from_dict(ctxt), instance_uuid, image_id, clean_shutdown, offload
        )

    def shelve_offload_instance(self, ctxt: rpcapi.RPCContext, instance_uuid: str) -> None:
        self.images.shelve_offload_instance(CallContext.from_dict(ctxt), instance_uuid)

    def unshelve_instance(self, ctxt: rpcapi.RPCContext, instance_uuid: str) -> None:
        self.images.unshelve_instance(CallContext.from_dict(ctxt), instance_uuid)

    def unshelve_on_host(self, ctxt: rpcapi.RPCContext, instance_uuid: str) -> None:
        self.images.unshelve_on_host(CallContext.from_dict(ctxt), instance_uuid)

    def rebuild_instance(
        self,
        ctxt: rpcapi.RPCContext,
        instance_uuid: str,
        orig_vm_state: str,
        admin_password: str | None = None,
        reimage_image_id: str | None = None,
        reimage_timeout: float = 0.0,
    ) -> None:
        self.images.rebuild_instance(
            CallContext.from_dict(ctxt),
            instance_uuid,
            orig_vm_state,
            admin_password,
            reimage_image_id=reimage_image_id,
            reimage_timeout=float(reimage_timeout),
        )

    # -- Resize and cold migration -------------------------------------------------------------
    def prep_resize(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, migration_uuid: str, new_flavor: JSON
    ) -> None:
        self.moves.prep_resize(
            CallContext.from_dict(ctxt),
            instance_uuid,
            migration_uuid,
            FlavorMeta.from_primitive(new_flavor),
        )

    def resize_instance(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, migration_uuid: str, new_flavor: JSON
    ) -> None:
        self.moves.resize_instance(
            CallContext.from_dict(ctxt),
            instance_uuid,
            migration_uuid,
            FlavorMeta.from_primitive(new_flavor),
        )

    def finish_resize(
        self,
        ctxt: rpcapi.RPCContext,
        instance_uuid: str,
        migration_uuid: str,
        disk_info: JSON,
        new_flavor: JSON,
    ) -> None:
        self.moves.finish_resize(
            CallContext.from_dict(ctxt),
            instance_uuid,
            migration_uuid,
            DiskInfo.from_primitive(disk_info),
            FlavorMeta.from_primitive(new_flavor),
        )

    def confirm_resize(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, migration_uuid: str
    ) -> None:
        self.moves.confirm_resize(CallContext.from_dict(ctxt), instance_uuid, migration_uuid)

    def revert_resize(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, migration_uuid: str
    ) -> None:
        self.moves.revert_resize(CallContext.from_dict(ctxt), instance_uuid, migration_uuid)

    def finish_revert_resize(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, migration_uuid: str
    ) -> None:
        self.moves.finish_revert_resize(CallContext.from_dict(ctxt), instance_uuid, migration_uuid)

    # -- Evacuation ----------------------------------------------------------------------------
    def evacuate_instance(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, evacuation: JSON
    ) -> None:
        self.evacuations.evacuate_instance(
            CallContext.from_dict(ctxt), instance_uuid, Evacuation.from_primitive(evacuation)
        )

    # -- Consoles, interfaces and events -------------------------------------------------------
    def get_console_output(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, length: int | None = None
    ) -> str:
        return self.devices.get_console_output(CallContext.from_dict(ctxt), instance_uuid, length)

    def get_vnc_console(self, ctxt: rpcapi.RPCContext, instance_uuid: str) -> JSON:
        return self.devices.get_vnc_console(
            CallContext.from_dict(ctxt), instance_uuid
        ).to_primitive()

    def get_serial_console(self, ctxt: rpcapi.RPCContext, instance_uuid: str) -> JSON:
        return self.devices.get_serial_console(
            CallContext.from_dict(ctxt), instance_uuid
        ).to_primitive()

    def get_diagnostics(self, ctxt: rpcapi.RPCContext, instance_uuid: str) -> JSON:
        return self.devices.get_diagnostics(
            CallContext.from_dict(ctxt), instance_uuid
        ).to_primitive()

    def attach_interface(
        self,
        ctxt: rpcapi.RPCContext,
        instance_uuid: str,
        network_id: str | None,
        port_id: str | None,
        fixed_ip: str | None,
        tag: str | None = None,
    ) -> JSON:
        return self.devices.attach_interface(
            CallContext.from_dict(ctxt), instance_uuid, network_id, port_id, fixed_ip, tag
        ).to_primitive()

    def detach_interface(self, ctxt: rpcapi.RPCContext, instance_uuid: str, port_id: str) -> None:
        self.devices.detach_interface(CallContext.from_dict(ctxt), instance_uuid, port_id)

    # -- Volumes -------------------------------------------------------------------------------
    def check_volume_attach(
        self, ctxt: rpcapi.RPCContext, volume_id: str, multiattach: bool, tagged: bool
    ) -> None:
        del ctxt
        self.volumes.check_attach(volume_id, multiattach=multiattach, tagged=tagged)

    def attach_volume(self, ctxt: rpcapi.RPCContext, instance_uuid: str, bdm: JSON) -> None:
        self.volumes.attach_volume(
            CallContext.from_dict(ctxt), instance_uuid, BlockDevice.from_primitive(bdm)
        )

    def detach_volume(
        self,
        ctxt: rpcapi.RPCContext,
        instance_uuid: str,
        volume_id: str,
        attachment_id: str | None = None,
    ) -> None:
        self.volumes.detach_volume(
            CallContext.from_dict(ctxt), instance_uuid, volume_id, attachment_id
        )

    def swap_volume(
        self,
        ctxt: rpcapi.RPCContext,
        instance_uuid: str,
        bdm: JSON,
        new_volume_id: str,
        new_attachment_id: str,
    ) -> None:
        self.volumes.swap_volume(
            CallContext.from_dict(ctxt),
            instance_uuid,
            BlockDevice.from_primitive(bdm),
            new_volume_id,
            new_attachment_id,
        )

    def volume_snapshot_create(
        self,
        ctxt: rpcapi.RPCContext,
        instance_uuid: str,
        volume_id: str,
        create_info: dict[str, JSON],
    ) -> None:
        self.volumes.snapshot_create(
            CallContext.from_dict(ctxt), instance_uuid, volume_id, create_info
        )

    def volume_snapshot_delete(
        self,
        ctxt: rpcapi.RPCContext,
        instance_uuid: str,
        volume_id: str,
        snapshot_id: str,
        delete_info: dict[str, JSON],
    ) -> None:
        self.volumes.snapshot_delete(
            CallContext.from_dict(ctxt), instance_uuid, volume_id, snapshot_id, delete_info
        )

    def external_instance_event(
        self,
        ctxt: rpcapi.RPCContext,
        instance_uuid: str,
        name: str,
        tag: str | None,
        status: str = "completed",
    ) -> None:
        self.devices.external_instance_event(
            CallContext.from_dict(ctxt), instance_uuid, name, tag, status
        )

    # -- Live migration (agent/live_migrate.py) ------------------------------------------------
    def check_can_live_migrate_destination(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, block_migration: bool | None
    ) -> JSON:
        return self.live.check_can_live_migrate_destination(
            CallContext.from_dict(ctxt), instance_uuid, block_migration
        ).to_primitive()

    def check_can_live_migrate_source(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, data: JSON
    ) -> JSON:
        return self.live.check_can_live_migrate_source(
            CallContext.from_dict(ctxt), instance_uuid, LiveMigrateData.from_primitive(data)
        ).to_primitive()

    def cleanup_live_migration_destination_check(self, ctxt: rpcapi.RPCContext, data: JSON) -> None:
        self.live.cleanup_live_migration_destination_check(
            CallContext.from_dict(ctxt), LiveMigrateData.from_primitive(data)
        )

    def live_migration(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, migration_uuid: str, data: JSON
    ) -> None:
        self.live.live_migration(
            CallContext.from_dict(ctxt),
            instance_uuid,
            migration_uuid,
            LiveMigrateData.from_primitive(data),
        )

    def pre_live_migration(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, migration_uuid: str, data: JSON
    ) -> JSON:
        return self.live.pre_live_migration(
            CallContext.from_dict(ctxt),
            instance_uuid,
            migration_uuid,
            LiveMigrateData.from_primitive(data),
        ).to_primitive()

    def post_live_migration_at_destination(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, migration_uuid: str, data: JSON
    ) -> None:
        self.live.post_live_migration_at_destination(
            CallContext.from_dict(ctxt),
            instance_uuid,
            migration_uuid,
            LiveMigrateData.from_primitive(data),
        )

    def rollback_live_migration_at_destination(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, migration_uuid: str, data: JSON
    ) -> None:
        self.live.rollback_live_migration_at_destination(
            CallContext.from_dict(ctxt),
            instance_uuid,
            migration_uuid,
            LiveMigrateData.from_primitive(data),
        )

    def live_migration_abort(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, migration_uuid: str
    ) -> None:
        self.live.live_migration_abort(CallContext.from_dict(ctxt), instance_uuid, migration_uuid)

    def live_migration_force_complete(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, migration_uuid: str
    ) -> None:
        self.live.live_migration_force_complete(
            CallContext.from_dict(ctxt), instance_uuid, migration_uuid
        )
