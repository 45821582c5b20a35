"""The backup service as a running thing: its drivers (the chunked format over a
directory, and over the object store when the cloud runs one), its service row and
heartbeat, its RPC server on ``cinder-backup`` (``server=host``), and the recovery of
what a previous run left (``recovery.py``)."""

from __future__ import annotations

import logging
from pathlib import Path

from tinystack.common import ceph
from tinystack.common.rpc import RPCServer, Target
from tinystack.common.rpc.context import CallContext
from tinystack.volume import rpcapi
from tinystack.volume.backup import recovery
from tinystack.volume.backup.base import ObjectStore
from tinystack.volume.backup.ceph import CephBackupDriver
from tinystack.volume.backup.chunked import ChunkedBackupDriver
from tinystack.volume.backup.connector import run_dir, stop_leftovers
from tinystack.volume.backup.manager import BackupManager, Driver
from tinystack.volume.backup.posix import PosixObjectStore
from tinystack.volume.backup.swift import SwiftObjectStore
from tinystack.volume.payloads import DeviceRequest
from tinystack.volume.running import RunningWorker
from tinystack.volume.services import backup_ops, backups, os_services, service_versions
from tinystack.volume.services.deps import Deps

LOG = logging.getLogger(__name__)
#: seconds recovery waits for a volume manager to release a device
RELEASE_TIMEOUT = 30.0
#: seconds after the start-up recovery when the stores are searched for orphans once
#: more: an object store's listing can lag its objects (a container update an object
#: server deferred under load, or one a crash left as an intent, arrives seconds later),
#: so an orphan written just before a crash may not be listed yet at start
ORPHANS_AGAIN_AFTER = 30.0


def ceph_conf(deps: Deps) -> str:
    """The backup cluster's ceph.conf, or "" when this service makes no ceph backups."""
    opts = deps.opts
    if opts.backup_ceph_conf:
        return str(opts.backup_ceph_conf)
    return "/etc/ceph/ceph.conf" if opts.backup_driver == "ceph" else ""


def make_drivers(deps: Deps) -> dict[str, Driver]:
    """A driver per backup service: posix always (a directory), swift when the cloud
    runs an object store (the service's account), ceph when a backup cluster is
    configured (``backup_ceph_conf``, or ``backup_driver = ceph``)."""
    opts = deps.opts
    root = Path(opts.backup_posix_path) if opts.backup_posix_path else deps.state_dir / "backups"
    root.mkdir(parents=True, exist_ok=True)
    stores: dict[str, ObjectStore] = {backups.POSIX_SERVICE: PosixObjectStore(root)}
    if deps.object_store.available():
        stores[backups.SWIFT_SERVICE] = SwiftObjectStore(deps.object_store)
    drivers: dict[str, Driver] = {
        service: ChunkedBackupDriver(
            store,
            chunk_size=int(opts.backup_file_size),
            sha_block_size=int(opts.backup_sha_block_size_bytes),
            compression=opts.backup_compression_algorithm,
            workers=int(opts.backup_workers),
            availability_zone=opts.storage_availability_zone,
        )
        for service, store in stores.items()
    }
    conf = ceph_conf(deps)
    if conf:
        spec = ceph.ClusterSpec(conf, opts.backup_ceph_user, op_timeout=opts.rados_osd_op_timeout)
        drivers[backups.CEPH_SERVICE] = CephBackupDriver(spec, opts.backup_ceph_pool)
    return drivers


class BackupWorker(RunningWorker):
    kind = "backup service"

    def __init__(self, deps: Deps, host: str) -> None:
        super().__init__(deps, host)
        self.host = host
        self.manager = BackupManager(
            deps, make_drivers(deps), host, run_dir(deps.state_dir), ceph_conf(deps)
        )

    def start(self) -> None:
        opts = self.deps.opts
        # before any operation can start one: the device daemons of a killed run
        leftovers = stop_leftovers(self.manager.sockets)
        if leftovers:
            LOG.warning("stopped %d device daemon(s) a previous run left", leftovers)
        self.server = RPCServer(
            self.deps.transport,
            Target(rpcapi.BACKUP_TOPIC, server=self.host),
            [self.manager],
            int(opts.backup_threads),
        )
        self.server.start()
        service = os_services.ensure(
            self.deps.db, self.host, backups.BINARY, rpcapi.BACKUP_TOPIC,
            opts.storage_availability_zone,
        )  # fmt: skip
        self.service_id = service.id
        self.start_threads("backup")
        self._thread("backup-orphans", self._search_orphans_again)

    def report(self) -> None:
        if self.service_id is not None:
            os_services.heartbeat(self.deps.db, self.service_id)

    def _release(self, request: DeviceRequest) -> None:
        """Free a device a crashed operation held (best effort: the volume's manager
        also drops unknown exports and snapshots when it starts)."""
        host = backup_ops.volume_host(self.deps.db, request.volume_id)
        if not host:
            return
        try:
            cap = service_versions.version_cap(self.deps.conf, self.deps.db, "volume")
            volumes = rpcapi.VolumeAPI(self.deps.transport, RELEASE_TIMEOUT, cap)
            volumes.detach_device(CallContext.internal(), host, request)
        except Exception:
            LOG.warning("backup device %s not released", request.attachment_id, exc_info=True)

    def recover(self) -> dict[str, int]:
        return recovery.recover(self.manager, self._release)

    def _search_orphans_again(self) -> None:
        while not self.recovered.wait(1.0):
            if self.stopping.is_set():
                return
        if self.stopping.wait(ORPHANS_AGAIN_AFTER):
            return
        try:
            count = recovery.remove_orphans(self.manager)
        except Exception:
            LOG.exception("backup service %s: the second search for orphans failed", self.host)
            return
        if count:
            LOG.warning("backup service %s: removed %d orphan backup(s) listed late", self.host,
                        count)  # fmt: skip

    def resume_lost(self, older_than: float) -> int:
        return recovery.resume_lost(self.manager, self._release, older_than)
