"""Object storage's options (``[object_store]``) and their typed form, :class:`Options`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from oslo_config import cfg

GROUP = "object_store"

ROLES = ("all", "proxy", "storage")

OPTS = [
    cfg.StrOpt(
        "role",
        default="all",
        choices=ROLES,
        help="What this process runs: all (the proxy and this node's storage servers), proxy "
        "(the API only; the rings name the storage hosts) or storage (the account, container "
        "and object servers and their daemons). `tinystack serve object-store-proxy` and "
        "`object-store-storage` set it.",
    ),
    cfg.StrOpt("ring_dir", default="", help="Ring files (default <state_dir>/object_store/rings)."),
    cfg.StrOpt(
        "devices", default="", help="Device directories (default <state_dir>/object_store/devices)."
    ),
    cfg.StrOpt(
        "storage_listen", default="127.0.0.1", help="Address of this node's storage server."
    ),
    cfg.PortOpt("object_port", default=6200, help="Port of this node's object server."),
    cfg.PortOpt("container_port", default=6201, help="Port of this node's container server."),
    cfg.PortOpt("account_port", default=6202, help="Port of this node's account server."),
    cfg.IntOpt(
        "storage_workers",
        default=2,
        min=0,
        help="With role all: processes serving this node's storage servers (they share the "
        "object port; the first serves the container and account servers and runs the "
        "daemons). 0 serves them in the API process.",
    ),
    cfg.IntOpt(
        "proxy_workers",
        default=2,
        min=1,
        help="Processes serving the proxy (the API) on its port with SO_REUSEPORT, as "
        "Swift's proxy `workers`: the cloud's process and proxy_workers - 1 children "
        "(`tinystack serve object-store-proxy` each). What a proxy learns of containers "
        "and accounts is invalidated in all of them when one changes it.",
    ),
    cfg.IntOpt(
        "default_devices",
        default=3,
        min=1,
        help="Devices (one per zone) of the default all-in-one ring.",
    ),
    cfg.IntOpt("replicas", default=3, min=1, help="Replicas of the default rings."),
    cfg.IntOpt(
        "part_power", default=10, min=1, max=24, help="Partition power of the default rings."
    ),
    cfg.IntOpt("min_part_hours", default=1, min=0, help="min_part_hours of the default rings."),
    cfg.FloatOpt(
        "ring_check_interval", default=1.0, help="Seconds between checks for a changed ring file."
    ),
    cfg.FloatOpt("node_timeout", default=10.0, help="Seconds the proxy waits for a storage node."),
    cfg.FloatOpt(
        "conn_timeout", default=0.5, help="Seconds the proxy waits to connect to a storage node."
    ),
    cfg.StrOpt("reseller_prefix", default="AUTH_", help="Prefix of account names."),
    cfg.IntOpt("container_listing_limit", default=10000, help="Most entries of one listing."),
    cfg.IntOpt("max_file_size", default=5368709122, help="Largest object (bytes)."),
    cfg.FloatOpt(
        "replicator_interval", default=30.0, help="Seconds between object replication passes."
    ),
    cfg.FloatOpt("auditor_interval", default=300.0, help="Seconds between object audit passes."),
    cfg.StrOpt("policy_file", default="", help="A policy.yaml overriding the defaults."),
    cfg.BoolOpt("s3_api", default=True, help="Serve the S3 API on the proxy's port."),
    cfg.StrOpt("s3_location", default="us-east-1", help="The S3 API's region (bucket location)."),
    cfg.ListOpt(
        "s3_storage_domains",
        default=["localhost"],
        help="Host names under which <bucket>.<domain> addresses a bucket (virtual-hosted "
        "style); the proxy's own host names always work path-style.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


@dataclass(frozen=True, slots=True)
class Options:
    """``[object_store]``, typed; the only reader of ``conf.object_store``."""

    role: str
    ring_dir: Path
    devices: Path
    storage_listen: str
    object_port: int
    container_port: int
    account_port: int
    storage_workers: int
    proxy_workers: int
    default_devices: int
    replicas: int
    part_power: int
    min_part_hours: int
    ring_check_interval: float
    node_timeout: float
    conn_timeout: float
    reseller_prefix: str
    listing_limit: int
    max_file_size: int
    policy_file: str
    replicator_interval: float
    auditor_interval: float
    s3_api: bool
    s3_location: str
    s3_storage_domains: tuple[str, ...]

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts, state_dir: Path) -> Options:
        group = conf.object_store
        base = state_dir / "object_store"
        return cls(
            role=str(group.role),
            ring_dir=Path(group.ring_dir) if group.ring_dir else base / "rings",
            devices=Path(group.devices) if group.devices else base / "devices",
            storage_listen=str(group.storage_listen),
            object_port=int(group.object_port),
            container_port=int(group.container_port),
            account_port=int(group.account_port),
            storage_workers=int(group.storage_workers),
            proxy_workers=int(group.proxy_workers),
            default_devices=int(group.default_devices),
            replicas=int(group.replicas),
            part_power=int(group.part_power),
            min_part_hours=int(group.min_part_hours),
            ring_check_interval=float(group.ring_check_interval),
            node_timeout=float(group.node_timeout),
            conn_timeout=float(group.conn_timeout),
            reseller_prefix=str(group.reseller_prefix),
            listing_limit=int(group.container_listing_limit),
            max_file_size=int(group.max_file_size),
            policy_file=str(group.policy_file),
            replicator_interval=float(group.replicator_interval),
            auditor_interval=float(group.auditor_interval),
            s3_api=bool(group.s3_api),
            s3_location=str(group.s3_location),
            s3_storage_domains=tuple(str(d).lower() for d in group.s3_storage_domains),
        )
