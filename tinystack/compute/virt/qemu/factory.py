"""Build the QEMU driver from compute's options, and say whether this machine can run it.

The compute service runs one host with a driver from ``[compute] compute_driver =
module:function``, called as ``function(deps, host)``:

- ``tinystack.compute.virt.qemu.factory:qemu_driver``: QEMU (fails when it cannot run);
- ``tinystack.compute.virt.qemu.factory:auto_driver``: QEMU as root with
  qemu-system-x86_64 installed, otherwise one fake host of the same name (and says so).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from tinystack.common import config
from tinystack.compute.conf import Options
from tinystack.compute.virt.driver import ComputeDriver, DriverError
from tinystack.compute.virt.fake import FakeDriver
from tinystack.compute.virt.qemu.driver import QemuDriver
from tinystack.compute.virt.qemu.imagecache import ServiceImageSource
from tinystack.compute.virt.qemu.settings import QemuSettings
from tinystack.guest.build import IMAGE_FILE

LOG = logging.getLogger(__name__)


def available(binary: str = "") -> tuple[bool, str]:
    """(usable, why): the QEMU driver needs root (taps) and qemu-system-x86_64."""
    found = binary or shutil.which("qemu-system-x86_64")
    if not found:
        return False, "qemu-system-x86_64 is not installed"
    if os.geteuid() != 0:
        return False, "not running as root (taps need it)"
    return True, f"root and {found}"


def settings(opts: Options, state_dir: Path, bootstrap_image_dir: Path) -> QemuSettings:
    """The driver's settings from compute's options (``bootstrap_image_dir``: where the
    image service keeps the test image acceleration is probed with)."""
    return QemuSettings(
        state_dir=state_dir,
        instances_path=Path(opts.instances_path).expanduser() if opts.instances_path else None,
        image_cache_path=Path(opts.image_cache_path).expanduser()
        if opts.image_cache_path
        else None,
        accel=str(opts.accel),
        accel_probe_image=bootstrap_image_dir / IMAGE_FILE,
        image_cache_max_age=float(opts.image_cache_max_age),
        force_config_drive=bool(opts.force_config_drive),
        soft_reboot_timeout=float(opts.soft_reboot_timeout),
        qemu_binary=str(opts.qemu_binary or ""),
        vnc_listen=str(opts.vnc_listen),
        vnc_port_min=int(opts.vnc_port_min),
        vnc_port_max=int(opts.vnc_port_max),
        vnc_websocket_offset=int(opts.vnc_websocket_offset),
        host_namespace=str(opts.host_namespace or ""),
        my_ip=str(opts.my_ip or "127.0.0.1"),
        rbd_secret_uuid=str(opts.rbd_secret_uuid or ""),
        rbd_keyring=str(opts.rbd_keyring or ""),
        images_type=str(opts.images_type),
        images_rbd_pool=str(opts.images_rbd_pool),
        images_rbd_ceph_conf=str(opts.images_rbd_ceph_conf),
        rbd_user=str(opts.rbd_user),
        migration_address=str(opts.live_migration_inbound_addr or opts.my_ip or "127.0.0.1"),
        migration_downtime_ms=int(opts.live_migration_downtime),
        migration_bandwidth_mib=int(opts.live_migration_bandwidth),
    )


def settings_of(deps: Any) -> QemuSettings:
    """The settings of compute's ``Deps``: its options, the state directory and the
    bootstrap image directory the composition root resolved."""
    state = config.state_dir(deps.conf)
    images = deps.bootstrap_image_dir or state / "bootstrap-images"
    return settings(deps.opts, state, Path(images))


def _build(deps: Any, host: str) -> QemuDriver:
    """The driver of this machine (``deps.image``: compute's image service client)."""
    return QemuDriver(host, settings_of(deps), ServiceImageSource(deps.image))


def qemu_driver(deps: Any, host: str) -> QemuDriver:
    """``compute_driver`` factory: the QEMU driver for this machine (``host``)."""
    usable, why = available(str(deps.opts.qemu_binary or ""))
    if not usable:
        raise DriverError(f"the QEMU driver cannot run here: {why}")
    LOG.info("compute host %s: QEMU driver (%s)", host, why)
    return _build(deps, host)


def auto_driver(deps: Any, host: str) -> ComputeDriver:
    """``compute_driver`` factory: QEMU when this machine can run it, else a fake host."""
    usable, why = available(str(deps.opts.qemu_binary or ""))
    if usable:
        LOG.info("compute host %s: QEMU driver (%s)", host, why)
        return _build(deps, host)
    LOG.warning("compute host %s: the fake driver, because %s", host, why)
    return FakeDriver(host)
