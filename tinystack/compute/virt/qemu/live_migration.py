"""Live migration between two hosts' QEMUs over TCP, the local disks copied over NBD.

The destination starts the guest from the source's definition (same devices, its own
sockets, VNC port, base image from its own cache and taps in its own namespace) paused
and waiting (``-S -incoming defer``). For a block migration it creates empty disks of
the source's sizes (the root an overlay of the same base image, so only the overlay's
clusters travel), serves them writable over NBD (``nbd-server-start`` and
``nbd-server-add`` on ``[compute] live_migration_inbound_addr``), then listens
(``migrate-incoming tcp:...``). The source mirrors each local disk to its export
(``drive-mirror``, ``sync=top`` for the root overlay, ``full`` for raw disks, into the
existing target), waits until every mirror is ready, then migrates the RAM and devices
(``migrate`` with ``downtime-limit``); at the switch-over QEMU pauses the source, the
mirrors are completed without pivot (``block-job-cancel`` of a ready job: the
destination holds every write), and the destination is resumed with ``cont``.

On shared storage (both hosts' ``[compute] instances_path`` one directory, found by the
destination's probe file appearing in the source's) only the memory moves: the
destination's QEMU opens the same disk files (QEMU takes their locks at the switch-over),
no disk is created, exported or mirrored, and neither end deletes the disks when it
cleans up; each host keeps its own runtime files (definition, pidfile, sockets, console
log) in ``<state_dir>/instances``. ``block_migration: true`` on shared storage is refused
as upstream does.

An RBD root disk (``images_type = rbd``) is shared storage, like a volume: it is not
mirrored (a guest with no other local disk moves its memory only), the destination opens
it with its own keyring, and neither side's cleanup removes it.

Abort is ``migrate_cancel`` (and the mirrors cancelled): the source keeps running.
Force-complete pauses the source (``stop``) so the copy converges.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import time
import uuid as uuidlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tinystack.common.qmp import QMPError
from tinystack.common.rpc.context import CallContext
from tinystack.compute.objects import (
    VIF,
    BlockDevice,
    InstanceMeta,
    LiveMigrateData,
    MigrationProgress,
)
from tinystack.compute.virt.driver import DriverError, MigrationAborted
from tinystack.compute.virt.qemu import disks
from tinystack.compute.virt.qemu.definition import (
    CONFIG_DRIVE,
    EPHEMERAL_DISK,
    ROOT_DISK,
    SWAP_DISK,
    Definition,
    serial_socket_path,
    socket_paths,
)
from tinystack.compute.virt.qemu.hotplug import Volumes
from tinystack.compute.virt.qemu.imagecache import ImageCache
from tinystack.compute.virt.qemu.machine import Machines
from tinystack.compute.virt.qemu.rbd_roots import RbdRoots
from tinystack.compute.virt.qemu.settings import QemuSettings

LOG = logging.getLogger(__name__)
#: the ports incoming migrations and NBD exports are offered on (as libvirt's default)
PORTS = range(49152, 49216)
POLL = 0.1
#: a live migration (mirrors and RAM) that has not converged by then is cancelled
TIMEOUT = 900.0


def local_disks(defn: Definition, directory: Path) -> list[tuple[str, Path, str]]:
    """(drive id, file, format) of the guest's local disks, named as the command line
    names them (``definition._disks``: root unless it boots from a volume, ephemeral,
    swap, then the volumes, which stay where they are)."""
    shared_root = defn.boot_volume is not None or bool(defn.root_rbd)
    entries: list[tuple[Path, str] | None] = [
        None if shared_root else (directory / ROOT_DISK, "qcow2")
    ]
    if defn.ephemeral:
        entries.append((directory / EPHEMERAL_DISK, "raw"))
    if defn.swap:
        entries.append((directory / SWAP_DISK, "raw"))
    return [
        (f"drive-vd{chr(97 + n)}", entry[0], entry[1])
        for n, entry in enumerate(entries)
        if entry is not None
    ]


class LiveMigrationMixin:
    """The QEMU driver's live migration (mixed into :class:`~.driver.QemuDriver`)."""

    settings: QemuSettings
    vm: Machines
    cache: ImageCache
    volumes: Volumes
    rbd_roots: RbdRoots | None
    #: instance uuid -> "abort" or "complete", asked of its running live migration
    migration_requests: dict[str, str]

    def _destroy_locked(
        self,
        uuid: str,
        network_info: list[VIF],
        destroy_disks: bool = True,
        keep_root: bool = False,
    ) -> None:
        raise NotImplementedError

    # -- checks --------------------------------------------------------------------------------
    def check_can_live_migrate_destination(
        self, context: CallContext, instance: InstanceMeta, block_migration: bool | None
    ) -> LiveMigrateData:
        if self.vm.dir(instance.uuid).exists():
            raise DriverError(f"instance {instance.uuid} already has a directory here")
        probe = f".live-migration-probe-{uuidlib.uuid4().hex}"
        self.settings.disks_root.mkdir(parents=True, exist_ok=True)
        (self.settings.disks_root / probe).touch()
        return LiveMigrateData(
            block_migration=block_migration is not False,
            auto_block=block_migration is None,
            dest_address=self.settings.migration_address,
            probe=probe,
        )

    def cleanup_live_migration_destination_check(
        self, context: CallContext, data: LiveMigrateData
    ) -> None:
        if data.probe and "/" not in data.probe:
            (self.settings.disks_root / data.probe).unlink(missing_ok=True)

    def check_can_live_migrate_source(
        self, context: CallContext, instance: InstanceMeta, data: LiveMigrateData
    ) -> LiveMigrateData:
        uuid = instance.uuid
        defn = self.vm.running(uuid)
        if defn.rescue:
            raise DriverError(f"instance {uuid} is rescued")
        shared = bool(data.probe) and (self.settings.disks_root / data.probe).exists()
        if shared and not defn.disks:
            raise DriverError(f"instance {uuid}'s disks are not in the shared instances_path")
        directory = self.vm.dir(uuid)
        local = local_disks(defn, defn.disk_dir(directory))
        if shared:
            if data.block_migration and not data.auto_block:
                raise DriverError(
                    f"{self.vm.hostname} is not on local storage: Block migration can not be "
                    "used with shared storage."
                )
            memory_only: dict[str, Any] = {
                "definition": defn.to_dict(),
                "paused": self.vm.status(defn) == "paused",
            }
            return replace(data, block_migration=False, shared_storage=True, source=memory_only)
        if local and not data.block_migration:
            raise DriverError(
                f"{self.vm.hostname} is not on shared storage: Shared storage live-migration "
                "requires either shared storage or boot-from-volume with no local disks."
            )
        source: dict[str, Any] = {
            "definition": defn.to_dict(),
            # a paused guest stays paused on the destination
            "paused": self.vm.status(defn) == "paused",
            "sizes": {
                path.name: disks.virtual_size(path) if fmt == "qcow2" else path.stat().st_size
                for _, path, fmt in local
            },
        }
        if defn.config_drive:
            blob = (defn.disk_dir(directory) / CONFIG_DRIVE).read_bytes()
            source["config_drive"] = base64.b64encode(blob).decode()
        return replace(data, block_migration=bool(local), source=source)

    # -- the destination -----------------------------------------------------------------------
    def pre_live_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        block_devices: Sequence[BlockDevice],
        network_info: list[VIF],
        data: LiveMigrateData,
    ) -> LiveMigrateData:
        uuid = instance.uuid
        with self.vm.locked(uuid):
            directory = self.vm.dir(uuid)
            if directory.exists():
                raise DriverError(f"instance {uuid} already has a directory on {self.vm.hostname}")
            if data.shared_storage and not self.vm.disk_dir(uuid).is_dir():
                raise DriverError(f"instance {uuid}'s disks are not in {self.vm.disk_dir(uuid)}")
            directory.mkdir(parents=True)
            try:
                defn = self._incoming_definition(instance, directory, block_devices, data)
                return self._await_incoming(defn, directory, data)
            except BaseException:
                with contextlib.suppress(Exception):
                    self._destroy_locked(
                        uuid, network_info, not data.shared_storage, keep_root=True
                    )
                raise

    def _await_incoming(
        self, defn: Definition, directory: Path, data: LiveMigrateData
    ) -> LiveMigrateData:
        """Ready this host for the guest's state (here: a paused QEMU listening, and the
        disks' NBD exports for a block migration); what the source needs to send it."""
        self.vm.start(defn, defer_incoming=True)
        targets = self._export_disks(defn, directory) if data.block_migration else {}
        uri = self._listen(defn)
        return replace(data, incoming_uri=uri, disk_targets=targets)

    def _incoming_definition(
        self,
        instance: InstanceMeta,
        directory: Path,
        block_devices: Sequence[BlockDevice],
        data: LiveMigrateData,
    ) -> Definition:
        source = data.source
        raw = source.get("definition")
        if not isinstance(raw, dict):
            raise DriverError("the source sent no definition")
        defn = Definition.from_dict(dict(raw))
        given = source.get("sizes")
        sizes: dict[str, Any] = dict(given) if isinstance(given, dict) else {}
        if defn.root_rbd and self.rbd_roots is not None:
            defn.root_rbd = self.rbd_roots.disk(instance.uuid).to_dict()  # this host's keyring
        elif defn.image_id and defn.boot_volume is None:
            cached = self.cache.get(defn.image_id)
            defn.base, defn.base_format = str(cached.path), cached.format
        if data.shared_storage:  # the disks are there already: the same files
            defn.disks = str(self.vm.disk_dir(instance.uuid))
        else:
            self._create_disks(defn, directory, sizes, source.get("config_drive"))
        short = self.settings.short_socket_dir
        qmp_main, qmp_events = socket_paths(directory, instance.uuid, short)
        serial = serial_socket_path(directory, instance.uuid, short)
        # two hosts on one machine share the short socket directory (/run): never take
        # the paths the source's QEMU still listens on
        defn.qmp_socket = _unlike(qmp_main, defn.qmp_socket)
        defn.qmp_events_socket = _unlike(qmp_events, defn.qmp_events_socket)
        defn.serial_socket = _unlike(serial, defn.serial_socket)
        defn.vnc_port = None
        defn.user_network = self.settings.user_network
        connected = {
            vid: info for vid, info in data.volume_connections.items() if isinstance(info, dict)
        }
        defn.set_volumes(
            [
                self.volumes.disk_of(replace(bdm, connection_info=connected[bdm.volume_id or ""]))
                for bdm in block_devices
                if bdm.volume_id in connected
            ]
        )
        return defn

    def _create_disks(
        self, defn: Definition, directory: Path, sizes: dict[str, Any], config_drive: Any
    ) -> None:
        """Empty local disks of the source's sizes in this host's disk directory (a block
        migration fills them)."""
        local = self.vm.disk_dir(defn.uuid)
        local.mkdir(parents=True, exist_ok=True)
        defn.disks = str(local) if local != directory else ""
        for _, path, fmt in local_disks(defn, local):
            size = int(sizes.get(path.name) or 0)
            if path.name == ROOT_DISK and defn.base and not defn.boot_iso:
                disks.create_overlay(path, Path(defn.base), defn.base_format, size)
            elif fmt == "qcow2":
                disks.create_overlay_blank(path, size)
            else:
                with open(path, "wb") as f:
                    f.truncate(size)
        if defn.config_drive and isinstance(config_drive, str):
            (local / CONFIG_DRIVE).write_bytes(base64.b64decode(config_drive))

    def _export_disks(self, defn: Definition, directory: Path) -> dict[str, str]:
        address = self.settings.migration_address
        port = self._first_port(
            lambda p: self.vm.qmp(
                defn,
                "nbd-server-start",
                {"addr": {"type": "inet", "data": {"host": address, "port": str(p)}}},
            )
        )
        targets = {}
        for drive, _, _ in local_disks(defn, directory):
            self.vm.qmp(defn, "nbd-server-add", {"device": drive, "writable": True})
            targets[drive] = f"nbd:{address}:{port}:exportname={drive}"
        return targets

    def _listen(self, defn: Definition) -> str:
        address = self.settings.migration_address
        port = self._first_port(
            lambda p: self.vm.qmp(defn, "migrate-incoming", {"uri": f"tcp:{address}:{p}"})
        )
        return f"tcp:{address}:{port}"

    def _first_port(self, bind: Callable[[int], Any]) -> int:
        last: Exception | None = None
        for port in PORTS:
            try:
                bind(port)
                return port
            except QMPError as exc:
                last = exc
        raise DriverError(f"no free port for a live migration: {last}")

    def post_live_migration_at_destination(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        data: LiveMigrateData,
    ) -> None:
        with self.vm.locked(instance.uuid):
            defn = self.vm.running(instance.uuid)
            if data.block_migration:
                with contextlib.suppress(QMPError):
                    self.vm.qmp(defn, "nbd-server-stop")
            if data.shared_storage:  # the guest runs from the shared disks here now
                self.vm.claim_disks(instance.uuid)
            if not data.source.get("paused") and self.vm.status(defn) != "running":
                self.vm.qmp(defn, "cont")
            defn.save(self.vm.dir(instance.uuid))

    def rollback_live_migration_at_destination(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        data: LiveMigrateData,
    ) -> None:
        if not data.incoming_uri:  # nothing was prepared here
            return
        with self.vm.locked(instance.uuid):
            self._destroy_locked(
                instance.uuid, network_info, not data.shared_storage, keep_root=True
            )
        self.vm.forget_lock(instance.uuid)

    # -- the source ----------------------------------------------------------------------------
    def live_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        data: LiveMigrateData,
        progress: Callable[[MigrationProgress], None],
    ) -> MigrationProgress:
        uuid = instance.uuid
        defn = self.vm.running(uuid)
        self.migration_requests.pop(uuid, None)
        run = _Run(self.vm, defn, self.migration_requests, progress)
        try:
            run.mirror(data.disk_targets, has_base=bool(defn.base and not defn.boot_iso))
            downtime = max(10, int(self.settings.migration_downtime_ms))
            self.vm.qmp(defn, "migrate-set-parameters", {"downtime-limit": downtime})
            mib = int(self.settings.migration_bandwidth_mib) or 8 * 1024
            with contextlib.suppress(QMPError):
                self.vm.qmp(defn, "migrate-set-parameters", {"max-bandwidth": mib * 1024**2})
            self.vm.qmp(defn, "migrate", {"uri": data.incoming_uri})
            final = run.migrate()
            run.complete_mirrors()
            return final
        except BaseException:
            run.cancel()
            raise
        finally:
            self.migration_requests.pop(uuid, None)

    def live_migration_abort(self, context: CallContext, instance: InstanceMeta) -> None:
        self.vm.running(instance.uuid)
        self.migration_requests[instance.uuid] = "abort"

    def live_migration_force_complete(self, context: CallContext, instance: InstanceMeta) -> None:
        self.vm.running(instance.uuid)
        self.migration_requests[instance.uuid] = "complete"

    def post_live_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        data: LiveMigrateData,
    ) -> None:
        with self.vm.locked(instance.uuid):
            # on shared storage the destination runs the guest from the same disks
            self._destroy_locked(
                instance.uuid, network_info, not data.shared_storage, keep_root=True
            )
        self.vm.forget_lock(instance.uuid)


class _Run:
    """One running live migration on the source: its mirrors, the RAM copy, the requests."""

    def __init__(
        self,
        vm: Machines,
        defn: Definition,
        requests: dict[str, str],
        progress: Callable[[MigrationProgress], None],
    ) -> None:
        self.vm, self.defn, self.requests, self.progress = vm, defn, requests, progress
        self.jobs: list[str] = []
        self.was_running = vm.status(defn) == "running"
        self.paused = False
        self.deadline = time.monotonic() + TIMEOUT
        self.disk = (0, 0)

    def qmp(self, name: str, args: dict[str, Any] | None = None) -> Any:
        return self.vm.qmp(self.defn, name, args)

    def _asked(self) -> str | None:
        asked = self.requests.pop(self.defn.uuid, None)
        if asked == "complete" and not self.paused:
            LOG.info("live migration of %s: pausing the guest to complete", self.defn.uuid)
            self.qmp("stop")
            self.paused = True
        return asked

    def mirror(self, targets: dict[str, str], has_base: bool) -> None:
        for drive, target in targets.items():
            job = f"mirror-{drive}"
            sync = "top" if has_base and drive == "drive-vda" else "full"
            self.qmp(
                "drive-mirror",
                {
                    "job-id": job,
                    "device": drive,
                    "target": target,
                    "format": "raw",
                    "sync": sync,
                    "mode": "existing",
                },
            )
            self.jobs.append(job)
        while self.jobs:
            if self._asked() == "abort":
                raise MigrationAborted(f"live migration of {self.defn.uuid} aborted")
            found = {j["device"]: j for j in self.qmp("query-block-jobs")}
            missing = [j for j in self.jobs if j not in found]
            if missing:
                raise DriverError(f"disk mirror {missing[0]} of {self.defn.uuid} failed")
            self.disk = (
                sum(int(found[j]["len"]) for j in self.jobs),
                sum(int(found[j]["offset"]) for j in self.jobs),
            )
            self.progress(self._report({}))
            if all(found[j].get("ready") for j in self.jobs):
                return
            self._tick()

    def _tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise DriverError(f"live migration of {self.defn.uuid} did not converge")
        time.sleep(POLL)

    def _report(self, info: dict[str, Any]) -> MigrationProgress:
        ram = info.get("ram") or {}
        total, done = self.disk
        downtime = info.get("downtime")
        return MigrationProgress(
            memory_total=int(ram.get("total") or 0),
            memory_processed=int(ram.get("transferred") or 0),
            memory_remaining=int(ram.get("remaining") or 0),
            disk_total=total,
            disk_processed=done,
            disk_remaining=max(0, total - done),
            downtime_ms=int(downtime) if downtime is not None else None,
        )

    def migrate(self) -> MigrationProgress:
        cancelling = False
        while True:
            info = self.qmp("query-migrate")
            status = info.get("status")
            if status == "completed":
                return self._report(info)
            if status in ("failed", "cancelled"):
                if cancelling or status == "cancelled":
                    raise MigrationAborted(f"live migration of {self.defn.uuid} cancelled")
                raise DriverError(f"live migration failed: {info.get('error-desc', status)}")
            self.progress(self._report(info))
            if self._asked() == "abort" and not cancelling:
                self.qmp("migrate_cancel")
                cancelling = True
            self._tick()

    def complete_mirrors(self) -> None:
        """The source is paused: finish the mirrors, the destination has every write."""
        for job in self.jobs:
            self.qmp("block-job-cancel", {"device": job})
        while self.jobs:
            running = {j["device"] for j in self.qmp("query-block-jobs")}
            self.jobs = [j for j in self.jobs if j in running]
            if self.jobs:
                self._tick()

    def cancel(self) -> None:
        """Leave the guest running here as it was: no migration, no mirrors."""
        with contextlib.suppress(QMPError):
            if self.qmp("query-migrate").get("status") not in (None, "completed", "cancelled"):
                self.qmp("migrate_cancel")
        for job in self.jobs:
            with contextlib.suppress(QMPError):
                self.qmp("block-job-cancel", {"device": job, "force": True})
        with contextlib.suppress(QMPError):
            if self.was_running and self.vm.status(self.defn) != "running":
                self.qmp("cont")


def cancel_orphaned_migration(vm: Machines, defn: Definition) -> None:
    """A guest adopted after its agent's restart has no live migration of ours: cancel
    what QEMU may still be copying for one the restart interrupted (its RAM, its disk
    mirrors), so that it does not switch over to a destination nobody resumes."""
    with contextlib.suppress(QMPError):
        status = vm.qmp(defn, "query-migrate").get("status")
        if status not in (None, "none", "completed", "cancelled", "failed"):
            LOG.warning("instance %s: cancelling an interrupted live migration", defn.uuid)
            vm.qmp(defn, "migrate_cancel")
            deadline = time.monotonic() + 30
            while vm.qmp(defn, "query-migrate").get("status") in ("cancelling", status):
                if time.monotonic() > deadline:
                    break
                time.sleep(POLL)
    with contextlib.suppress(QMPError):
        for job in vm.qmp(defn, "query-block-jobs"):
            if str(job.get("device", "")).startswith("mirror-"):
                LOG.warning("instance %s: cancelling disk mirror %s", defn.uuid, job["device"])
                vm.qmp(defn, "block-job-cancel", {"device": job["device"], "force": True})


def _unlike(path: str, source: str) -> str:
    """``path``, or a sibling name when it is the source's (``<uuid>.lm.qmp`` for
    ``<uuid>.qmp`` and back)."""
    if path != source:
        return path
    where = Path(path)
    head, _, rest = where.name.partition(".")
    rest = rest.removeprefix("lm.") if rest.startswith("lm.") else f"lm.{rest}"
    return str(where.with_name(f"{head}.{rest}"))
