"""Typed RPC clients of compute's workers: conductor, scheduler and compute agents.

Every argument and result is a payload of :mod:`tinystack.compute.objects` (sent as its
``to_primitive()``, read back with ``from_primitive()``) or a plain scalar; the endpoint
methods (``conductor/manager.py``, ``scheduler/manager.py``, ``agent/manager.py``) take
the same names. The caller's :class:`CallContext` travels as the transport's context
(:meth:`CallContext.to_dict`), not as an argument.

Versions (bump the minor for additions, the major for incompatible changes):

* conductor 1.0: build_instances, migrate_server, unshelve_instance (dict arguments)
* conductor 2.0: the same, with RequestSpec, Destinations, MoveRequest and FlavorMeta payloads
* scheduler 1.0: select_destinations (a dict request spec, lists of dict selections)
* scheduler 2.0: select_destinations(RequestSpec) -> Destinations
* compute 1.0: the instance life cycle methods below (dict arguments)
* compute 2.0: the same, with payloads (HostList, ScheduledEvent, FlavorMeta, DiskInfo;
  ConsoleInfo, Diagnostics and AttachedInterface results); no ``data`` on external events
* compute 2.1: attach_volume, detach_volume, swap_volume (BlockDevice payloads)
* compute 2.2: build_and_run_instance's ScheduledEvent 1.1 (the conductor's host)
* conductor 2.1, compute 2.3: evacuate_server, evacuate_instance (Evacuation payload)
* conductor 2.2: live_migrate_instance; compute 2.4: live migration (checks, pre,
  live_migration, post, rollback, abort, force complete; LiveMigrateData payloads)
* compute 2.5: LiveMigrateData 1.1 (the destination's ``wait_for_vif_plugged``)
* compute 2.6: LiveMigrateData 1.2 (``target``: the libvirt driver's destination domain)
* compute 2.7: volume_snapshot_create, volume_snapshot_delete (assisted volume snapshots)

Rolling upgrades (``[upgrade_levels] compute|conductor|scheduler``, see
:mod:`tinystack.common.rpc.versions`): a client capped below its version sends at the cap,
payloads backported per ``COMPUTE_PAYLOADS`` (the conductor and scheduler get one with
their first payload change); a method or argument added later is sent only when
``client.can_send_version(...)``. Bump the version, add the backport.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from tinystack.common.rpc import RPCClient, Target, Transport
from tinystack.common.rpc.client import VersionCapFn
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.common.rpc.versions import payloads_for
from tinystack.compute.objects import (
    AttachedInterface,
    BlockDevice,
    ConsoleInfo,
    Destinations,
    Diagnostics,
    DiskInfo,
    Evacuation,
    FlavorMeta,
    HostList,
    ImageMeta,
    LiveMigrateData,
    MoveRequest,
    RequestSpec,
    ScheduledEvent,
)

CONDUCTOR_TOPIC = "compute-conductor"
SCHEDULER_TOPIC = "compute-scheduler"
COMPUTE_TOPIC = "compute"

CONDUCTOR_VERSION = "2.2"
SCHEDULER_VERSION = "2.0"
COMPUTE_VERSION = "2.7"
#: the live migration methods are new in 2.4
LIVE = "2.4"
#: the assisted volume snapshot methods are new in 2.7
ASSISTED_SNAPSHOTS = "2.7"

#: RPC version -> the payload versions its receivers read (written when a bump changes a
#: payload): a client capped at or below the key backports them
COMPUTE_PAYLOADS: dict[str, dict[str, str]] = {
    "2.1": {"ScheduledEvent": "1.0"},
    "2.4": {"LiveMigrateData": "1.0"},
    "2.5": {"LiveMigrateData": "1.1"},
}

RPCContext: TypeAlias = dict[str, JSON]
"""The transport's context of a request: a :meth:`CallContext.to_dict`."""


def _ctxt(ctx: CallContext) -> RPCContext:
    data: RPCContext = ctx.to_dict()
    return data


class ConductorAPI:
    def __init__(
        self, transport: Transport, timeout: float = 60, version_cap: VersionCapFn | None = None
    ) -> None:
        self.client = RPCClient(
            transport, Target(CONDUCTOR_TOPIC, version=CONDUCTOR_VERSION), timeout, version_cap
        )

    def build_instances(
        self,
        ctx: CallContext,
        instance_uuids: list[str],
        request_spec: RequestSpec,
        host_lists: Destinations | None = None,
        attempt: int = 1,
    ) -> None:
        """Schedule (or, with ``host_lists``, retry on alternates) and build instances."""
        self.client.cast(
            _ctxt(ctx),
            "build_instances",
            instance_uuids=instance_uuids,
            request_spec=request_spec.to_primitive(),
            host_lists=host_lists.to_primitive() if host_lists is not None else None,
            attempt=attempt,
        )

    def migrate_server(
        self,
        ctx: CallContext,
        instance_uuid: str,
        move: MoveRequest,
        new_flavor: FlavorMeta | None,
        migration_type: str,
    ) -> None:
        self.client.cast(
            _ctxt(ctx),
            "migrate_server",
            instance_uuid=instance_uuid,
            move=move.to_primitive(),
            new_flavor=new_flavor.to_primitive() if new_flavor is not None else None,
            migration_type=migration_type,
        )

    def unshelve_instance(self, ctx: CallContext, instance_uuid: str, move: MoveRequest) -> None:
        self.client.cast(
            _ctxt(ctx), "unshelve_instance", instance_uuid=instance_uuid, move=move.to_primitive()
        )

    def evacuate_server(
        self, ctx: CallContext, instance_uuid: str, move: MoveRequest, evacuation: Evacuation
    ) -> None:
        """Schedule the evacuated instance and have the chosen host rebuild it (a conductor
        capped below 2.1 refuses: RPCVersionCapError)."""
        self.client.prepare(version="2.1").cast(
            _ctxt(ctx),
            "evacuate_server",
            instance_uuid=instance_uuid,
            move=move.to_primitive(),
            evacuation=evacuation.to_primitive(),
        )

    def live_migrate_instance(
        self,
        ctx: CallContext,
        instance_uuid: str,
        host: str | None,
        block_migration: bool | None,
        force: bool,
        wait: bool,
    ) -> str:
        """``wait``: call until the checks are done and return why they failed ("" when the
        migration started); otherwise cast (errors end up in the instance's actions)."""
        kwargs: dict[str, JSON] = {
            "instance_uuid": instance_uuid,
            "host": host,
            "block_migration": block_migration,
            "force": force,
        }
        client = self.client.prepare(version="2.2")  # new in 2.2
        if not wait:
            client.cast(_ctxt(ctx), "live_migrate_instance", **kwargs)
            return ""
        return str(client.call(_ctxt(ctx), "live_migrate_instance", **kwargs) or "")


class SchedulerAPI:
    def __init__(
        self, transport: Transport, timeout: float = 60, version_cap: VersionCapFn | None = None
    ) -> None:
        self.client = RPCClient(
            transport, Target(SCHEDULER_TOPIC, version=SCHEDULER_VERSION), timeout, version_cap
        )

    def select_destinations(
        self,
        ctx: CallContext,
        request_spec: RequestSpec,
        instance_uuids: list[str],
        *,
        claim: bool = True,
    ) -> Destinations:
        """For each instance, the chosen host (claimed in placement) then alternates."""
        result: JSON = self.client.call(
            _ctxt(ctx),
            "select_destinations",
            request_spec=request_spec.to_primitive(),
            instance_uuids=instance_uuids,
            claim=claim,
        )
        return Destinations.from_primitive(result)


class ComputeAgentAPI:
    """Casts and calls to the compute agent of one host (``Target('compute', host)``)."""

    def __init__(
        self, transport: Transport, timeout: float = 60, version_cap: VersionCapFn | None = None
    ) -> None:
        self.client = RPCClient(
            transport, Target(COMPUTE_TOPIC, version=COMPUTE_VERSION), timeout, version_cap
        )

    def _payloads(self) -> dict[str, str]:
        """The payload versions of the version sent now (backports when capped)."""
        return payloads_for(COMPUTE_PAYLOADS, self.client.send_version())

    def _cast(self, ctx: CallContext, host: str, method: str, **kwargs: JSON) -> None:
        self.client.prepare(server=host).cast(_ctxt(ctx), method, **kwargs)

    def _cast_since(
        self, since: str, ctx: CallContext, host: str, method: str, **kwargs: JSON
    ) -> None:
        """A method new in ``since``: an agent capped below it refuses (RPCVersionCapError)."""
        self.client.prepare(server=host, version=since).cast(_ctxt(ctx), method, **kwargs)

    def _call(
        self, ctx: CallContext, host: str, method: str, timeout: float | None = None, **kwargs: JSON
    ) -> Any:
        return self.client.prepare(server=host, timeout=timeout).call(_ctxt(ctx), method, **kwargs)

    def _call_since(
        self,
        since: str,
        ctx: CallContext,
        host: str,
        method: str,
        timeout: float | None = None,
        **kwargs: JSON,
    ) -> Any:
        """A method new in ``since`` (an agent capped below it: RPCVersionCapError)."""
        client = self.client.prepare(server=host, timeout=timeout, version=since)
        return client.call(_ctxt(ctx), method, **kwargs)

    # -- build and delete ----------------------------------------------------------------------
    def build_and_run_instance(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        request_spec: RequestSpec,
        host_list: HostList,
        attempt: int,
        node: str | None = None,
        scheduled: ScheduledEvent | None = None,
    ) -> None:
        """``host_list`` holds the alternates; ``scheduled`` is the conductor's event for the
        agent to record with the host assignment."""
        self._cast(
            ctx,
            host,
            "build_and_run_instance",
            instance_uuid=instance_uuid,
            request_spec=request_spec.to_primitive(),
            host_list=host_list.to_primitive(),
            attempt=attempt,
            node=node,
            scheduled=scheduled.to_primitive(self._payloads()) if scheduled is not None else None,
        )

    def terminate_instance(self, ctx: CallContext, host: str, instance_uuid: str) -> None:
        self._cast(ctx, host, "terminate_instance", instance_uuid=instance_uuid)

    # -- power ---------------------------------------------------------------------------------
    def stop_instance(
        self, ctx: CallContext, host: str, instance_uuid: str, clean_shutdown: bool = True
    ) -> None:
        self._cast(
            ctx, host, "stop_instance", instance_uuid=instance_uuid, clean_shutdown=clean_shutdown
        )

    def start_instance(self, ctx: CallContext, host: str, instance_uuid: str) -> None:
        self._cast(ctx, host, "start_instance", instance_uuid=instance_uuid)

    def reboot_instance(
        self, ctx: CallContext, host: str, instance_uuid: str, reboot_type: str
    ) -> None:
        self._cast(
            ctx, host, "reboot_instance", instance_uuid=instance_uuid, reboot_type=reboot_type
        )

    def pause_instance(self, ctx: CallContext, host: str, instance_uuid: str) -> None:
        self._cast(ctx, host, "pause_instance", instance_uuid=instance_uuid)

    def unpause_instance(self, ctx: CallContext, host: str, instance_uuid: str) -> None:
        self._cast(ctx, host, "unpause_instance", instance_uuid=instance_uuid)

    def suspend_instance(self, ctx: CallContext, host: str, instance_uuid: str) -> None:
        self._cast(ctx, host, "suspend_instance", instance_uuid=instance_uuid)

    def resume_instance(self, ctx: CallContext, host: str, instance_uuid: str) -> None:
        self._cast(ctx, host, "resume_instance", instance_uuid=instance_uuid)

    def rescue_instance(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        rescue_password: str | None = None,
        rescue_image_ref: str | None = None,
        rescue_image: ImageMeta | None = None,
    ) -> None:
        self._cast(
            ctx,
            host,
            "rescue_instance",
            instance_uuid=instance_uuid,
            rescue_password=rescue_password,
            rescue_image_ref=rescue_image_ref,
            rescue_image=rescue_image.to_primitive() if rescue_image else None,
        )

    def unrescue_instance(self, ctx: CallContext, host: str, instance_uuid: str) -> None:
        self._cast(ctx, host, "unrescue_instance", instance_uuid=instance_uuid)

    def trigger_crash_dump(self, ctx: CallContext, host: str, instance_uuid: str) -> None:
        self._cast(ctx, host, "trigger_crash_dump", instance_uuid=instance_uuid)

    def set_admin_password(
        self, ctx: CallContext, host: str, instance_uuid: str, new_pass: str
    ) -> None:
        """A call: the caller learns whether the driver could do it."""
        self._call(ctx, host, "set_admin_password", instance_uuid=instance_uuid, new_pass=new_pass)

    # -- images, shelve and rebuild ------------------------------------------------------------
    def snapshot_instance(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        image_id: str,
        backup_type: str | None = None,
        rotation: int | None = None,
    ) -> None:
        self._cast(
            ctx,
            host,
            "snapshot_instance",
            instance_uuid=instance_uuid,
            image_id=image_id,
            backup_type=backup_type,
            rotation=rotation,
        )

    def shelve_instance(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        image_id: str,
        clean_shutdown: bool = True,
        offload: bool = True,
    ) -> None:
        self._cast(
            ctx,
            host,
            "shelve_instance",
            instance_uuid=instance_uuid,
            image_id=image_id,
            clean_shutdown=clean_shutdown,
            offload=offload,
        )

    def shelve_offload_instance(self, ctx: CallContext, host: str, instance_uuid: str) -> None:
        self._cast(ctx, host, "shelve_offload_instance", instance_uuid=instance_uuid)

    def unshelve_instance(self, ctx: CallContext, host: str, instance_uuid: str) -> None:
        self._cast(ctx, host, "unshelve_instance", instance_uuid=instance_uuid)

    def unshelve_on_host(self, ctx: CallContext, host: str, instance_uuid: str) -> None:
        self._cast(ctx, host, "unshelve_on_host", instance_uuid=instance_uuid)

    def rebuild_instance(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        orig_vm_state: str,
        admin_password: str | None = None,
        reimage_image_id: str | None = None,
        reimage_timeout: float = 0.0,
    ) -> None:
        """``reimage_image_id``: a volume-backed server's root volume gets this image first
        (waiting up to ``reimage_timeout`` seconds for ``volume-reimaged``)."""
        extra: dict[str, JSON] = {}
        if reimage_image_id:
            extra = {"reimage_image_id": reimage_image_id, "reimage_timeout": reimage_timeout}
        self._cast(
            ctx,
            host,
            "rebuild_instance",
            instance_uuid=instance_uuid,
            orig_vm_state=orig_vm_state,
            admin_password=admin_password,
            **extra,
        )

    def evacuate_instance(
        self, ctx: CallContext, host: str, instance_uuid: str, evacuation: Evacuation
    ) -> None:
        # new in 2.3: an agent capped below it cannot rebuild (RPCVersionCapError)
        self.client.prepare(server=host, version="2.3").cast(
            _ctxt(ctx),
            "evacuate_instance",
            instance_uuid=instance_uuid,
            evacuation=evacuation.to_primitive(),
        )

    # -- resize and cold migration -------------------------------------------------------------
    def prep_resize(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        migration_uuid: str,
        new_flavor: FlavorMeta,
    ) -> None:
        self._cast(
            ctx,
            host,
            "prep_resize",
            instance_uuid=instance_uuid,
            migration_uuid=migration_uuid,
            new_flavor=new_flavor.to_primitive(),
        )

    def resize_instance(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        migration_uuid: str,
        new_flavor: FlavorMeta,
    ) -> None:
        self._cast(
            ctx,
            host,
            "resize_instance",
            instance_uuid=instance_uuid,
            migration_uuid=migration_uuid,
            new_flavor=new_flavor.to_primitive(),
        )

    def finish_resize(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        migration_uuid: str,
        disk_info: DiskInfo,
        new_flavor: FlavorMeta,
    ) -> None:
        self._cast(
            ctx,
            host,
            "finish_resize",
            instance_uuid=instance_uuid,
            migration_uuid=migration_uuid,
            disk_info=disk_info.to_primitive(),
            new_flavor=new_flavor.to_primitive(),
        )

    def confirm_resize(
        self, ctx: CallContext, host: str, instance_uuid: str, migration_uuid: str
    ) -> None:
        self._cast(
            ctx, host, "confirm_resize", instance_uuid=instance_uuid, migration_uuid=migration_uuid
        )

    def revert_resize(
        self, ctx: CallContext, host: str, instance_uuid: str, migration_uuid: str
    ) -> None:
        self._cast(
            ctx, host, "revert_resize", instance_uuid=instance_uuid, migration_uuid=migration_uuid
        )

    def finish_revert_resize(
        self, ctx: CallContext, host: str, instance_uuid: str, migration_uuid: str
    ) -> None:
        self._cast(
            ctx,
            host,
            "finish_revert_resize",
            instance_uuid=instance_uuid,
            migration_uuid=migration_uuid,
        )

    # -- consoles, interfaces and events -------------------------------------------------------
    def get_console_output(
        self, ctx: CallContext, host: str, instance_uuid: str, length: int | None = None
    ) -> str:
        return str(
            self._call(ctx, host, "get_console_output", instance_uuid=instance_uuid, length=length)
        )

    def get_vnc_console(self, ctx: CallContext, host: str, instance_uuid: str) -> ConsoleInfo:
        result = self._call(ctx, host, "get_vnc_console", instance_uuid=instance_uuid)
        return ConsoleInfo.from_primitive(result)

    def get_serial_console(self, ctx: CallContext, host: str, instance_uuid: str) -> ConsoleInfo:
        result = self._call(ctx, host, "get_serial_console", instance_uuid=instance_uuid)
        return ConsoleInfo.from_primitive(result)

    def get_diagnostics(self, ctx: CallContext, host: str, instance_uuid: str) -> Diagnostics:
        result = self._call(ctx, host, "get_diagnostics", instance_uuid=instance_uuid)
        return Diagnostics.from_primitive(result)

    def attach_interface(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        network_id: str | None,
        port_id: str | None,
        fixed_ip: str | None,
        tag: str | None = None,
    ) -> AttachedInterface:
        result = self._call(
            ctx,
            host,
            "attach_interface",
            instance_uuid=instance_uuid,
            network_id=network_id,
            port_id=port_id,
            fixed_ip=fixed_ip,
            tag=tag,
        )
        return AttachedInterface.from_primitive(result)

    def detach_interface(
        self, ctx: CallContext, host: str, instance_uuid: str, port_id: str
    ) -> None:
        self._cast(ctx, host, "detach_interface", instance_uuid=instance_uuid, port_id=port_id)

    # -- volumes -------------------------------------------------------------------------------
    def check_volume_attach(
        self, ctx: CallContext, host: str, volume_id: str, multiattach: bool, tagged: bool
    ) -> None:
        """Whether the host's driver can take such a volume (Nova asks this synchronously,
        in ``reserve_block_device_name``); a RemoteError naming the refusal if not."""
        self._call(
            ctx,
            host,
            "check_volume_attach",
            volume_id=volume_id,
            multiattach=multiattach,
            tagged=tagged,
        )

    def attach_volume(
        self, ctx: CallContext, host: str, instance_uuid: str, bdm: BlockDevice
    ) -> None:
        """Connect the reserved volume of ``bdm`` and plug it into the instance."""
        self._cast(ctx, host, "attach_volume", instance_uuid=instance_uuid, bdm=bdm.to_primitive())

    def detach_volume(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        volume_id: str,
        attachment_id: str | None,
    ) -> None:
        self._cast(
            ctx,
            host,
            "detach_volume",
            instance_uuid=instance_uuid,
            volume_id=volume_id,
            attachment_id=attachment_id,
        )

    def swap_volume(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        bdm: BlockDevice,
        new_volume_id: str,
        new_attachment_id: str,
    ) -> None:
        self._cast(
            ctx,
            host,
            "swap_volume",
            instance_uuid=instance_uuid,
            bdm=bdm.to_primitive(),
            new_volume_id=new_volume_id,
            new_attachment_id=new_attachment_id,
        )

    def volume_snapshot_create(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        volume_id: str,
        create_info: dict[str, JSON],
    ) -> None:
        self._cast_since(
            ASSISTED_SNAPSHOTS,
            ctx,
            host,
            "volume_snapshot_create",
            instance_uuid=instance_uuid,
            volume_id=volume_id,
            create_info=create_info,
        )

    def volume_snapshot_delete(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        volume_id: str,
        snapshot_id: str,
        delete_info: dict[str, JSON],
    ) -> None:
        self._cast_since(
            ASSISTED_SNAPSHOTS,
            ctx,
            host,
            "volume_snapshot_delete",
            instance_uuid=instance_uuid,
            volume_id=volume_id,
            snapshot_id=snapshot_id,
            delete_info=delete_info,
        )

    def external_instance_event(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        name: str,
        tag: str | None,
        status: str = "completed",
    ) -> None:
        self._cast(
            ctx,
            host,
            "external_instance_event",
            instance_uuid=instance_uuid,
            name=name,
            tag=tag,
            status=status,
        )

    # -- live migration (agent/live_migrate.py) ------------------------------------------------
    def check_can_live_migrate_destination(
        self, ctx: CallContext, host: str, instance_uuid: str, block_migration: bool | None
    ) -> LiveMigrateData:
        result = self._call_since(
            LIVE,
            ctx,
            host,
            "check_can_live_migrate_destination",
            instance_uuid=instance_uuid,
            block_migration=block_migration,
        )
        return LiveMigrateData.from_primitive(result)

    def check_can_live_migrate_source(
        self, ctx: CallContext, host: str, instance_uuid: str, data: LiveMigrateData
    ) -> LiveMigrateData:
        result = self._call_since(
            LIVE,
            ctx,
            host,
            "check_can_live_migrate_source",
            instance_uuid=instance_uuid,
            data=data.to_primitive(),
        )
        return LiveMigrateData.from_primitive(result)

    def cleanup_live_migration_destination_check(
        self, ctx: CallContext, host: str, data: LiveMigrateData
    ) -> None:
        self._cast_since(
            LIVE, ctx, host, "cleanup_live_migration_destination_check", data=data.to_primitive()
        )

    def live_migration(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        migration_uuid: str,
        data: LiveMigrateData,
    ) -> None:
        self._cast_since(
            LIVE,
            ctx,
            host,
            "live_migration",
            instance_uuid=instance_uuid,
            migration_uuid=migration_uuid,
            data=data.to_primitive(),
        )

    def pre_live_migration(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        migration_uuid: str,
        data: LiveMigrateData,
        timeout: float,
    ) -> LiveMigrateData:
        result = self._call_since(
            LIVE,
            ctx,
            host,
            "pre_live_migration",
            timeout=timeout,
            instance_uuid=instance_uuid,
            migration_uuid=migration_uuid,
            data=data.to_primitive(),
        )
        return LiveMigrateData.from_primitive(result)

    def post_live_migration_at_destination(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        migration_uuid: str,
        data: LiveMigrateData,
    ) -> None:
        self._call_since(
            LIVE,
            ctx,
            host,
            "post_live_migration_at_destination",
            instance_uuid=instance_uuid,
            migration_uuid=migration_uuid,
            data=data.to_primitive(),
        )

    def rollback_live_migration_at_destination(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        migration_uuid: str,
        data: LiveMigrateData,
    ) -> None:
        self._call_since(
            LIVE,
            ctx,
            host,
            "rollback_live_migration_at_destination",
            instance_uuid=instance_uuid,
            migration_uuid=migration_uuid,
            data=data.to_primitive(),
        )

    def live_migration_abort(
        self, ctx: CallContext, host: str, instance_uuid: str, migration_uuid: str
    ) -> None:
        self._cast_since(
            LIVE,
            ctx,
            host,
            "live_migration_abort",
            instance_uuid=instance_uuid,
            migration_uuid=migration_uuid,
        )

    def live_migration_force_complete(
        self, ctx: CallContext, host: str, instance_uuid: str, migration_uuid: str
    ) -> None:
        self._cast_since(
            LIVE,
            ctx,
            host,
            "live_migration_force_complete",
            instance_uuid=instance_uuid,
            migration_uuid=migration_uuid,
        )
