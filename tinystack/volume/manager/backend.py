"""One backend's manager as a running thing: its driver set up, its service record, its
RPC server on ``cinder-volume`` (``server=host@backend``), its heartbeat with the pool
stats the scheduler places by, and the recovery of what a previous run left."""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import shutil
from pathlib import Path

from tinystack.common.rpc import RPCServer, Target
from tinystack.common.rpc.payload import JSON
from tinystack.volume import rpcapi
from tinystack.volume.conf import Options
from tinystack.volume.drivers.base import BackendStats, VolumeDriver
from tinystack.volume.manager import attachments, manageable, migration, recovery, reimage
from tinystack.volume.manager.backup_devices import BackupDeviceManager
from tinystack.volume.manager.manager import VolumeManager
from tinystack.volume.manager.snapshots import SnapshotManager
from tinystack.volume.running import RunningWorker
from tinystack.volume.services import os_services, volume_ops
from tinystack.volume.services.deps import Deps

LOG = logging.getLogger(__name__)
GIB = 1024**3


def volumes_dir(opts: Options, state_dir: Path) -> Path:
    return Path(opts.volumes_dir).expanduser() if opts.volumes_dir else state_dir / "volumes"


def default_capacity_gb(directory: Path) -> int:
    """``file_capacity_gb`` unset: what the file system has free plus what the backend's
    files already occupy."""
    directory.mkdir(parents=True, exist_ok=True)
    used = sum(
        entry.stat(follow_symlinks=False).st_blocks * 512
        for entry in os.scandir(directory)
        if entry.is_file(follow_symlinks=False)
    )
    return max(1, int((shutil.disk_usage(directory).free + used) // GIB))


def file_driver(opts: Options, state_dir: Path, host: str, address: str) -> VolumeDriver:
    from tinystack.volume.drivers.file import FileDriver

    directory = volumes_dir(opts, state_dir)
    address = opts.target_ip_address or address
    return FileDriver(
        directory,
        int(opts.file_capacity_gb) or default_capacity_gb(directory),
        opts.volume_backend_name,
        address,
        opts.file_volume_format,
        host=host,
        nbd_port=int(opts.nbd_port),
        nbd_bind=opts.nbd_bind or None,
        max_over_subscription_ratio=float(opts.max_over_subscription_ratio),
        reserved_percentage=int(opts.reserved_percentage),
    )


def rbd_driver(opts: Options) -> VolumeDriver:
    from tinystack.common.ceph import ClusterSpec
    from tinystack.volume.drivers.rbd import RbdDriver

    return RbdDriver(
        ClusterSpec(opts.rbd_ceph_conf, opts.rbd_user, op_timeout=opts.rados_osd_op_timeout),
        opts.volume_backend_name,
        pool=opts.rbd_pool,
        secret_uuid=opts.rbd_secret_uuid,
        flatten_from_snapshot=opts.rbd_flatten_volume_from_snapshot,
        max_clone_depth=opts.rbd_max_clone_depth,
        max_over_subscription_ratio=float(opts.max_over_subscription_ratio),
        reserved_percentage=int(opts.reserved_percentage),
    )


def load_driver(opts: Options, state_dir: Path, host: str, address: str) -> VolumeDriver:
    """The configured driver: ``file``, ``rbd``, or ``module:factory`` called as
    ``factory(opts, state_dir)``."""
    if opts.volume_driver == "file":
        return file_driver(opts, state_dir, host, address)
    if opts.volume_driver == "rbd":
        return rbd_driver(opts)
    module, _, name = opts.volume_driver.partition(":")
    factory = getattr(importlib.import_module(module), name)
    driver = factory(opts, state_dir)
    if not isinstance(driver, VolumeDriver):
        raise TypeError(f"{opts.volume_driver} did not return a VolumeDriver")
    return driver


def capabilities(stats: BackendStats, opts: Options) -> dict[str, JSON]:
    """The stats as the services row keeps them, with the operator's settings for the
    backend's name, over-subscription and reserve."""
    pools: list[JSON] = []
    for pool in stats.pools:
        data: dict[str, JSON] = dict(dataclasses.asdict(pool))
        data["max_over_subscription_ratio"] = float(opts.max_over_subscription_ratio)
        data["reserved_percentage"] = int(opts.reserved_percentage)
        pools.append(data)
    return {
        "volume_backend_name": opts.volume_backend_name or stats.volume_backend_name,
        "vendor_name": stats.vendor_name,
        "driver_version": stats.driver_version,
        "storage_protocol": stats.storage_protocol,
        "pools": pools,
    }


class Backend(RunningWorker):
    kind = "volume backend"

    def __init__(self, deps: Deps, driver: VolumeDriver, host: str) -> None:
        super().__init__(deps, f"{host}@{deps.opts.backend_name}")
        self.driver = driver
        self.manager = VolumeManager(deps, driver, self.name)
        self.snapshots = SnapshotManager(self.manager)

    def start(self) -> None:
        opts = self.deps.opts
        self.driver.do_setup()
        service = os_services.ensure(
            self.deps.db,
            self.name,
            os_services.VOLUME_BINARY,
            rpcapi.VOLUME_TOPIC,
            opts.storage_availability_zone,
        )
        self.service_id = service.id
        self.report()
        self.server = RPCServer(
            self.deps.transport,
            Target(rpcapi.VOLUME_TOPIC, server=self.name),
            [
                self.manager,
                attachments.AttachmentManager(self.manager),
                self.snapshots,
                BackupDeviceManager(self.manager),
                manageable.ManageableManager(self.manager),
                recovery.CleanupManager(self.manager),
                reimage.ReimageManager(self.manager),
                migration.MigrationManager(self.manager),
            ],
            int(opts.manager_threads),
        )
        self.server.start()
        self.start_threads("volume")

    def report(self) -> None:
        """Heartbeat with the backend's current stats."""
        if self.service_id is None:
            return
        allocated = volume_ops.allocated_per_pool(self.deps.db, self.name)
        stats = self.driver.get_volume_stats(allocated)
        os_services.heartbeat(self.deps.db, self.service_id, capabilities(stats, self.deps.opts))

    def recover(self) -> dict[str, int]:
        self.snapshots.recover()
        counts = recovery.recover(self.manager)
        counts.update(attachments.recover(self.manager))
        counts.update(manageable.recover(self.manager))
        return counts

    def resume_lost(self, older_than: float) -> int:
        return recovery.resume_lost(self.manager, older_than)

    def stop(self) -> None:
        super().stop()
        close = getattr(self.driver, "close", None)
        if callable(close):
            close()
