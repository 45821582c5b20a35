"""Options of the ``[volume]`` section of tinystack.conf and :class:`Options`, their typed view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from oslo_config import cfg

from tinystack.common.clients.limits import LimitsReader
from tinystack.common.rpc import versions

GROUP = "volume"

#: what ``[volume] enabled_workers`` may name
WORKERS = ("scheduler", "manager", "backup")
DEFAULT_FILTERS = ["AvailabilityZoneFilter", "CapacityFilter", "CapabilitiesFilter"]
DEFAULT_WEIGHERS = ["CapacityWeigher"]

HOST_OPTS = [
    cfg.StrOpt(
        "host",
        default="",
        help="This host's name in the services table and in volume hosts "
        "(``host@backend#pool``; default: the hostname).",
    ),
    cfg.ListOpt(
        "enabled_workers",
        default=list(WORKERS),
        help="Background workers this process runs, among scheduler, manager and backup "
        "(a storage host on the same transport and database runs the manager, and usually "
        "the backup service, alone). The API is served either way.",
    ),
    cfg.StrOpt(
        "backend_name",
        default="file",
        help="This process's backend: the part after '@' in volume hosts (upstream's "
        "enabled_backends section name).",
    ),
    cfg.StrOpt(
        "volume_backend_name",
        default="file",
        help="The backend's volume_backend_name capability (volume types select a backend "
        "with the extra spec volume_backend_name).",
    ),
    cfg.StrOpt(
        "volume_driver",
        default="file",
        help="The volume driver: 'file' (qcow2/raw files under volumes_dir), 'rbd' (RBD "
        "images in a Ceph pool: the rbd_* options) or "
        "'module:function' returning a VolumeDriver, called as function(opts, state_dir).",
    ),
    cfg.StrOpt(
        "volumes_dir",
        default="",
        help="Directory of the file backend's volumes (empty: <state_dir>/volumes).",
    ),
    cfg.StrOpt(
        "file_volume_format",
        default="qcow2",
        choices=["qcow2", "raw"],
        help="Format of the file backend's volumes.",
    ),
    cfg.StrOpt(
        "target_ip_address",
        default="",
        help="Address compute hosts reach this backend's NBD exports at (empty: the "
        "cloud's public host).",
    ),
    cfg.StrOpt("rbd_pool", default="volumes", help="Pool of the rbd backend's volumes."),
    cfg.StrOpt("rbd_user", default="cinder", help="cephx user of the rbd backend."),
    cfg.StrOpt(
        "rbd_ceph_conf",
        default="/etc/ceph/ceph.conf",
        help="ceph.conf of the rbd backend's cluster (monitors; the user's keyring).",
    ),
    cfg.IntOpt(
        "rados_osd_op_timeout",
        default=30,
        min=1,
        help="Seconds a Ceph operation of the rbd driver and the ceph backup driver may "
        "take (an OSD or monitor down): then it fails, the volume or backup goes to error "
        "with a user message, instead of waiting for the cluster to come back.",
    ),
    cfg.StrOpt(
        "rbd_secret_uuid",
        default="",
        help="UUID under which compute hosts keep rbd_user's key (their [compute] "
        "rbd_secret_uuid), sent in connection infos instead of the key.",
    ),
    cfg.BoolOpt(
        "rbd_flatten_volume_from_snapshot",
        default=False,
        help="Flatten volumes made from snapshots (no dependency on the snapshot).",
    ),
    cfg.IntOpt(
        "rbd_max_clone_depth",
        default=5,
        min=0,
        help="Volumes cloned from volumes are flattened beyond this many clone levels.",
    ),
    cfg.PortOpt("nbd_port", default=10809, help="Port of the file backend's NBD exports."),
    cfg.StrOpt(
        "nbd_bind",
        default="",
        help="Address the NBD export server listens on (empty: target_ip_address).",
    ),
    cfg.IntOpt(
        "file_capacity_gb",
        default=0,
        min=0,
        help="Capacity the file backend reports, GiB (0: the free space of volumes_dir's "
        "file system at start plus what the backend already holds).",
    ),
    cfg.FloatOpt(
        "max_over_subscription_ratio",
        default=20.0,
        min=1.0,
        help="Thin provisioning: provisioned capacity may reach this many times the total.",
    ),
    cfg.IntOpt(
        "reserved_percentage",
        default=0,
        min=0,
        max=100,
        help="Percentage of the backend's capacity kept free of new volumes.",
    ),
    cfg.StrOpt("storage_availability_zone", default="nova", help="This backend's zone."),
    cfg.StrOpt(
        "default_availability_zone",
        default="",
        help="Zone of volumes created without one (empty: storage_availability_zone).",
    ),
    cfg.BoolOpt(
        "allow_availability_zone_fallback",
        default=False,
        help="Create a volume in the default zone when the asked zone does not exist.",
    ),
    cfg.StrOpt(
        "image_cache_dir",
        default="",
        help="The verified image cache volumes from images are created (and backed) from "
        "(empty: <state_dir>/volume-image-cache).",
    ),
    cfg.IntOpt(
        "image_cache_max_gb",
        default=20,
        min=1,
        help="GiB the image cache keeps (least recently used images not backing a volume "
        "go first).",
    ),
    cfg.IntOpt("report_interval", default=10, min=1, help="Seconds between heartbeats."),
    cfg.IntOpt(
        "service_down_time",
        default=60,
        min=1,
        help="Seconds without a heartbeat after which a service (and its backend) is down.",
    ),
    cfg.IntOpt(
        "lost_operation_age",
        default=120,
        min=0,
        help="Seconds after which an operation the workers table still records, and no "
        "thread of its service is running, counts as lost (its RPC message or its last "
        "database write went with a broker or database fault): the scheduler schedules "
        "such creates again and each backend replays its own, checked every "
        "report_interval. 0 turns the periodic pass off (start-up recovery and "
        "POST /workers/cleanup remain).",
    ),
    cfg.IntOpt("manager_threads", default=8, min=1, help="Volume manager worker threads."),
    cfg.IntOpt("scheduler_threads", default=4, min=1, help="Volume scheduler threads."),
    cfg.StrOpt(
        "volume_name_template", default="volume-%s", help="Backend name of a volume (its id)."
    ),
]

SCHEDULER_OPTS = [
    cfg.ListOpt("scheduler_default_filters", default=DEFAULT_FILTERS, help="Filters, in order."),
    cfg.ListOpt("scheduler_default_weighers", default=DEFAULT_WEIGHERS, help="Weighers."),
    cfg.FloatOpt(
        "capacity_weight_multiplier",
        default=1.0,
        help="Positive: spread volumes over the backends with the most free capacity.",
    ),
]

API_OPTS = [
    cfg.StrOpt(
        "default_volume_type",
        default="__DEFAULT__",
        help="Type of volumes created without one (created at bootstrap).",
    ),
    cfg.IntOpt("max_limit", default=1000, min=1, help="Largest page of a list."),
    cfg.IntOpt("rpc_timeout", default=60, min=1, help="Seconds an RPC call waits."),
    cfg.FloatOpt(
        "api_settle_seconds",
        default=0.5,
        min=0.0,
        help="How long a create, action or delete lingers for workers in this process to "
        "finish before answering (the response is the same; a client polling right after "
        "sees the outcome). 0 answers at once, as upstream.",
    ),
    cfg.IntOpt(
        "message_ttl",
        default=2592000,
        min=1,
        help="Seconds a user message is kept (upstream: 30 days).",
    ),
    cfg.StrOpt(
        "image_upload_disk_format",
        default="raw",
        help="disk_format of images uploaded from volumes when the request names none.",
    ),
    cfg.StrOpt("policy_file", default="", help="A policy.yaml overriding the defaults."),
]

QUOTA_OPTS = [
    cfg.IntOpt("quota_volumes", default=10, min=-1, help="Volumes per project."),
    cfg.IntOpt("quota_snapshots", default=10, min=-1, help="Snapshots per project."),
    cfg.IntOpt("quota_gigabytes", default=1000, min=-1, help="Volume and snapshot GiB."),
    cfg.IntOpt("quota_backups", default=10, min=-1, help="Backups per project."),
    cfg.IntOpt("quota_backup_gigabytes", default=1000, min=-1, help="Backup GiB."),
    cfg.IntOpt("quota_groups", default=10, min=-1, help="Groups per project."),
    cfg.IntOpt("per_volume_size_limit", default=-1, min=-1, help="Largest volume, GiB (-1: none)."),
    cfg.StrOpt(
        "quota_driver",
        default="db",
        choices=["db", "unified_limits"],
        help="Where limits come from: the os-quota-sets tables (db), or identity's unified "
        "limits (registered limits and project limits of the block-storage service), named "
        "as Cinder's quota resources: volumes, gigabytes, snapshots, backups, "
        "backup_gigabytes, groups, per_volume_gigabytes, volumes_<type>, gigabytes_<type>, "
        "snapshots_<type>. Usage is still counted here.",
    ),
    cfg.IntOpt(
        "reservation_expire",
        default=86400,
        min=1,
        help="Seconds until a reservation that was neither committed nor rolled back expires.",
    ),
]

BACKUP_OPTS = [
    cfg.StrOpt(
        "backup_driver",
        default="auto",
        choices=["auto", "posix", "swift", "ceph"],
        help="Where new backups go: swift (containers in the object store, as Cinder's "
        "swift driver), posix (directories, backup_posix_path), ceph (RBD images in "
        "backup_ceph_pool, incrementals as snapshot diffs of RBD volumes), or auto: swift "
        "when the cloud runs an object store, else posix. Existing backups stay where "
        "they are (ceph ones need backup_ceph_conf to stay reachable).",
    ),
    cfg.StrOpt(
        "backup_ceph_conf",
        default="",
        help="ceph.conf of the backup cluster (monitors; the keyrings of backup_ceph_user and "
        "of the rbd volumes' users, which a backup of an RBD volume reads as). Empty: "
        "/etc/ceph/ceph.conf when backup_driver is ceph, else no ceph backups.",
    ),
    cfg.StrOpt("backup_ceph_user", default="cinder-backup", help="cephx user of ceph backups."),
    cfg.StrOpt("backup_ceph_pool", default="backups", help="Pool of ceph backups."),
    cfg.StrOpt(
        "backup_swift_container",
        default="volumebackups",
        help="Container of swift backups that name none (in the volume service's account).",
    ),
    cfg.StrOpt(
        "backup_posix_path",
        default="",
        help="Directory of the backup containers (empty: <state_dir>/backups).",
    ),
    cfg.StrOpt(
        "backup_container", default="volumebackups", help="Container of backups that name none."
    ),
    cfg.IntOpt(
        "backup_file_size",
        default=32 << 20,
        min=32 << 10,
        help="Bytes of volume data per backup object (a multiple of backup_sha_block_size_bytes).",
    ),
    cfg.IntOpt(
        "backup_sha_block_size_bytes",
        default=32 << 10,
        min=512,
        help="Bytes hashed together: the granularity of incremental backups.",
    ),
    cfg.StrOpt(
        "backup_compression_algorithm",
        default="zlib",
        choices=["zlib", "none"],
        help="Compression of backup objects (data that does not shrink is stored as is).",
    ),
    cfg.IntOpt(
        "backup_workers",
        default=4,
        min=1,
        help="Threads hashing, compressing and storing a backup's chunks (and fetching and "
        "checking a restore's); more than the cores, so the disk always has a write in "
        "flight while others hash.",
    ),
    cfg.IntOpt("backup_threads", default=4, min=1, help="Backup service RPC threads."),
    cfg.IntOpt(
        "backup_device_timeout",
        default=3600,
        min=10,
        help="Seconds the backup service waits for a volume manager to prepare a device "
        "(a temporary snapshot of an in-use volume is a copy).",
    ),
]

ALL_OPTS = HOST_OPTS + SCHEDULER_OPTS + API_OPTS + QUOTA_OPTS + BACKUP_OPTS


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(ALL_OPTS, group=GROUP)
    versions.register_opts(conf, UPGRADE_LEVELS)


#: ``[upgrade_levels]`` of the volume service's topics (``scheduler`` is compute's)
UPGRADE_LEVELS = {
    "volume_scheduler": "volume schedulers",
    "volume": "volume managers",
    "backup": "backup services",
}


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, ALL_OPTS), (versions.GROUP, versions.opts(UPGRADE_LEVELS))]


@dataclass(frozen=True, slots=True)
class Options:
    """The ``[volume]`` options, typed: one attribute per option (read once per process).

    Nothing outside this module reads ``conf.volume.<name>``.
    """

    # host and backend
    host: str = ""
    enabled_workers: tuple[str, ...] = WORKERS
    backend_name: str = "file"
    volume_backend_name: str = "file"
    volume_driver: str = "file"
    volumes_dir: str = ""
    file_volume_format: str = "qcow2"
    target_ip_address: str = ""
    nbd_port: int = 10809
    rbd_pool: str = "volumes"
    rbd_user: str = "cinder"
    rbd_ceph_conf: str = "/etc/ceph/ceph.conf"
    rbd_secret_uuid: str = ""
    rados_osd_op_timeout: int = 30
    rbd_flatten_volume_from_snapshot: bool = False
    rbd_max_clone_depth: int = 5
    nbd_bind: str = ""
    file_capacity_gb: int = 0
    max_over_subscription_ratio: float = 20.0
    reserved_percentage: int = 0
    storage_availability_zone: str = "nova"
    default_availability_zone: str = ""
    allow_availability_zone_fallback: bool = False
    image_cache_dir: str = ""
    image_cache_max_gb: int = 20
    report_interval: int = 10
    service_down_time: int = 60
    lost_operation_age: int = 120
    manager_threads: int = 8
    scheduler_threads: int = 4
    volume_name_template: str = "volume-%s"

    # scheduler
    scheduler_default_filters: tuple[str, ...] = tuple(DEFAULT_FILTERS)
    scheduler_default_weighers: tuple[str, ...] = tuple(DEFAULT_WEIGHERS)
    capacity_weight_multiplier: float = 1.0

    # API
    default_volume_type: str = "__DEFAULT__"
    max_limit: int = 1000
    rpc_timeout: int = 60
    api_settle_seconds: float = 0.5
    message_ttl: int = 2592000
    image_upload_disk_format: str = "raw"
    policy_file: str = ""

    # quota
    quota_volumes: int = 10
    quota_snapshots: int = 10
    quota_gigabytes: int = 1000
    quota_backups: int = 10
    quota_backup_gigabytes: int = 1000
    quota_groups: int = 10
    quota_driver: str = "db"
    #: not an option: identity's unified limits, attached by ``Deps`` when
    #: ``quota_driver = unified_limits``
    unified_limits: LimitsReader | None = None
    per_volume_size_limit: int = -1
    reservation_expire: int = 86400

    # backup
    backup_driver: str = "auto"
    backup_ceph_conf: str = ""
    backup_ceph_user: str = "cinder-backup"
    backup_ceph_pool: str = "backups"
    backup_swift_container: str = "volumebackups"
    backup_posix_path: str = ""
    backup_container: str = "volumebackups"
    backup_file_size: int = 32 << 20
    backup_sha_block_size_bytes: int = 32 << 10
    backup_compression_algorithm: str = "zlib"
    backup_workers: int = 4
    backup_threads: int = 4
    backup_device_timeout: int = 3600

    @property
    def zone(self) -> str:
        """The zone of volumes created without one."""
        return self.default_availability_zone or self.storage_availability_zone

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Options:
        """The options of ``conf``'s ``[volume]`` section (see :func:`register_opts`)."""
        section = conf[GROUP]
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.name not in NOT_OPTIONS:
                values[item.name] = _CONVERT[str(item.type)](section[item.name])
        return cls(**values)


#: Options fields the composition root fills in, not read from the configuration
NOT_OPTIONS = frozenset({"unified_limits"})


def _text(raw: Any) -> str:
    return "" if raw is None else str(raw)


def _names(raw: Any) -> tuple[str, ...]:
    return tuple(str(value).strip() for value in raw or () if str(value).strip())


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "str": _text,
    "int": int,
    "float": float,
    "bool": bool,
    "tuple[str, ...]": _names,
}
