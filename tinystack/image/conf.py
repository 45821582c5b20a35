"""Options of the ``[image]`` section of tinystack.conf.

Quota names are upstream's unified-limits names. Sizes in quotas are MiB as
upstream (``image_size_total``, ``image_stage_total``); ``-1`` means unlimited.
The rest of the service reads them through :class:`Options`, built once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from oslo_config import cfg, types

from tinystack.common import config
from tinystack.common.clients.limits import LimitsReader
from tinystack.common.outbound import AddressFilter
from tinystack.image.store.registry import BackendSpec

GROUP = "image"

DISK_FORMATS = ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"]
CONTAINER_FORMATS = ["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]

IMPORT_METHODS = ["glance-direct", "web-download", "copy-image", "glance-download"]

OPTS = [
    cfg.StrOpt(
        "store_dir",
        default="",
        help="Directory of the file store (defaults to <state_dir>/images).",
    ),
    cfg.IntOpt(
        "image_size_total",
        default=-1,
        min=-1,
        help="Per-project limit on the total size of image data, in MiB (-1: unlimited).",
    ),
    cfg.IntOpt(
        "image_count_total",
        default=-1,
        min=-1,
        help="Per-project limit on the number of images (-1: unlimited).",
    ),
    cfg.IntOpt(
        "image_stage_total",
        default=-1,
        min=-1,
        help="Per-project limit on the total size of staged data, in MiB (-1: unlimited).",
    ),
    cfg.IntOpt(
        "image_count_uploading",
        default=-1,
        min=-1,
        help="Per-project limit on images being uploaded, staged or imported at once "
        "(-1: unlimited).",
    ),
    cfg.BoolOpt(
        "use_keystone_limits",
        default=False,
        help="Read image_size_total, image_stage_total, image_count_total and "
        "image_count_uploading from identity's unified limits (registered limits and "
        "project limits of the image service) instead of the options above, as Glance's "
        "use_keystone_limits.",
    ),
    cfg.IntOpt(
        "image_size_cap",
        default=1099511627776,
        min=0,
        help="Largest image accepted, in bytes.",
    ),
    cfg.IntOpt(
        "image_member_quota", default=128, min=-1, help="Members per image (-1: unlimited)."
    ),
    cfg.IntOpt(
        "image_property_quota",
        default=128,
        min=-1,
        help="Additional properties per image (-1: unlimited).",
    ),
    cfg.IntOpt("image_tag_quota", default=128, min=-1, help="Tags per image (-1: unlimited)."),
    cfg.IntOpt("limit_param_default", default=25, min=1, help="Default page size of lists."),
    cfg.IntOpt("api_limit_max", default=1000, min=1, help="Largest page size of lists."),
    cfg.StrOpt(
        "hashing_algorithm",
        default="sha512",
        choices=["sha256", "sha384", "sha512", "sha3_256", "sha3_512", "blake2b"],
        help="Algorithm of os_hash_value (checksum is always md5).",
    ),
    cfg.BoolOpt(
        "require_image_format_match",
        default=True,
        help="Reject image data whose content does not match its disk_format.",
    ),
    cfg.ListOpt(
        "enabled_import_methods",
        default=["glance-direct", "web-download", "copy-image"],
        item_type=types.String(choices=IMPORT_METHODS),
        help="Interoperable import methods offered (glance-download too, when another "
        "region's image service is to be reachable).",
    ),
    cfg.DictOpt(
        "enabled_backends",
        default={},
        help="Stores by id and driver type, e.g. fast:file,cheap:file (Glance's "
        "enabled_backends). Empty: one file store 'file' in store_dir.",
    ),
    cfg.StrOpt("default_backend", default="", help="The store new data goes to by default."),
    cfg.StrOpt(
        "default_store",
        default="file",
        choices=["file", "swift", "rbd"],
        help="Without enabled_backends: where new image data goes (Glance's default_store). "
        "swift: the object store, rbd: a Ceph pool, either with the file store 'file' "
        "beside it (both listed in /v2/info/stores, as enabled_backends = "
        "swift:swift,file:file would).",
    ),
    cfg.StrOpt("rbd_store_pool", default="images", help="Pool of the rbd stores' images."),
    cfg.StrOpt("rbd_store_user", default="glance", help="cephx user of the rbd stores."),
    cfg.StrOpt(
        "rbd_store_ceph_conf",
        default="/etc/ceph/ceph.conf",
        help="ceph.conf of the rbd stores' cluster (monitors; the user's keyring).",
    ),
    cfg.IntOpt(
        "rbd_store_chunk_size", default=8, min=1, help="Reads of rbd stores, MiB at a time."
    ),
    cfg.BoolOpt(
        "show_image_direct_url",
        default=False,
        help="Show an image's first location as direct_url (to callers passing "
        "get_image_location), so services sharing its store (rbd) clone it.",
    ),
    cfg.StrOpt(
        "swift_store_container",
        default="glance",
        help="Container of the swift stores' images, in the image service's account.",
    ),
    cfg.BoolOpt(
        "swift_store_create_container_on_put",
        default=True,
        help="Create the container on the first upload when it does not exist.",
    ),
    cfg.IntOpt(
        "swift_store_large_object_size",
        default=5120,
        min=1,
        help="Images larger than this (MiB) are stored as segments with a manifest.",
    ),
    cfg.IntOpt(
        "swift_store_large_object_chunk_size",
        default=200,
        min=1,
        help="Size (MiB) of the segments of a large image.",
    ),
    cfg.DictOpt(
        "backend_dirs",
        default={},
        help="Directory of each file store (id:path); default <store_dir>/<id>.",
    ),
    cfg.DictOpt("backend_descriptions", default={}, help="Description of each store (id:text)."),
    cfg.DictOpt(
        "backend_weights",
        default={},
        help="Weight of each store (id:int): downloads read the heaviest store first.",
    ),
    cfg.BoolOpt(
        "show_multiple_locations",
        default=False,
        help="Show images' locations (to callers passing get_image_location) and let "
        "JSON patches add, replace and remove them (Glance's deprecated interface; new "
        "URLs must be web servers' that pass the import filter).",
    ),
    cfg.StrOpt(
        "cinder_volume_type",
        default="",
        help="Volume type of the volumes cinder stores create (empty: the volume "
        "service's default type).",
    ),
    cfg.DictOpt(
        "backend_volume_types",
        default={},
        help="Volume type of each cinder store (id:type), over cinder_volume_type.",
    ),
    cfg.DictOpt(
        "backend_connector_hosts",
        default={},
        help="This host's name in the attachment connectors of each cinder store "
        "(id:host; default: the hostname). The volume service hands its storage host "
        "the volume's file, any other host an NBD export.",
    ),
    cfg.IntOpt(
        "cinder_state_transition_timeout",
        default=300,
        min=1,
        help="Seconds a cinder store waits for a volume to become available.",
    ),
    cfg.ListOpt(
        "import_allowed_schemes",
        default=["http", "https"],
        help="URI schemes web-download and import tasks may fetch (import filtering).",
    ),
    cfg.ListOpt("import_disallowed_schemes", default=[], help="Schemes never fetched."),
    cfg.ListOpt(
        "import_allowed_hosts",
        default=[],
        help="Hosts (names or addresses) that may be fetched; empty: any not disallowed.",
    ),
    cfg.ListOpt("import_disallowed_hosts", default=[], help="Hosts never fetched."),
    cfg.ListOpt(
        "import_allowed_ports",
        default=["80", "443"],
        help="Ports that may be fetched; empty: any not disallowed.",
    ),
    cfg.ListOpt("import_disallowed_ports", default=[], help="Ports never fetched."),
    cfg.ListOpt(
        "import_plugins",
        default=[],
        item_type=types.String(choices=["image_conversion"]),
        help="Plugins run on imported data (image_conversion: convert with qemu-img).",
    ),
    cfg.StrOpt(
        "conversion_output_format",
        default="raw",
        choices=["raw", "qcow2", "vmdk"],
        help="Disk format the image_conversion plugin converts imports to "
        "(Glance's [image_conversion] output_format).",
    ),
    cfg.ListOpt(
        "glance_download_properties",
        default=["hw_", "trait:", "os_distro", "os_secure_boot", "os_type"],
        help="Properties (or prefixes) glance-download copies from the remote image.",
    ),
    cfg.StrOpt(
        "metadefs_dir",
        default="",
        help="Directory of metadata definition files (*.json) loaded at bootstrap; empty: "
        "the definitions the 'glance' distribution installs, when it is installed.",
    ),
    cfg.StrOpt(
        "image_cache_dir",
        default="",
        help="Directory of the node-local image cache; empty: no cache (and no cache API).",
    ),
    cfg.IntOpt(
        "image_cache_max_size",
        default=10 * 1024**3,
        min=0,
        help="Bytes the cache may hold; least recently used images are pruned beyond it.",
    ),
    cfg.IntOpt(
        "image_cache_stall_time",
        default=86400,
        min=0,
        help="Seconds after which an unfinished cache fill counts as stalled and is "
        "removed by the cleaner.",
    ),
    cfg.FloatOpt(
        "cache_prefetch_interval",
        default=5.0,
        min=0.1,
        help="Seconds between two runs of the prefetcher (caches the queued images).",
    ),
    cfg.FloatOpt(
        "import_settle_seconds",
        default=5.0,
        min=0,
        help="How long POST .../import waits for its task before answering 202 (the "
        "task goes on in the background after).",
    ),
    cfg.ListOpt("disk_formats", default=DISK_FORMATS, help="Accepted disk formats."),
    cfg.ListOpt("container_formats", default=CONTAINER_FORMATS, help="Accepted container formats."),
    cfg.ListOpt(
        "bootstrap_images",
        default=[],
        help="Image files registered as public images when the cloud starts "
        "(name: the file name without its extension). Missing files are skipped.",
    ),
    cfg.StrOpt(
        "bootstrap_image_dir",
        default="",
        help="Every image file (.qcow2, .img, .raw, .iso, .vmdk, .vhd, .vhdx) in this "
        "directory is registered like bootstrap_images (defaults to "
        "<state_dir>/bootstrap-images).",
    ),
    cfg.StrOpt(
        "bootstrap_image_owner",
        default="admin",
        help="Project (in the Default domain) that owns the bootstrap images, as the "
        "project that uploads them would (looked up in identity when the service starts).",
    ),
    cfg.IntOpt(
        "io_chunk_size",
        default=1024 * 1024,
        min=4096,
        help="Bytes read per chunk when serving image data.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]


def store_dir(conf: cfg.ConfigOpts) -> Path:
    configured: str = conf.image.store_dir
    if configured:
        return Path(configured).expanduser()
    return config.state_dir(conf) / "images"


def _description(kind: str, store_id: str) -> str:
    if kind == "file":
        return (
            "Local filesystem store" if store_id == "file" else f"Local filesystem store {store_id}"
        )
    if kind == "swift":
        return "Object storage store" if store_id == "swift" else f"Object storage store {store_id}"
    if kind == "rbd":
        return "RBD store" if store_id == "rbd" else f"RBD store {store_id}"
    return f"{kind} store {store_id}"


def _optional_dir(value: str) -> Path | None:
    return Path(value).expanduser() if value else None


def bootstrap_image_dir(conf: cfg.ConfigOpts) -> Path:
    configured: str = conf.image.bootstrap_image_dir
    if configured:
        return Path(configured).expanduser()
    return config.state_dir(conf) / "bootstrap-images"


@dataclass(frozen=True, slots=True)
class Options:
    """The ``[image]`` options, typed; the two directories are resolved to paths."""

    store_dir: Path
    image_size_total: int
    image_count_total: int
    image_stage_total: int
    image_count_uploading: int
    image_size_cap: int
    image_member_quota: int
    image_property_quota: int
    image_tag_quota: int
    limit_param_default: int
    api_limit_max: int
    hashing_algorithm: str
    require_image_format_match: bool
    enabled_import_methods: tuple[str, ...]
    disk_formats: tuple[str, ...]
    container_formats: tuple[str, ...]
    bootstrap_images: tuple[str, ...]
    bootstrap_image_dir: Path
    io_chunk_size: int
    bootstrap_image_owner: str = "admin"
    enabled_backends: tuple[tuple[str, str], ...] = ()
    default_backend: str = ""
    backend_dirs: tuple[tuple[str, str], ...] = ()
    backend_descriptions: tuple[tuple[str, str], ...] = ()
    backend_weights: tuple[tuple[str, str], ...] = ()
    #: the ``default_store`` option (its name is taken by the property below)
    legacy_default_store: str = "file"
    swift_store_container: str = "glance"
    swift_store_create_container_on_put: bool = True
    swift_store_large_object_size: int = 5120 * 1024 * 1024
    swift_store_large_object_chunk_size: int = 200 * 1024 * 1024
    rbd_store_pool: str = "images"
    rbd_store_user: str = "glance"
    rbd_store_ceph_conf: str = "/etc/ceph/ceph.conf"
    rbd_store_chunk_size: int = 8 * 1024 * 1024
    show_image_direct_url: bool = False
    show_multiple_locations: bool = False
    cinder_volume_type: str = ""
    backend_volume_types: tuple[tuple[str, str], ...] = ()
    backend_connector_hosts: tuple[tuple[str, str], ...] = ()
    cinder_state_transition_timeout: float = 300.0
    import_allowed_schemes: tuple[str, ...] = ("http", "https")
    import_disallowed_schemes: tuple[str, ...] = ()
    import_allowed_hosts: tuple[str, ...] = ()
    import_disallowed_hosts: tuple[str, ...] = ()
    import_allowed_ports: tuple[str, ...] = ("80", "443")
    import_disallowed_ports: tuple[str, ...] = ()
    #: ``[DEFAULT] outbound_*_networks``: the addresses fetched URLs may resolve to
    outbound: AddressFilter = AddressFilter()
    import_plugins: tuple[str, ...] = ()
    conversion_output_format: str = "raw"
    glance_download_properties: tuple[str, ...] = ()
    metadefs_dir: Path | None = None
    image_cache_dir: Path | None = None
    image_cache_max_size: int = 10 * 1024**3
    cache_prefetch_interval: float = 5.0
    image_cache_stall_time: float = 86400.0
    import_settle_seconds: float = 5.0
    use_keystone_limits: bool = False
    #: not an option: identity's unified limits, attached by the service when
    #: ``use_keystone_limits`` is set
    unified_limits: LimitsReader | None = None

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Options:
        group = conf.image
        return cls(
            store_dir=store_dir(conf),
            image_size_total=int(group.image_size_total),
            image_count_total=int(group.image_count_total),
            image_stage_total=int(group.image_stage_total),
            image_count_uploading=int(group.image_count_uploading),
            image_size_cap=int(group.image_size_cap),
            image_member_quota=int(group.image_member_quota),
            image_property_quota=int(group.image_property_quota),
            image_tag_quota=int(group.image_tag_quota),
            limit_param_default=int(group.limit_param_default),
            api_limit_max=int(group.api_limit_max),
            hashing_algorithm=str(group.hashing_algorithm),
            require_image_format_match=bool(group.require_image_format_match),
            enabled_import_methods=tuple(group.enabled_import_methods),
            disk_formats=tuple(group.disk_formats),
            container_formats=tuple(group.container_formats),
            bootstrap_images=tuple(group.bootstrap_images),
            bootstrap_image_dir=bootstrap_image_dir(conf),
            io_chunk_size=int(group.io_chunk_size),
            bootstrap_image_owner=str(group.bootstrap_image_owner),
            enabled_backends=tuple(dict(group.enabled_backends).items()),
            default_backend=str(group.default_backend),
            backend_dirs=tuple(dict(group.backend_dirs).items()),
            backend_descriptions=tuple(dict(group.backend_descriptions).items()),
            backend_weights=tuple(dict(group.backend_weights).items()),
            legacy_default_store=str(group.default_store),
            swift_store_container=str(group.swift_store_container),
            swift_store_create_container_on_put=bool(group.swift_store_create_container_on_put),
            swift_store_large_object_size=int(group.swift_store_large_object_size) << 20,
            swift_store_large_object_chunk_size=int(group.swift_store_large_object_chunk_size)
            << 20,
            show_multiple_locations=bool(group.show_multiple_locations),
            rbd_store_pool=str(group.rbd_store_pool),
            rbd_store_user=str(group.rbd_store_user),
            rbd_store_ceph_conf=str(group.rbd_store_ceph_conf),
            rbd_store_chunk_size=int(group.rbd_store_chunk_size) << 20,
            show_image_direct_url=bool(group.show_image_direct_url),
            cinder_volume_type=str(group.cinder_volume_type),
            backend_volume_types=tuple(dict(group.backend_volume_types).items()),
            backend_connector_hosts=tuple(dict(group.backend_connector_hosts).items()),
            cinder_state_transition_timeout=float(group.cinder_state_transition_timeout),
            import_allowed_schemes=tuple(group.import_allowed_schemes),
            import_disallowed_schemes=tuple(group.import_disallowed_schemes),
            import_allowed_hosts=tuple(group.import_allowed_hosts),
            import_disallowed_hosts=tuple(group.import_disallowed_hosts),
            import_allowed_ports=tuple(group.import_allowed_ports),
            import_disallowed_ports=tuple(group.import_disallowed_ports),
            outbound=AddressFilter.from_conf(conf),
            import_plugins=tuple(group.import_plugins),
            conversion_output_format=str(group.conversion_output_format),
            glance_download_properties=tuple(group.glance_download_properties),
            metadefs_dir=_optional_dir(group.metadefs_dir),
            image_cache_dir=_optional_dir(group.image_cache_dir),
            image_cache_max_size=int(group.image_cache_max_size),
            cache_prefetch_interval=float(group.cache_prefetch_interval),
            image_cache_stall_time=float(group.image_cache_stall_time),
            import_settle_seconds=float(group.import_settle_seconds),
            use_keystone_limits=bool(group.use_keystone_limits),
        )

    @property
    def multi_store(self) -> bool:
        """Whether ``enabled_backends`` is configured, or implied by ``default_store =
        swift`` (Glance's multi-store API)."""
        return bool(self.enabled_backends) or self.legacy_default_store in ("swift", "rbd")

    def _backends(self) -> tuple[tuple[str, str], ...]:
        if self.enabled_backends:
            return self.enabled_backends
        if self.legacy_default_store in ("swift", "rbd"):
            kind = self.legacy_default_store
            return ((kind, kind), ("file", "file"))
        return (("file", "file"),)

    def backend_specs(self) -> list[BackendSpec]:
        """The stores to build: the configured backends, else the ``file`` store (and
        ``swift`` before it when it is the ``default_store``)."""
        backends = self._backends()
        dirs, descriptions = dict(self.backend_dirs), dict(self.backend_descriptions)
        weights, volume_types = dict(self.backend_weights), dict(self.backend_volume_types)
        specs = []
        for store_id, kind in backends:
            default_dir = self.store_dir if not self.enabled_backends else self.store_dir / store_id
            directory = Path(dirs[store_id]).expanduser() if store_id in dirs else default_dir
            specs.append(
                BackendSpec(
                    id=store_id,
                    type=kind,
                    directory=directory,
                    description=descriptions.get(store_id, _description(kind, store_id)),
                    weight=int(weights.get(store_id, 0)),
                    chunk_size=self.io_chunk_size,
                    volume_type=volume_types.get(store_id, self.cinder_volume_type),
                    connector_host=dict(self.backend_connector_hosts).get(store_id, ""),
                    state_timeout=self.cinder_state_transition_timeout,
                    container=self.swift_store_container,
                    create_container_on_put=self.swift_store_create_container_on_put,
                    large_object_size=self.swift_store_large_object_size,
                    large_object_chunk_size=self.swift_store_large_object_chunk_size,
                    rbd_pool=self.rbd_store_pool,
                    rbd_user=self.rbd_store_user,
                    rbd_ceph_conf=self.rbd_store_ceph_conf,
                    rbd_chunk_size=self.rbd_store_chunk_size,
                    outbound=self.outbound,
                )
            )
        return specs

    @property
    def default_store(self) -> str:
        if self.default_backend:
            return self.default_backend
        return self._backends()[0][0]

    def quota_limit(self, name: str, owner: str | None = None) -> int:
        """The limit of one unified-limits quota (``image_size_total`` ...) for ``owner``'s
        project: identity's when ``use_keystone_limits`` (-1 without a registered limit),
        else the option's; -1: unlimited."""
        if self.unified_limits is not None:
            return self.unified_limits.limit(owner or "", name) if owner else -1
        limits = {
            "image_size_total": self.image_size_total,
            "image_count_total": self.image_count_total,
            "image_stage_total": self.image_stage_total,
            "image_count_uploading": self.image_count_uploading,
        }
        return limits[name]
