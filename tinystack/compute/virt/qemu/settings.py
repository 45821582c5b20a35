"""The QEMU driver's settings (from ``[compute]``, see :mod:`.factory`) and its constants."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

GiB = 1024**3
#: a console log is read (and kept at a restart) up to this many last bytes
CONSOLE_MAX_BYTES = 100 * 1024
#: at a start, a console log larger than this keeps only its last CONSOLE_MAX_BYTES
CONSOLE_ROTATE_BYTES = 1024 * 1024
#: the suffix of an instance directory's copy kept during a resize
RESIZE_SUFFIX = "_resize"
QMP_TIMEOUT = 10.0
#: the image cache's directory in a configured ``instances_path``
BASE_DIR = "_base"


@dataclass
class QemuSettings:
    """What the driver needs from the configuration (see :mod:`.conf`)."""

    state_dir: Path
    instances_path: Path | None = None
    image_cache_path: Path | None = None
    accel: str = "auto"
    #: the test image the KVM probe boots (None: no probe, TCG unless accel = kvm)
    accel_probe_image: Path | None = None
    image_cache_max_age: float = 86400.0
    force_config_drive: bool = False
    soft_reboot_timeout: float = 60.0
    qemu_binary: str = ""
    vnc_enabled: bool = True
    vnc_listen: str = "127.0.0.1"
    vnc_port_min: int = 5900
    vnc_port_max: int = 6399
    vnc_websocket_offset: int = 1000
    #: give guests QEMU's restricted user-mode network instead of taps (tests only)
    user_network: bool = False
    #: the network namespace standing for this host: taps and QEMUs live there ("": root)
    host_namespace: str = ""
    #: the address volume exports are made for (the volume connector's ``ip``)
    my_ip: str = "127.0.0.1"
    #: the secret rbd volumes name and the keyring holding its key
    rbd_secret_uuid: str = ""
    rbd_keyring: str = ""
    #: root disks: "qcow2" files, or "rbd" images in images_rbd_pool (as rbd_user)
    images_type: str = "qcow2"
    images_rbd_pool: str = "vms"
    images_rbd_ceph_conf: str = "/etc/ceph/ceph.conf"
    rbd_user: str = "cinder"
    #: where this host's incoming live migrations and NBD exports listen
    migration_address: str = "127.0.0.1"
    #: QEMU's downtime-limit for a live migration (ms)
    migration_downtime_ms: int = 500
    #: MiB/s a live migration's memory copy may use (0: unlimited)
    migration_bandwidth_mib: int = 0

    @property
    def instances(self) -> Path:
        """This host's instance directories: definition, pidfile, sockets, console log."""
        return self.state_dir / "instances"

    @property
    def disks_root(self) -> Path:
        """Where the instances' local disks are: ``instances_path`` (which hosts may share,
        as Nova's), else each instance's own directory."""
        return self.instances_path or self.instances

    @property
    def shared_disks(self) -> bool:
        """The disks live apart from this host's runtime files (``instances_path``)."""
        return self.disks_root != self.instances

    @property
    def image_cache(self) -> Path:
        """The base images; with ``instances_path`` its ``_base`` (as Nova's), so hosts
        sharing the disks share the images their overlays are backed by."""
        if self.image_cache_path:
            return self.image_cache_path
        if self.instances_path:
            return self.instances_path / BASE_DIR
        return self.state_dir / "image-cache"

    @property
    def accel_cache_file(self) -> Path:
        return self.state_dir / "accel-probe.json"

    @property
    def short_socket_dir(self) -> Path:
        return Path("/run/tinystack-qemu") if os.geteuid() == 0 else Path("/tmp/tinystack-qemu")
