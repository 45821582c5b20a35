"""libvirt's Python bindings and connections to a libvirtd.

The bindings are Debian's ``python3-libvirt`` (the ``libvirtmod`` extension and the
``libvirt`` module over it), loaded into the virtualenv as the Ceph ones are. A connection
is opened per driver and reopened when libvirtd restarted; :func:`usable` says whether a
libvirtd answers at an URI (``tinystack doctor``, the tests' skip).
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from types import ModuleType
from typing import Any

from tinystack.common import distpackages
from tinystack.compute.virt.driver import DriverError

PACKAGE = "python3-libvirt"
#: the namespace of tinystack's ``<metadata>`` element in its domains
XMLNS = "https://tinystack.dev/xmlns/libvirt/instance/1.0"

_LOADED: list[ModuleType] = []


def bindings() -> Any:
    """The ``libvirt`` module (DriverError when it is not installed)."""
    if not _LOADED:
        try:
            distpackages.module("libvirtmod", PACKAGE)
            found = distpackages.module("libvirt", PACKAGE)
        except ImportError as exc:
            raise DriverError(f"the libvirt bindings do not load: {exc}") from exc
        # errors go to exceptions, not to libvirt's default printing on stderr
        found.registerErrorHandler(lambda _ctx, _err: None, None)
        _LOADED.append(found)
    return _LOADED[0]


def open_connection(uri: str) -> Any:
    lib = bindings()
    try:
        return lib.open(uri)
    except lib.libvirtError as exc:
        raise DriverError(f"cannot connect to libvirt at {uri}: {exc}") from exc


def close_quietly(conn: Any) -> None:
    with contextlib.suppress(Exception):
        conn.close()


def metadata_host(dom: Any) -> str:
    """The host a domain's tinystack metadata names ("" when it has none)."""
    lib = bindings()
    try:
        xml = dom.metadata(lib.VIR_DOMAIN_METADATA_ELEMENT, XMLNS, 0)
    except lib.libvirtError:
        return ""
    found = ET.fromstring(xml).find(f"{{{XMLNS}}}host")
    if found is None:
        found = ET.fromstring(xml).find("host")
    return (found.text or "") if found is not None else ""


def usable(uri: str) -> tuple[bool, str]:
    """(usable, why): the bindings load and a libvirtd with the QEMU driver answers."""
    try:
        conn = open_connection(uri)
    except DriverError as exc:
        return False, str(exc)
    try:
        version = int(conn.getVersion())
        lib_version = int(bindings().getVersion())
    except Exception as exc:
        return False, f"libvirt at {uri} does not answer: {exc}"
    finally:
        close_quietly(conn)
    qemu = f"{version // 1000000}.{version // 1000 % 1000}.{version % 1000}"
    lib = f"{lib_version // 1000000}.{lib_version // 1000 % 1000}.{lib_version % 1000}"
    return True, f"libvirt {lib} at {uri}, QEMU {qemu}"
