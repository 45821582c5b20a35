"""The real file driver for test clouds (``[volume] volume_driver =
tests.volume.file_backend:create_driver``): qcow2 files under the cloud's state
directory, exports from 127.0.0.1 on a port of this helper's range, chosen by the state
directory so parallel clouds do not collide."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

from tinystack.volume.conf import Options
from tinystack.volume.drivers.base import VolumeDriver
from tinystack.volume.drivers.file import FileDriver

#: NBD ports of these tests' clouds
PORTS = range(21600, 21700)


def create_driver(opts: Options, state_dir: Path) -> VolumeDriver:
    directory = Path(opts.volumes_dir) if opts.volumes_dir else state_dir / "volumes"
    digest = int(hashlib.sha256(str(state_dir).encode()).hexdigest(), 16)
    return FileDriver(
        directory,
        opts.file_capacity_gb or 100,
        opts.backend_name,
        "127.0.0.1",
        host=opts.host or socket.gethostname(),
        nbd_port=PORTS[digest % len(PORTS)],
        max_over_subscription_ratio=opts.max_over_subscription_ratio,
        reserved_percentage=opts.reserved_percentage,
    )
