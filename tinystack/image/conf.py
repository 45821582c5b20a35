"""Options of the ``[image]`` section of tinystack.conf.

Quota names are upstream's unified-limits names. Sizes in quotas are MiB as
upstream (``image_size_total``, ``image_stage_total``); ``-1`` means unlimited.
The rest of the service reads them through :class:`Options`, built once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from oslo_config import cfg

from tinystack.common import config
from tinystack.common.clients.limits import LimitsReader

GROUP = "image"

DISK_FORMATS = ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"]
CONTAINER_FORMATS = ["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]

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
        default=["glance-direct"],
        help="Interoperable import methods offered (only glance-direct is implemented).",
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
            use_keystone_limits=bool(group.use_keystone_limits),
        )

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
