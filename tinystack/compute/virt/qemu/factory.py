"""Build the QEMU driver from tinystack.conf, and say whether this machine can run it.

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


def _bootstrap_dir(conf: Any) -> Path:
    try:
        configured = str(conf.image.bootstrap_image_dir or "")
    except Exception:  # the image options live in another service
        configured = ""
    if configured:
        return Path(configured).expanduser()
    return config.state_dir(conf) / "bootstrap-images"


def settings_from_conf(conf: Any) -> QemuSettings:
    opts = Options.from_conf(conf)
    state = config.state_dir(conf)
    return QemuSettings(
        state_dir=state,
        instances_path=Path(opts.instances_path).expanduser() if opts.instances_path else None,
        image_cache_path=Path(opts.image_cache_path).expanduser()
        if opts.image_cache_path
        else None,
        accel=str(opts.accel),
        accel_probe_image=_bootstrap_dir(conf) / IMAGE_FILE,
        image_cache_max_age=float(opts.image_cache_max_age),
        force_config_drive=bool(opts.force_config_drive),
        soft_reboot_timeout=float(opts.soft_reboot_timeout),
        qemu_binary=str(opts.qemu_binary or ""),
        vnc_listen=str(opts.vnc_listen),
        vnc_port_min=int(opts.vnc_port_min),
        vnc_port_max=int(opts.vnc_port_max),
        vnc_websocket_offset=int(opts.vnc_websocket_offset),
        host_namespace=str(opts.host_namespace or ""),
    )


def from_conf(hostname: str, conf: Any, image_client: Any) -> QemuDriver:
    """The driver of this machine (``image_client``: compute's image service client)."""
    return QemuDriver(hostname, settings_from_conf(conf), ServiceImageSource(image_client))


def qemu_driver(deps: Any, host: str) -> QemuDriver:
    """``compute_driver`` factory: the QEMU driver for this machine (``host``)."""
    usable, why = available(str(deps.opts.qemu_binary or ""))
    if not usable:
        raise DriverError(f"the QEMU driver cannot run here: {why}")
    LOG.info("compute host %s: QEMU driver (%s)", host, why)
    return from_conf(host, deps.conf, deps.image)


def auto_driver(deps: Any, host: str) -> ComputeDriver:
    """``compute_driver`` factory: QEMU when this machine can run it, else a fake host."""
    usable, why = available(str(deps.opts.qemu_binary or ""))
    if usable:
        LOG.info("compute host %s: QEMU driver (%s)", host, why)
        return from_conf(host, deps.conf, deps.image)
    LOG.warning("compute host %s: the fake driver, because %s", host, why)
    return FakeDriver(host)
