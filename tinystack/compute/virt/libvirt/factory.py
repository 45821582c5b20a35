"""``[compute] compute_driver = libvirt``: the libvirt driver from compute's options."""

from __future__ import annotations

import logging
import os
from typing import Any

from tinystack.compute.virt.driver import DriverError
from tinystack.compute.virt.libvirt import connection
from tinystack.compute.virt.libvirt.driver import LibvirtDriver
from tinystack.compute.virt.qemu.factory import settings_of
from tinystack.compute.virt.qemu.imagecache import ServiceImageSource

LOG = logging.getLogger(__name__)


def available(uri: str) -> tuple[bool, str]:
    """(usable, why): root (taps) and a libvirtd answering at ``uri``."""
    if os.geteuid() != 0:
        return False, "not running as root (taps need it)"
    return connection.usable(uri)


def libvirt_driver(deps: Any, host: str) -> LibvirtDriver:
    """``compute_driver`` factory: the libvirt driver for this machine (``host``)."""
    uri = str(deps.opts.libvirt_uri)
    usable, why = available(uri)
    if not usable:
        raise DriverError(f"the libvirt driver cannot run here: {why}")
    LOG.info("compute host %s: libvirt driver (%s)", host, why)
    return LibvirtDriver(
        host,
        settings_of(deps),
        ServiceImageSource(deps.image),
        uri=uri,
        prefix=str(deps.opts.libvirt_domain_prefix),
        migration_uri=str(deps.opts.libvirt_live_migration_uri),
    )
