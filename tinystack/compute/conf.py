"""Options of the ``[compute]`` section of tinystack.conf and :class:`Options`, their typed view."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from oslo_config import cfg

from tinystack.common import config
from tinystack.common.clients.limits import LimitsReader
from tinystack.common.rpc import versions

LOG = logging.getLogger(__name__)

GROUP = "compute"

DEFAULT_FILTERS = [
    "ComputeFilter",
    "AvailabilityZoneFilter",
    "ComputeCapabilitiesFilter",
    "ImagePropertiesFilter",
    "AggregateInstanceExtraSpecsFilter",
    "ServerGroupAntiAffinityFilter",
    "ServerGroupAffinityFilter",
    "SameHostFilter",
    "DifferentHostFilter",
]
DEFAULT_WEIGHERS = [
    "RAMWeigher",
    "CPUWeigher",
    "DiskWeigher",
    "ServerGroupSoftAffinityWeigher",
    "ServerGroupSoftAntiAffinityWeigher",
]

#: what ``[compute] enabled_workers`` may name
WORKERS = ("conductor", "scheduler", "agent")

HOST_OPTS = [
    cfg.StrOpt(
        "host",
        default="",
        help="This host's name for the compute agent (a driver's one host) and the "
        "nova-conductor/nova-scheduler service records (default: hostname).",
    ),
    cfg.ListOpt(
        "enabled_workers",
        default=list(WORKERS),
        help="Background workers this process runs, among conductor, scheduler and agent "
        "(e.g. agent alone: a second compute host on the same transport and database). "
        "The API and the metadata API are served either way.",
    ),
    cfg.StrOpt(
        "compute_driver",
        default="auto",
        help="The virt driver of this process's compute host: 'fake' (``fake_hosts`` "
        "in-memory hosts), 'qemu', 'libvirt' (the QEMU driver's guests as domains of the "
        "libvirtd at libvirt_uri), 'auto' (qemu as root with QEMU installed, else one fake "
        "host; never libvirt), or 'module:function' returning a ComputeDriver for one host, "
        "called as function(deps, host).",
    ),
    cfg.IntOpt(
        "fake_hosts",
        default=1,
        min=0,
        help="Fake compute hosts this process runs (the fake virt driver).",
    ),
    cfg.StrOpt("fake_host_prefix", default="fake-compute", help="Fake hosts are PREFIX-N."),
    cfg.ListOpt(
        "fake_host_sizes",
        default=["8:16384:200"],
        help="VCPUS:MEMORY_MB:DISK_GB of the fake hosts, cycled over the hosts "
        "(e.g. 8:16384:200,2:4096:40 gives hosts of two sizes).",
    ),
    cfg.FloatOpt("fake_spawn_delay", default=0.0, min=0, help="Seconds a fake spawn takes."),
    cfg.FloatOpt(
        "fake_action_delay", default=0.0, min=0, help="Seconds other fake operations take."
    ),
    cfg.FloatOpt(
        "fake_live_migration_seconds",
        default=0.2,
        min=0,
        help="Seconds a fake live migration copies memory before it switches over "
        "(force_complete switches over at once; an abort stops it).",
    ),
    cfg.ListOpt(
        "fake_fail_spawn_hosts",
        default=[],
        help="Fake hosts whose spawns fail (to exercise rescheduling).",
    ),
    cfg.FloatOpt("cpu_allocation_ratio", default=4.0, min=0.0, help="VCPU allocation ratio."),
    cfg.FloatOpt("ram_allocation_ratio", default=1.0, min=0.0, help="MEMORY_MB allocation ratio."),
    cfg.FloatOpt("disk_allocation_ratio", default=1.0, min=0.0, help="DISK_GB allocation ratio."),
    cfg.IntOpt("reserved_host_cpus", default=0, min=0, help="VCPUs reserved for the host."),
    cfg.IntOpt("reserved_host_memory_mb", default=512, min=0, help="MiB reserved for the host."),
    cfg.IntOpt("reserved_host_disk_mb", default=0, min=0, help="Disk MiB reserved for the host."),
    cfg.IntOpt("report_interval", default=10, min=1, help="Seconds between service heartbeats."),
    cfg.IntOpt(
        "service_down_time",
        default=60,
        min=1,
        help="Seconds without a heartbeat after which a service is down.",
    ),
    cfg.IntOpt(
        "orphan_timeout",
        default=300,
        min=1,
        help="Distributed mode: seconds after which a conductor fails a build that never "
        "reached a host, and finishes a delete of an instance without a host, that a dead "
        "compute process left (checked at start and every report_interval). Either mode: "
        "seconds after which an agent fails a build of its hosts that no thread runs any "
        "more (its message or its writes lost to a broker or database fault; checked "
        "four times per orphan_timeout).",
    ),
    cfg.IntOpt(
        "sync_power_state_interval",
        default=600,
        help="Seconds between power state syncs with the driver (<= 0 disables).",
    ),
    cfg.IntOpt(
        "vif_plugging_timeout",
        default=300,
        min=0,
        help="Seconds a build waits for network-vif-plugged events (0: do not wait).",
    ),
    cfg.BoolOpt(
        "vif_plugging_is_fatal",
        default=True,
        help="Fail the build (and a live migration, which then stays on its source) when "
        "network-vif-plugged does not arrive in time.",
    ),
    cfg.BoolOpt(
        "live_migration_wait_for_vif_plug",
        default=True,
        help="As the destination of a live migration, have the source wait (up to "
        "vif_plugging_timeout) for network-vif-plugged of the guest's ports, sent once this "
        "host's L2 agent has wired them, before it switches the guest over.",
    ),
    cfg.IntOpt(
        "agent_threads",
        default=8,
        min=1,
        help="Worker threads shared by the compute agents of this process (fewer threads "
        "contend less for the interpreter; raise it for drivers with slow operations).",
    ),
    cfg.StrOpt(
        "my_ip",
        default="",
        help="The address of this host that the block storage service exports volumes to "
        "(the ``ip`` of the volume connector; default 127.0.0.1).",
    ),
    cfg.IntOpt(
        "block_device_allocate_retries",
        default=60,
        min=0,
        help="Times a boot from volume checks whether a volume it created is available.",
    ),
    cfg.IntOpt(
        "block_device_allocate_retries_interval",
        default=3,
        min=0,
        help="Seconds between those checks (the first ones come sooner).",
    ),
    cfg.IntOpt(
        "reimage_timeout_per_gb",
        default=20,
        min=1,
        help="Seconds per GiB of the image a rebuild waits for the block storage service "
        "to re-image a volume-backed server's root volume (volume-reimaged).",
    ),
]

SCHEDULER_OPTS = [
    cfg.ListOpt("scheduler_enabled_filters", default=DEFAULT_FILTERS, help="Filters, in order."),
    cfg.ListOpt("scheduler_weighers", default=DEFAULT_WEIGHERS, help="Weighers."),
    cfg.FloatOpt("ram_weight_multiplier", default=1.0, help="Positive: spread on free RAM."),
    cfg.FloatOpt("cpu_weight_multiplier", default=1.0, help="Positive: spread on free VCPUs."),
    cfg.FloatOpt("disk_weight_multiplier", default=1.0, help="Positive: spread on free disk."),
    cfg.FloatOpt("soft_affinity_weight_multiplier", default=1.0, help="Soft affinity weight."),
    cfg.FloatOpt(
        "soft_anti_affinity_weight_multiplier", default=1.0, help="Soft anti-affinity weight."
    ),
    cfg.IntOpt("host_subset_size", default=1, min=1, help="Pick randomly among the N best hosts."),
    cfg.IntOpt(
        "max_placement_results",
        default=50,
        min=1,
        help="Allocation candidates asked of placement per request (upstream: 1000). When "
        "none of them fits (filters, lost claims) and placement had more, the scheduler asks "
        "for ten times as many, up to 10,000, so a small value costs correctness nothing.",
    ),
    cfg.IntOpt(
        "max_attempts",
        default=3,
        min=1,
        help="Hosts tried for a build (the chosen one plus alternates) before ERROR.",
    ),
    cfg.FloatOpt(
        "host_cache_seconds",
        default=2.0,
        min=0.0,
        help="How long the scheduler trusts its cached view of hosts and aggregates.",
    ),
    cfg.IntOpt("scheduler_threads", default=4, min=1, help="Scheduler worker threads."),
    cfg.IntOpt("conductor_threads", default=4, min=1, help="Conductor worker threads."),
]

API_OPTS = [
    cfg.StrOpt("default_availability_zone", default="nova", help="AZ of hosts in no AZ."),
    cfg.StrOpt(
        "internal_service_availability_zone",
        default="internal",
        help="AZ shown for services other than nova-compute.",
    ),
    cfg.StrOpt(
        "default_schedule_zone",
        default="",
        help="AZ given to servers created without one (empty: any).",
    ),
    cfg.IntOpt("max_limit", default=1000, min=1, help="Largest page of a list."),
    cfg.BoolOpt(
        "cross_az_attach",
        default=True,
        help="Attach volumes of any availability zone (False: only the server's zone; "
        "a boot from volume then creates its volumes in the server's zone).",
    ),
    cfg.BoolOpt(
        "allow_resize_to_same_host",
        default=True,
        help="Let a resize or migration land on the instance's current host.",
    ),
    cfg.StrOpt(
        "instance_name_template", default="instance-%08x", help="Instance name on the host."
    ),
    cfg.IntOpt(
        "image_cache_seconds",
        default=5,
        min=0,
        help="Seconds the API reuses an image lookup for one project.",
    ),
    cfg.IntOpt("rpc_timeout", default=60, min=1, help="Seconds an RPC call waits."),
    cfg.FloatOpt(
        "api_settle_seconds",
        default=0.5,
        min=0.0,
        help="How long a create, action or delete request lingers for its work to finish "
        "before answering (the response is the same; clients that poll right after it see "
        "the outcome instead of an intermediate state). 0 answers at once, as upstream.",
    ),
    cfg.StrOpt("policy_file", default="", help="A policy.yaml overriding the defaults."),
]

QUOTA_OPTS = [
    cfg.IntOpt("quota_instances", default=10, min=-1, help="Servers per project."),
    cfg.IntOpt("quota_cores", default=20, min=-1, help="VCPUs per project."),
    cfg.IntOpt("quota_ram", default=51200, min=-1, help="MiB of RAM per project."),
    cfg.IntOpt("quota_metadata_items", default=128, min=-1, help="Metadata items per server."),
    cfg.IntOpt("quota_injected_files", default=5, min=-1, help="Injected files per server."),
    cfg.IntOpt("quota_injected_file_content_bytes", default=10240, min=-1, help="Bytes per file."),
    cfg.IntOpt(
        "quota_injected_file_path_length", default=255, min=-1, help="Injected path length."
    ),
    cfg.IntOpt("quota_key_pairs", default=100, min=-1, help="Key pairs per user."),
    cfg.IntOpt("quota_server_groups", default=10, min=-1, help="Server groups per project."),
    cfg.IntOpt("quota_server_group_members", default=10, min=-1, help="Servers per server group."),
    cfg.StrOpt(
        "quota_driver",
        default="db",
        choices=["db", "unified_limits"],
        help="Where limits come from: the os-quota-sets tables (db), or identity's unified "
        "limits (registered limits and project limits of the compute service, as Nova's "
        "[quota] driver = nova.quota.UnifiedLimitsDriver): servers, class:VCPU, "
        "class:MEMORY_MB, server_metadata_items, server_key_pairs, server_groups, ...",
    ),
]

METADATA_OPTS = [
    cfg.StrOpt(
        "metadata_listen",
        default="",
        help="Address the metadata API listens on (empty: [DEFAULT] bind_host).",
    ),
    cfg.PortOpt(
        "metadata_listen_port",
        default=8775,
        help="Port of the metadata API (the network service's metadata proxy forwards to it).",
    ),
    cfg.StrOpt(
        "metadata_proxy_shared_secret",
        default="",
        secret=True,
        help="Key of the HMAC-SHA256 X-Instance-ID-Signature the metadata proxy sends; "
        "must equal [network] metadata_proxy_shared_secret. A deployment generates one "
        "(secrets.json) when neither is set. Empty outside a deployment: signatures are "
        "still required, keyed with the empty string.",
    ),
    cfg.IntOpt(
        "metadata_cache_expiration",
        default=15,
        min=0,
        help="Seconds the metadata API reuses what it read of an instance (0: no cache).",
    ),
]

ALL_OPTS = HOST_OPTS + SCHEDULER_OPTS + API_OPTS + QUOTA_OPTS + METADATA_OPTS


def _driver_opts() -> list[cfg.Opt]:
    """Options the QEMU driver declares for the [compute] section, when it is installed."""
    try:
        from tinystack.compute.virt.qemu.conf import QEMU_OPTS
    except Exception:  # the driver is optional; compute runs without it
        LOG.debug("the QEMU driver's options are not available", exc_info=True)
        return []
    names = {opt.name for opt in ALL_OPTS}
    return [opt for opt in QEMU_OPTS if opt.name not in names]


CONSOLE_GROUP = "console"
#: ``[console]``: the console proxies (Nova's ``[vnc]``, ``[serial_console]`` and
#: ``[consoleauth]`` options in one section)
CONSOLE_OPTS = [
    cfg.StrOpt(
        "proxy_host",
        default="",
        help="Address the noVNC and serial console proxies listen on (default: bind_host).",
    ),
    cfg.PortOpt("novncproxy_port", default=6080, help="Port of the noVNC console proxy."),
    cfg.PortOpt("serialproxy_port", default=6083, help="Port of the serial console proxy."),
    cfg.StrOpt(
        "novncproxy_base_url",
        default="",
        help="Base URL of VNC console links (default: "
        "http://<public_host>:<novncproxy_port>/vnc_lite.html).",
    ),
    cfg.StrOpt(
        "serialproxy_base_url",
        default="",
        help="Base URL of serial console links (default: ws://<public_host>:<serialproxy_port>/).",
    ),
    cfg.StrOpt(
        "novnc_dir",
        default="/usr/share/novnc",
        help="The noVNC client the proxy serves (Debian's novnc package; `make up` installs it).",
    ),
    cfg.IntOpt("token_ttl", default=600, min=1, help="Seconds a console token is valid."),
]


#: the compute agent's telemetry poller (Ceilometer's compute polling agent)
TELEMETRY_GROUP = "telemetry"
TELEMETRY_OPTS = [
    cfg.IntOpt(
        "polling_interval",
        default=300,
        min=0,
        help="Seconds between two polls of the guests' meters (0: no polling).",
    ),
    cfg.StrOpt(
        "archive_policy",
        default="low",
        help="Archive policy of the metrics the poller creates in the metric service.",
    ),
    cfg.StrOpt(
        "pipeline_file",
        default="",
        help="A Ceilometer pipeline.yaml (sources, sinks, transformers, publishers) the "
        "poller's samples go through; empty: every meter to the metric service.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(ALL_OPTS + _driver_opts(), group=GROUP)
    conf.register_opts(CONSOLE_OPTS, group=CONSOLE_GROUP)
    conf.register_opts(TELEMETRY_OPTS, group=TELEMETRY_GROUP)
    versions.register_opts(conf, UPGRADE_LEVELS)


#: ``[upgrade_levels]`` of compute's topics: the RPC version caps during a rolling upgrade
UPGRADE_LEVELS = {
    "compute": "compute agents",
    "conductor": "compute conductors",
    "scheduler": "compute schedulers",
}


@dataclass(frozen=True, slots=True)
class ConsoleOptions:
    """The ``[console]`` options, typed, with the links' base URLs worked out."""

    proxy_host: str = "127.0.0.1"
    novncproxy_port: int = 6080
    serialproxy_port: int = 6083
    novncproxy_base_url: str = "http://127.0.0.1:6080/vnc_lite.html"
    serialproxy_base_url: str = "ws://127.0.0.1:6083/"
    novnc_dir: str = "/usr/share/novnc"
    token_ttl: int = 600

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> ConsoleOptions:
        section = conf[CONSOLE_GROUP]
        public = config.public_host(conf)
        novnc, serial = int(section.novncproxy_port), int(section.serialproxy_port)
        tls = config.api_scheme(conf) == "https"  # the proxies serve the APIs' certificate
        web, ws = ("https", "wss") if tls else ("http", "ws")
        return cls(
            proxy_host=str(section.proxy_host or conf.bind_host),
            novncproxy_port=novnc,
            serialproxy_port=serial,
            novncproxy_base_url=str(section.novncproxy_base_url)
            or f"{web}://{public}:{novnc}/vnc_lite.html",
            serialproxy_base_url=str(section.serialproxy_base_url) or f"{ws}://{public}:{serial}/",
            novnc_dir=str(section.novnc_dir),
            token_ttl=int(section.token_ttl),
        )


@dataclass(frozen=True, slots=True)
class TelemetryOptions:
    """``[telemetry]``, typed; the only reader of ``conf.telemetry``."""

    polling_interval: int = 300
    archive_policy: str = "low"
    pipeline_file: str = ""

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> TelemetryOptions:
        section = conf[TELEMETRY_GROUP]
        return cls(
            int(section.polling_interval), str(section.archive_policy), str(section.pipeline_file)
        )


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [
        (GROUP, ALL_OPTS + _driver_opts()),
        (CONSOLE_GROUP, CONSOLE_OPTS),
        (TELEMETRY_GROUP, TELEMETRY_OPTS),
        (versions.GROUP, versions.opts(UPGRADE_LEVELS)),
    ]


@dataclass(frozen=True, slots=True)
class Options:
    """The ``[compute]`` options, typed: one attribute per option (read once per process).

    The QEMU driver"s options are here too, with their defaults when the driver is not
    installed. Nothing outside this module reads ``conf.compute.<name>``.
    """

    # host
    host: str = ""
    enabled_workers: tuple[str, ...] = WORKERS
    compute_driver: str = "auto"
    fake_hosts: int = 1
    fake_host_prefix: str = "fake-compute"
    fake_host_sizes: tuple[str, ...] = ("8:16384:200",)
    fake_spawn_delay: float = 0.0
    fake_action_delay: float = 0.0
    fake_live_migration_seconds: float = 0.2
    fake_fail_spawn_hosts: tuple[str, ...] = ()
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    reserved_host_cpus: int = 0
    reserved_host_memory_mb: int = 512
    reserved_host_disk_mb: int = 0
    report_interval: int = 10
    service_down_time: int = 60
    orphan_timeout: int = 300
    sync_power_state_interval: int = 600
    vif_plugging_timeout: int = 300
    vif_plugging_is_fatal: bool = True
    live_migration_wait_for_vif_plug: bool = True
    agent_threads: int = 8
    my_ip: str = ""
    block_device_allocate_retries: int = 60
    block_device_allocate_retries_interval: int = 3
    reimage_timeout_per_gb: int = 20

    # scheduler
    scheduler_enabled_filters: tuple[str, ...] = tuple(DEFAULT_FILTERS)
    scheduler_weighers: tuple[str, ...] = tuple(DEFAULT_WEIGHERS)
    ram_weight_multiplier: float = 1.0
    cpu_weight_multiplier: float = 1.0
    disk_weight_multiplier: float = 1.0
    soft_affinity_weight_multiplier: float = 1.0
    soft_anti_affinity_weight_multiplier: float = 1.0
    host_subset_size: int = 1
    max_placement_results: int = 50
    max_attempts: int = 3
    host_cache_seconds: float = 2.0
    scheduler_threads: int = 4
    conductor_threads: int = 4

    # API
    default_availability_zone: str = "nova"
    internal_service_availability_zone: str = "internal"
    default_schedule_zone: str = ""
    max_limit: int = 1000
    cross_az_attach: bool = True
    allow_resize_to_same_host: bool = True
    instance_name_template: str = "instance-%08x"
    image_cache_seconds: int = 5
    rpc_timeout: int = 60
    api_settle_seconds: float = 0.5
    policy_file: str = ""

    # quota
    quota_instances: int = 10
    quota_cores: int = 20
    quota_ram: int = 51200
    quota_metadata_items: int = 128
    quota_injected_files: int = 5
    quota_injected_file_content_bytes: int = 10240
    quota_injected_file_path_length: int = 255
    quota_key_pairs: int = 100
    quota_server_groups: int = 10
    quota_server_group_members: int = 10
    quota_driver: str = "db"
    #: not an option: identity's unified limits, attached by ``Deps`` when
    #: ``quota_driver = unified_limits``
    unified_limits: LimitsReader | None = None

    # metadata API
    metadata_listen: str = ""
    metadata_listen_port: int = 8775
    metadata_proxy_shared_secret: str = ""
    metadata_cache_expiration: int = 15

    # QEMU driver
    accel: str = "auto"
    instances_path: str = ""
    image_cache_path: str = ""
    image_cache_max_age: int = 86400
    force_config_drive: bool = False
    soft_reboot_timeout: int = 60
    host_namespace: str = ""
    qemu_binary: str = ""
    vnc_listen: str = "127.0.0.1"
    vnc_port_min: int = 5900
    vnc_port_max: int = 6399
    rbd_secret_uuid: str = ""
    images_type: str = "qcow2"
    images_rbd_pool: str = "vms"
    images_rbd_ceph_conf: str = "/etc/ceph/ceph.conf"
    rbd_user: str = "cinder"
    rbd_keyring: str = ""
    vnc_websocket_offset: int = 1000
    # libvirt driver
    libvirt_uri: str = "qemu:///system"
    libvirt_domain_prefix: str = "tinystack-"
    libvirt_live_migration_uri: str = "qemu+tcp://%s/system"
    live_migration_inbound_addr: str = ""
    live_migration_downtime: int = 500
    live_migration_bandwidth: int = 0

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Options:
        """The options of ``conf``'s ``[compute]`` section (see :func:`register_opts`)."""
        section = conf[GROUP]
        values: dict[str, Any] = {}
        for item in fields(cls):
            try:
                raw = section[item.name]
            except cfg.NoSuchOptError:
                continue  # a QEMU option, the driver not being installed: its default
            values[item.name] = _CONVERT[str(item.type)](raw)
        return cls(**values)


def _text(raw: Any) -> str:
    return "" if raw is None else str(raw)


def _names(raw: Any) -> tuple[str, ...]:
    return tuple(str(value) for value in raw or ())


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "str": _text,
    "int": int,
    "float": float,
    "bool": bool,
    "tuple[str, ...]": _names,
}
