"""The QEMU driver's :class:`Machines` with libvirt starting and stopping the QEMUs.

Each instance is a persistent libvirt domain named ``<domain_prefix><uuid>`` whose uuid is
the instance's; its directory, definition, disks, taps and console log are the QEMU
driver's (see :mod:`.domain`). What changes is who runs QEMU: a start redefines the domain
from the definition and creates it, a stop is ``virDomainShutdown`` then
``virDomainDestroy``, a suspend is ``virDomainSave`` to the instance's ``memory.state``
and its resume ``virDomainRestore`` from it. Volume secrets are libvirt secrets (private,
uuid derived from the instance and the volume), defined before the domain uses them. A
volume swap is a block copy onto the new volume and a pivot (:meth:`mirror_volume`).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import threading
import time
import uuid as uuidlib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from tinystack.compute.virt.driver import DriverError, DriverNotSupported, InstanceNotOnHost
from tinystack.compute.virt.libvirt import connection
from tinystack.compute.virt.libvirt.domain import (
    alias_of,
    domain_xml,
    free_device,
    nic_xml,
    volume_disk,
)
from tinystack.compute.virt.qemu import net, process
from tinystack.compute.virt.qemu.definition import (
    CONSOLE_LOG,
    PIDFILE,
    STATE_FILE,
    Definition,
    Nic,
    serial_socket_path,
)
from tinystack.compute.virt.qemu.machine import Machines, press_power_button, trim_console
from tinystack.compute.virt.qemu.settings import QemuSettings
from tinystack.compute.virt.qemu.volumes import MIRROR_TIMEOUT, VolumeDisk, secret

LOG = logging.getLogger(__name__)
#: libvirt domain state -> the QMP status the QEMU driver's code asks about
STATE_STATUS = {1: "running", 2: "running", 3: "paused", 4: "running", 6: "guest-panicked",
                7: "suspended"}  # fmt: skip
#: where the system libvirtd keeps its QEMUs' pidfiles
RUN_DIR = Path("/run/libvirt/qemu")
SECRET_NAMESPACE = uuidlib.UUID("5b0f3c52-2c4e-4f5e-9d0e-7f7e0d6f1a11")
#: the libvirt version that block-copies a persistent domain's disk (``TRANSIENT_JOB``)
TRANSIENT_JOB_LIBVIRT = 6_000_000


class LibvirtMachines(Machines):
    """Start, stop and find the libvirt domains of one host's instances."""

    def __init__(
        self,
        hostname: str,
        settings: QemuSettings,
        binary: str,
        uri: str,
        prefix: str,
        run_dir: Path = RUN_DIR,
    ) -> None:
        """``run_dir``: where the libvirtd keeps its QEMUs' pidfiles (its
        ``/run/libvirt/qemu``, seen from here)."""
        super().__init__(hostname, settings, binary)
        self.uri = uri
        self.prefix = prefix
        self.run_dir = run_dir
        self._conn: Any = None
        self._conn_lock = threading.Lock()

    # -- the connection and the domains --------------------------------------------------------
    def conn(self) -> Any:
        with self._conn_lock:
            if self._conn is None or not self._conn.isAlive():
                self._conn = connection.open_connection(self.uri)
            return self._conn

    def close(self) -> None:
        with self._conn_lock:
            if self._conn is not None:
                connection.close_quietly(self._conn)
                self._conn = None

    def name(self, uuid: str) -> str:
        return f"{self.prefix}{uuid}"

    def domain(self, uuid: str) -> Any | None:
        """The instance's domain, None when libvirt has none."""
        lib = connection.bindings()
        try:
            return self.conn().lookupByName(self.name(uuid))
        except lib.libvirtError as exc:
            if exc.get_error_code() == lib.VIR_ERR_NO_DOMAIN:
                return None
            raise DriverError(f"libvirt: {exc}") from exc

    def state(self, uuid: str) -> int | None:
        """The domain's libvirt state (``VIR_DOMAIN_*``), None without a domain."""
        dom = self.domain(uuid)
        if dom is None:
            return None
        try:
            return int(dom.state()[0])
        except connection.bindings().libvirtError:
            return None  # undefined meanwhile

    def domain_uuids(self) -> list[str]:
        """The instance uuids of this host's domains (by name prefix and metadata)."""
        found = []
        for dom in self.conn().listAllDomains(0):
            name = str(dom.name())
            if name.startswith(self.prefix) and connection.metadata_host(dom) == self.hostname:
                found.append(name[len(self.prefix) :])
        return sorted(found)

    def pidfile(self, uuid: str) -> Path:
        """libvirt's pidfile of the domain's QEMU (the instance's ``qemu.pid`` links to it)."""
        return self.run_dir / f"{self.name(uuid)}.pid"

    def pid(self, uuid: str) -> int | None:
        """The domain's QEMU, if it lives (libvirt notices a killed QEMU a little later)."""
        if self.state(uuid) in (None, 5):  # VIR_DOMAIN_SHUTOFF
            return None
        return process.find(self.pidfile(uuid), uuid)

    def status(self, defn: Definition) -> str | None:
        return STATE_STATUS.get(self.state(defn.uuid) or 0)

    # -- secrets -------------------------------------------------------------------------------
    def secret_uuid(self, uuid: str, disk: VolumeDisk) -> str:
        return str(uuidlib.uuid5(SECRET_NAMESPACE, f"{uuid}/{disk.data_key}"))

    def define_secrets(self, defn: Definition) -> dict[str, str]:
        """The libvirt secrets of the definition's volumes (volume key -> secret uuid)."""
        return {
            disk.key: self.define_secret(defn.uuid, disk)
            for disk in defn.volume_disks()
            if secret(disk) is not None
        }

    def define_secret(self, uuid: str, disk: VolumeDisk) -> str:
        value = secret(disk) or ""
        ident = self.secret_uuid(uuid, disk)
        usage = "ceph" if disk.kind == "rbd" else "iscsi"
        tag = "name" if usage == "ceph" else "target"
        xml = (
            f"<secret ephemeral='no' private='yes'><uuid>{ident}</uuid>"
            f"<usage type='{usage}'><{tag}>{self.prefix}{ident}</{tag}></usage></secret>"
        )
        found = self.conn().secretDefineXML(xml, 0)
        raw = base64.b64decode(value) if usage == "ceph" else value.encode()
        found.setValue(raw, 0)
        return ident

    def remove_secret(self, uuid: str, disk: VolumeDisk) -> None:
        lib = connection.bindings()
        try:
            self.conn().secretLookupByUUIDString(self.secret_uuid(uuid, disk)).undefine()
        except lib.libvirtError:
            pass  # never defined (or gone already)

    # -- start and stop ------------------------------------------------------------------------
    def start(
        self, defn: Definition, incoming: Path | None = None, defer_incoming: bool = False
    ) -> int:
        if defer_incoming:  # libvirt's migration starts the destination's QEMU itself
            raise DriverError("the libvirt driver's live migrations go through libvirt")
        if self.pid(defn.uuid) is not None:
            raise DriverError(f"instance {defn.uuid} already runs")
        if self.state(defn.uuid) not in (None, 5):
            self.kill(defn.uuid)  # its QEMU died and libvirt has not noticed yet
        lib = connection.bindings()
        with self._ports_lock:
            xml = self._prepare(defn)
            try:
                conn = self.conn()
                conn.defineXML(xml)
                if incoming is not None:
                    conn.restoreFlags(str(incoming), None, lib.VIR_DOMAIN_SAVE_RUNNING)
                    incoming.unlink(missing_ok=True)
                else:
                    conn.lookupByName(self.name(defn.uuid)).create()
            except lib.libvirtError as exc:
                raise DriverError(f"libvirt cannot start {defn.uuid}: {exc}") from exc
        return self.pid(defn.uuid) or 0

    def _prepare(self, defn: Definition) -> str:
        """Taps, sockets, VNC port, secrets and the saved definition of a guest about to
        run here; its domain XML (also kept as the instance's ``domain.xml``)."""
        directory = self.dir(defn.uuid)
        for nic in defn.nics:
            net.ensure_tap(nic.tap, nic.mac, self.settings.host_namespace)
        trim_console(directory / CONSOLE_LOG)
        if not defn.serial_socket:
            short = self.settings.short_socket_dir
            defn.serial_socket = serial_socket_path(directory, defn.uuid, short)
        for sock in (defn.qmp_socket, defn.qmp_events_socket, defn.serial_socket):
            Path(sock).parent.mkdir(parents=True, exist_ok=True)
            Path(sock).unlink(missing_ok=True)
        self.ensure_vnc_port(defn)
        defn.save(directory)
        xml = domain_xml(
            defn,
            directory,
            name=self.name(defn.uuid),
            host=self.hostname,
            binary=self.binary,
            accel=self.accel(),
            vnc_listen=self.settings.vnc_listen,
            websocket_offset=self.settings.vnc_websocket_offset,
            secrets=self.define_secrets(defn),
        )
        (directory / "domain.xml").write_text(xml + "\n")
        (directory / PIDFILE).unlink(missing_ok=True)
        (directory / PIDFILE).symlink_to(self.pidfile(defn.uuid))
        return xml

    def prepare_incoming(self, defn: Definition) -> str:
        """A live migration's destination: everything :meth:`start` readies, no domain
        (libvirt's migration defines and starts it); the domain XML it gets here."""
        with self._ports_lock:
            return self._prepare(defn)

    def set_metadata(self, defn: Definition) -> None:
        """Name this host in the domain's tinystack metadata (live and persistent)."""
        lib = connection.bindings()
        xml = ET.fromstring(self.dir(defn.uuid).joinpath("domain.xml").read_text())
        meta = xml.find(f"metadata/{{{connection.XMLNS}}}instance")
        if meta is None:
            raise DriverError(f"instance {defn.uuid}: its domain.xml has no metadata")
        # libvirt puts the element into the namespace itself (its children unqualified)
        for elem in meta.iter():
            elem.tag = elem.tag.rpartition("}")[2]
        flags = lib.VIR_DOMAIN_AFFECT_LIVE | lib.VIR_DOMAIN_AFFECT_CONFIG
        body = ET.tostring(meta, encoding="unicode")
        self._call(defn, "setMetadata", lib.VIR_DOMAIN_METADATA_ELEMENT, body, "tinystack",
                   connection.XMLNS, flags)  # fmt: skip

    def kill(self, uuid: str) -> None:
        dom = self.domain(uuid)
        if dom is not None and dom.isActive():
            try:
                dom.destroy()
            except connection.bindings().libvirtError as exc:
                if dom.isActive():
                    raise DriverError(f"libvirt cannot stop {uuid}: {exc}") from exc

    def undefine(self, uuid: str) -> None:
        """Stop and forget the domain (a missing one is fine)."""
        self.kill(uuid)
        dom = self.domain(uuid)
        if dom is not None:
            lib = connection.bindings()
            try:
                dom.undefineFlags(lib.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
            except lib.libvirtError as exc:
                if self.domain(uuid) is not None:
                    raise DriverError(f"libvirt cannot undefine {uuid}: {exc}") from exc

    def shutdown(self, defn: Definition, timeout: float) -> bool:
        """ACPI power button (``virDomainShutdown``), wait up to ``timeout``, then destroy."""
        dom = self.domain(defn.uuid)
        if dom is None or not dom.isActive():
            return True
        clean = False
        lib = connection.bindings()
        if timeout > 0 and self.status(defn) == "running":
            try:
                clean = press_power_button(
                    lambda: dom.shutdownFlags(lib.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN),
                    lambda wait: _inactive_within(dom, wait),
                    timeout,
                    (lib.libvirtError,),
                )
                if not clean:
                    LOG.info("instance %s: still running %.0fs after the power button; destroyed",
                             defn.uuid, timeout)  # fmt: skip
            except lib.libvirtError as exc:
                LOG.info("instance %s: ACPI power-off failed: %s", defn.uuid, exc)
        if not clean:
            self.kill(defn.uuid)
        self.cleanup_sockets(defn)
        return clean

    def save_state(self, uuid: str) -> None:
        """``virDomainSave`` to ``memory.state``: the domain stops, its definition stays."""
        with self.locked(uuid):
            defn = self.running(uuid)
            directory = self.dir(uuid)
            part = directory / f".{STATE_FILE}.part"
            part.unlink(missing_ok=True)
            dom = self.domain(uuid)
            lib = connection.bindings()
            try:
                if dom is None:
                    raise InstanceNotOnHost(f"instance {uuid} has no domain")
                dom.save(str(part))
            except lib.libvirtError as exc:
                part.unlink(missing_ok=True)
                raise DriverError(f"saving {uuid} failed: {exc}") from exc
            os.replace(part, directory / STATE_FILE)
            self.cleanup_sockets(defn)

    # -- what the guest is told ----------------------------------------------------------------
    def _call(self, defn: Definition, what: str, *args: Any) -> Any:
        dom = self.domain(defn.uuid)
        if dom is None:
            raise InstanceNotOnHost(f"instance {defn.uuid} has no domain on {self.hostname}")
        try:
            return getattr(dom, what)(*args)
        except connection.bindings().libvirtError as exc:
            raise DriverError(f"libvirt {what} of {defn.uuid} failed: {exc}") from exc

    def pause(self, defn: Definition) -> None:
        self._call(defn, "suspend")

    def cont(self, defn: Definition) -> None:
        self._call(defn, "resume")

    def reset(self, defn: Definition) -> None:
        self._call(defn, "reset", 0)

    def inject_nmi(self, defn: Definition) -> None:
        self._call(defn, "injectNMI", 0)

    def _live(self) -> int:
        return int(connection.bindings().VIR_DOMAIN_AFFECT_LIVE)

    def _wait_gone(self, defn: Definition, alias: str, what: str) -> None:
        """Wait until the guest released the device named ``alias`` (20 s)."""
        deadline = time.monotonic() + 20
        while f"'{alias}'" in self._call(defn, "XMLDesc", 0):
            if time.monotonic() > deadline:
                raise DriverError(f"the guest did not release {what} in time")
            time.sleep(0.1)

    def plug_nic(self, defn: Definition, nic: Nic) -> None:
        self._call(defn, "attachDeviceFlags", nic_xml(nic), self._live())

    def unplug_nic(self, defn: Definition, nic: Nic) -> None:
        self._call(defn, "detachDeviceFlags", nic_xml(nic), self._live())
        self._wait_gone(defn, f"ua-{nic.device_id}", f"interface {nic.port_id}")

    def plug_volume(self, defn: Definition, disk: VolumeDisk) -> None:
        ident = self.define_secret(defn.uuid, disk) if secret(disk) is not None else None
        dev = free_device(self._call(defn, "XMLDesc", 0))
        try:
            self._call(defn, "attachDeviceFlags", volume_disk(disk, dev, ident, None), self._live())
        except DriverError:
            self.remove_secret(defn.uuid, disk)
            raise

    def _live_disk(self, defn: Definition, disk: VolumeDisk) -> str | None:
        """The running domain's ``<disk>`` of the volume (by its alias), None without one."""
        root = ET.fromstring(self._call(defn, "XMLDesc", 0))
        for elem in root.iter("disk"):
            alias = elem.find("alias")
            if alias is not None and alias.get("name") == alias_of(disk):
                return ET.tostring(elem, encoding="unicode")
        return None

    def unplug_volume(self, defn: Definition, disk: VolumeDisk) -> None:
        found = self._live_disk(defn, disk)
        if found is not None:
            self._call(defn, "detachDeviceFlags", found, self._live())
            self._wait_gone(defn, alias_of(disk), f"volume {disk.serial}")
        self.remove_secret(defn.uuid, disk)

    def resize_volume(self, defn: Definition, disk: VolumeDisk, size: int) -> VolumeDisk:
        """``virDomainBlockResize`` of the volume's disk (the guest is told of the new size);
        an NBD connection keeps the size it opened with, and libvirt cannot reopen it."""
        if disk.kind == "nbd":
            raise DriverNotSupported("the libvirt driver cannot grow an attached NBD volume")
        found = self._live_disk(defn, disk)
        if found is None:
            raise DriverError(f"volume {disk.serial} is not plugged into {defn.uuid}")
        target = ET.fromstring(found).find("target")
        dev = target.get("dev", "") if target is not None else ""
        flags = connection.bindings().VIR_DOMAIN_BLOCK_RESIZE_BYTES
        self._call(defn, "blockResize", dev, size, flags)
        return disk

    def mirror_volume(self, defn: Definition, old: VolumeDisk, new: VolumeDisk) -> None:
        """``virDomainBlockCopy`` of the volume's disk onto the new volume, wait until the
        mirror is ready, then pivot (``virDomainBlockJobAbort`` with ``PIVOT``): the guest
        keeps its device, now on the new volume, and the persistent definition names the
        new volume too.

        The copy is a full one onto an existing volume (``REUSE_EXT``, not ``SHALLOW``: the
        new volume shares no backing chain with the old). libvirt copies a persistent
        domain's disk only as a ``TRANSIENT_JOB`` (libvirt 6.0 on; Nova undefines the
        domain around the copy instead): such a job would not survive a managed save, which
        the instance's lock, held throughout, rules out. An older libvirt is refused."""
        lib = connection.bindings()
        if not swaps_volumes(self.conn()):
            raise DriverNotSupported("swapping volumes needs libvirt 6.0 or later")
        found = self._live_disk(defn, old)
        if found is None:
            raise DriverError(f"volume {old.serial} is not plugged into {defn.uuid}")
        target = ET.fromstring(found).find("target")
        dev = target.get("dev", "") if target is not None else ""
        ident = self.secret_uuid(defn.uuid, new) if secret(new) is not None else None
        dest = volume_disk(new, dev, ident, None)  # what libvirt cannot open is refused here
        try:
            if ident is not None:
                self.define_secret(defn.uuid, new)
            flags = lib.VIR_DOMAIN_BLOCK_COPY_REUSE_EXT | lib.VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB
            self._call(defn, "blockCopy", dev, dest, None, flags)
            try:
                self._await_mirror(defn, dev, old)
                self._call(defn, "blockJobAbort", dev, lib.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT)
            except DriverError:
                with contextlib.suppress(lib.libvirtError, DriverError):
                    self._call(defn, "blockJobAbort", dev, 0)
                raise
        except DriverError:
            self.remove_secret(defn.uuid, new)
            raise
        try:
            self._persist_disk(defn, old, dest)
        except DriverError as exc:  # the next start defines the domain from the definition
            LOG.warning("instance %s: the persistent domain keeps the old volume: %s",
                        defn.uuid, exc)  # fmt: skip
        self.remove_secret(defn.uuid, old)

    def _await_mirror(self, defn: Definition, dev: str, disk: VolumeDisk) -> None:
        """Wait until the copy job of ``dev`` is ready to pivot (its ``<mirror>`` says so)."""
        deadline = time.monotonic() + MIRROR_TIMEOUT
        while True:
            if not self._call(defn, "blockJobInfo", dev, 0):
                raise DriverError(f"the copy of volume {disk.serial} ended before it was ready")
            live = ET.fromstring(self._live_disk(defn, disk) or "<disk/>")
            mirror = live.find("mirror")
            if mirror is not None and mirror.get("ready") == "yes":
                return
            if time.monotonic() > deadline:
                raise DriverError(f"the copy of volume {disk.serial} was not ready in time")
            time.sleep(0.2)

    def _persist_disk(self, defn: Definition, disk: VolumeDisk, dest: str) -> None:
        """Make the persistent definition's disk of ``disk`` (by alias) ``dest``, unless
        libvirt did so at the pivot already."""
        lib = connection.bindings()
        inactive = ET.fromstring(self._call(defn, "XMLDesc", lib.VIR_DOMAIN_XML_INACTIVE))
        wanted = _source(ET.fromstring(dest))
        for elem in inactive.iter("disk"):
            alias = elem.find("alias")
            if alias is None or alias.get("name") != alias_of(disk):
                continue
            if _source(elem) != wanted:
                LOG.info("instance %s: persisting volume %s's new source", defn.uuid, disk.serial)
                flags = lib.VIR_DOMAIN_AFFECT_CONFIG
                self._call(defn, "updateDeviceFlags", dest, flags)
            return


def _source(disk: ET.Element) -> tuple[str | None, ...]:
    """What names a ``<disk>``'s source (its file, or its protocol and name)."""
    found = disk.find("source")
    if found is None:
        return ()
    return tuple(found.get(k) for k in ("file", "dev", "protocol", "name"))


def swaps_volumes(conn: Any) -> bool:
    """Whether the libvirtd (and the bindings) copy a persistent domain's disk."""
    lib = connection.bindings()
    has_flag = hasattr(lib, "VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB")
    return has_flag and int(conn.getLibVersion()) >= TRANSIENT_JOB_LIBVIRT


def _inactive_within(dom: Any, seconds: float) -> bool:
    """Whether the domain stops running within ``seconds``."""
    deadline = time.monotonic() + seconds
    while dom.isActive():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True
