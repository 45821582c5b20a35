"""The libvirt driver: the QEMU driver's guests, run by a libvirtd as domains.

It is the QEMU driver (:class:`~tinystack.compute.virt.qemu.driver.QemuDriver`) with
:class:`~.machine.LibvirtMachines` in place of its own process handling: image cache,
overlays, config drive, taps, console log, VNC ports, rescue, resize and volume
bookkeeping are shared; starting, stopping, pausing, saving and hot-plugging go through
libvirt, so ``virsh list`` shows the guests (``<domain_prefix><uuid>``). What differs is
here: the power state comes from the domain's state, a destroy undefines the domain and
its volume secrets, a restarted agent adopts the domains whose metadata names its host,
a swap of volumes is libvirt's block copy and pivot (``virDomainBlockCopy``, libvirt 6.0
on), and a live migration is libvirt's own, peer to peer (:mod:`.live_migration`). Guests
run in the root network namespace (libvirt starts QEMU there), so ``host_namespace`` is
refused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shutil
from pathlib import Path

from tinystack.common.rpc.context import CallContext
from tinystack.compute import states
from tinystack.compute.objects import (
    VIF,
    HostResources,
    InstanceInfo,
    InstanceMeta,
)
from tinystack.compute.virt.driver import DriverError
from tinystack.compute.virt.libvirt import connection
from tinystack.compute.virt.libvirt.live_migration import LibvirtLiveMigrationMixin
from tinystack.compute.virt.libvirt.machine import RUN_DIR, LibvirtMachines, swaps_volumes
from tinystack.compute.virt.qemu.definition import STATE_FILE, Definition
from tinystack.compute.virt.qemu.driver import QemuDriver
from tinystack.compute.virt.qemu.imagecache import ImageSource
from tinystack.compute.virt.qemu.settings import QemuSettings

LOG = logging.getLogger(__name__)
#: Nova's default ``live_migration_scheme`` for QEMU/KVM: libvirtd's TCP socket
MIGRATION_URI = "qemu+tcp://%s/system"

#: libvirt domain state (``VIR_DOMAIN_*``) -> power state
STATE_POWER = {
    0: states.NOSTATE,
    1: states.RUNNING,
    2: states.RUNNING,
    3: states.POWER_PAUSED,
    4: states.RUNNING,
    5: states.SHUTDOWN,
    6: states.CRASHED,
    7: states.POWER_SUSPENDED,
}


class LibvirtDriver(LibvirtLiveMigrationMixin, QemuDriver):
    #: swaps volumes once :meth:`init_host` found a libvirtd that can (:func:`swaps_volumes`)
    capabilities = {**QemuDriver.capabilities, "supports_swap_volume": False}
    driver_name = "libvirt"

    def __init__(
        self,
        hostname: str,
        settings: QemuSettings,
        image_source: ImageSource | None = None,
        *,
        uri: str = "qemu:///system",
        prefix: str = "tinystack-",
        migration_uri: str = MIGRATION_URI,
        run_dir: Path = RUN_DIR,
    ) -> None:
        """``migration_uri``: how peers reach this host's libvirtd (``%s``: the live
        migration inbound address); ``run_dir``: its ``/run/libvirt/qemu`` seen from here."""
        binary = settings.qemu_binary or shutil.which("qemu-system-x86_64") or ""
        self.machines = LibvirtMachines(hostname, settings, binary, uri, prefix, run_dir)
        self.migration_uri = migration_uri
        super().__init__(hostname, settings, image_source, self.machines)

    # -- the host ------------------------------------------------------------------------------
    def init_host(self, context: CallContext, host: str) -> None:
        if self.settings.host_namespace:
            raise DriverError("the libvirt driver runs guests in the root network namespace")
        swaps = swaps_volumes(self.machines.conn())  # fails early when libvirtd does not answer
        self.capabilities = {**type(self).capabilities, "supports_swap_volume": swaps}
        super().init_host(context, host)

    def get_available_resource(self, context: CallContext) -> HostResources:
        found = super().get_available_resource(context)
        try:
            version = int(self.machines.conn().getVersion())
        except Exception:  # the host's figures still count
            return found
        return dataclasses.replace(found, hypervisor_version=version)

    def list_instances(self, context: CallContext) -> list[str]:
        return self.machines.domain_uuids()

    def recover_instance(
        self, context: CallContext, instance: InstanceMeta, power_state: int
    ) -> None:
        """Adopt the domain: a running one is left alone, a defined one stays as it is; an
        instance whose domain libvirt lost is defined again from its definition (off)."""
        with self.vm.locked(instance.uuid):
            if Definition.load(self.vm.dir(instance.uuid)) is None:
                LOG.warning("instance %s has no definition on %s", instance.uuid, self.hostname)
                return
            state = self.machines.state(instance.uuid)
            if state is None and power_state == states.RUNNING:
                LOG.warning("instance %s: libvirt has no domain; it stays off", instance.uuid)
            self._abort_orphaned_migration(instance.uuid)
            LOG.info("adopted instance %s (libvirt state %s)", instance.uuid, state)

    def _abort_orphaned_migration(self, uuid: str) -> None:
        """libvirtd runs a peer-to-peer migration by itself: one this agent's restart
        interrupted would still move the guest to a destination nobody takes it on."""
        dom = self.machines.domain(uuid)
        lib = connection.bindings()
        with contextlib.suppress(lib.libvirtError):
            if dom is not None and int(dom.jobStats(0).get("type") or 0) in (1, 2):
                LOG.warning("instance %s: aborting an interrupted live migration", uuid)
                dom.abortJob()

    def get_info(self, context: CallContext, instance: InstanceMeta) -> InstanceInfo:
        defn = self.vm.load(instance.uuid)
        state = self.machines.state(instance.uuid)
        if state in (None, 5) and (self.vm.dir(instance.uuid) / STATE_FILE).is_file():
            return InstanceInfo(states.POWER_SUSPENDED, defn.name)
        if state not in (None, 5) and self.vm.pid(instance.uuid) is None:
            return InstanceInfo(states.SHUTDOWN, defn.name)  # its QEMU died just now
        return InstanceInfo(STATE_POWER.get(state or 5, states.NOSTATE), defn.name)

    # -- life cycle ----------------------------------------------------------------------------
    def _destroy_locked(
        self,
        uuid: str,
        network_info: list[VIF],
        destroy_disks: bool = True,
        keep_root: bool = False,
    ) -> None:
        defn = Definition.load(self.vm.dir(uuid))
        self.machines.undefine(uuid)
        for disk in defn.volume_disks() if defn is not None else []:
            self.machines.remove_secret(uuid, disk)
        super()._destroy_locked(uuid, network_info, destroy_disks, keep_root)
