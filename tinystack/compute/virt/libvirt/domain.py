"""An instance's libvirt domain XML, made from the QEMU driver's :class:`Definition`.

The definition in ``<instances>/<uuid>/instance.json`` stays the one description of a guest
(the same file the QEMU driver keeps); the domain is redefined from it at every start, so
``virsh dumpxml`` always shows what tinystack asked for. The domain carries tinystack's
metadata (the instance uuid, the host and the instance directory) in its own XML
namespace, which is how a restarted agent finds its domains.

Disks are the QEMU driver's, in its order (rescue, root or boot volume, ephemeral, swap,
volumes, stable rescue); volumes become ``<disk>`` elements by ``driver_volume_type``
(``file``, ``nbd``, ``iscsi``, ``rbd``) with Cinder's front-end QoS as ``<iotune>`` (the
key names are libvirt's); secrets (CHAP passwords, cephx keys) are libvirt secrets the
machine layer defines, referenced by uuid. NICs are ``ethernet`` interfaces on the tap the
QEMU driver's :mod:`~tinystack.compute.virt.qemu.net` made (``managed='no'``). The serial
port is the QEMU driver's unix socket with ``console.log`` kept by virtlogd; the instance's
two QMP sockets are extra monitors on QEMU's command line, so diagnostics and telemetry
read the guest as they do under the QEMU driver (libvirt marks the domain ``custom-argv``).
QEMU runs as root without relabelling (a ``dac`` seclabel): the instance directory and
the image cache stay tinystack's.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from tinystack.compute.virt.driver import DriverError, DriverNotSupported
from tinystack.compute.virt.libvirt.connection import XMLNS
from tinystack.compute.virt.qemu.definition import (
    CONFIG_DRIVE,
    CONSOLE_LOG,
    EPHEMERAL_DISK,
    RESCUE_DISK,
    ROOT_DISK,
    SWAP_DISK,
    Definition,
    Nic,
    stable_rescue,
)
from tinystack.compute.virt.qemu.volumes import QOS_LIMITS, VolumeDisk

QEMU_XMLNS = "http://libvirt.org/schemas/domain/qemu/1.0"
#: (hw_rescue_bus, hw_rescue_device) -> libvirt target bus
RESCUE_BUS = {
    ("virtio", "disk"): "virtio",
    ("scsi", "disk"): "scsi",
    ("scsi", "cdrom"): "scsi",
    ("usb", "disk"): "usb",
    ("ide", "disk"): "ide",
    ("ide", "cdrom"): "ide",
}
BUS_PREFIX = {"virtio": "vd", "scsi": "sd", "usb": "sd", "ide": "hd"}


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, {k.rstrip("_"): v for k, v in attrs.items()})
    if text is not None:
        child.text = text
    return child


def device_name(prefix: str, n: int) -> str:
    return prefix + chr(ord("a") + n)


def _file_disk(devices: ET.Element, path: Path, fmt: str, dev: str, bus: str = "virtio",
               device: str = "disk", boot: int | None = None) -> ET.Element:  # fmt: skip
    disk = _sub(devices, "disk", type="file", device=device)
    _sub(disk, "driver", name="qemu", type=fmt)
    _sub(disk, "source", file=str(path))
    _sub(disk, "target", dev=dev, bus=bus)
    if boot is not None:
        _sub(disk, "boot", order=str(boot))
    return disk


def _first(values: Any) -> Any:
    if isinstance(values, list | tuple):
        return values[0] if values else None
    return values


def volume_disk(disk: VolumeDisk, dev: str, secret_uuid: str | None, boot: int | None) -> str:
    """The ``<disk>`` of an attached volume (``secret_uuid``: its libvirt secret, when the
    connection needs one)."""
    data, kind = disk.data, disk.kind
    fmt = str(data.get("format") or "raw")
    if kind in ("file", "local"):
        path = data.get("device_path") or data.get("path")
        if not path:
            raise DriverError(f"volume {disk.serial}: a {kind} connection without a device_path")
        elem = ET.Element("disk", type="file", device="disk")
        _sub(elem, "driver", name="qemu", type=fmt, cache="none", io="native")
        _sub(elem, "source", file=str(path))
    elif kind in ("nbd", "iscsi", "rbd"):
        elem = ET.Element("disk", type="network", device="disk")
        _sub(elem, "driver", name="qemu", type=fmt, cache="none")
        _network_source(elem, disk, secret_uuid)
    else:
        raise DriverNotSupported(f"volume {disk.serial}: driver_volume_type {kind!r}")
    _sub(elem, "target", dev=dev, bus="virtio")
    _sub(elem, "serial", disk.serial[:20])
    _sub(elem, "alias", name=alias_of(disk))
    if boot is not None:
        _sub(elem, "boot", order=str(boot))
    if disk.read_only:
        _sub(elem, "readonly")
    if disk.shared:
        _sub(elem, "shareable")
    specs = data.get("qos_specs")
    if isinstance(specs, dict) and disk.limits:
        iotune = _sub(elem, "iotune")
        for name in QOS_LIMITS:
            if name in specs and specs[name] not in (None, "", 0, "0"):
                _sub(iotune, name, str(int(float(specs[name]))))
    return ET.tostring(elem, encoding="unicode")


def _network_source(elem: ET.Element, disk: VolumeDisk, secret_uuid: str | None) -> None:
    data, kind = disk.data, disk.kind
    if kind == "nbd":
        export = data.get("export_name") or data.get("export") or data.get("name")
        source = _sub(elem, "source", protocol="nbd", **({"name": str(export)} if export else {}))
        if data.get("path"):
            _sub(source, "host", transport="unix", socket=str(data["path"]))
            return
        host = data.get("host") or _first(data.get("hosts"))
        if not host:
            raise DriverError(f"volume {disk.serial}: an nbd connection without a server")
        port = data.get("port") or _first(data.get("ports")) or 10809
        _sub(source, "host", name=str(host), port=str(port))
        return
    if kind == "iscsi":
        portal = str(data.get("target_portal") or _first(data.get("target_portals")) or "")
        iqn = data.get("target_iqn") or _first(data.get("target_iqns"))
        lun = int(data.get("target_lun", _first(data.get("target_luns"))) or 0)
        if not portal or not iqn:
            raise DriverError(f"volume {disk.serial}: an iscsi connection without portal/iqn")
        host, _, port = portal.rpartition(":") if ":" in portal else (portal, "", "3260")
        source = _sub(elem, "source", protocol="iscsi", name=f"{iqn}/{lun}")
        _sub(source, "host", name=host.strip("[]"), port=port or "3260")
        if disk.initiator:
            _sub(_sub(source, "initiator"), "iqn", name=disk.initiator)
        if secret_uuid:
            auth = _sub(source, "auth", username=str(data.get("auth_username") or ""))
            _sub(auth, "secret", type="iscsi", uuid=secret_uuid)
        return
    pool, _, image = str(data.get("name") or "").partition("/")
    if not pool or not image:
        raise DriverError(f"volume {disk.serial}: an rbd connection without pool/image")
    source = _sub(elem, "source", protocol="rbd", name=f"{pool}/{image}")
    ports = list(data.get("ports") or [])
    for i, h in enumerate(data.get("hosts") or []):
        _sub(source, "host", name=str(h), port=str(ports[i] if i < len(ports) else 6789))
    if secret_uuid:
        auth = _sub(source, "auth", username=str(data.get("auth_username") or ""))
        _sub(auth, "secret", type="ceph", uuid=secret_uuid)


def alias_of(disk: VolumeDisk) -> str:
    """The user alias libvirt names a volume's device by (``ua-`` prefixed)."""
    return f"ua-{disk.device_id}"


def nic_xml(nic: Nic) -> str:
    """The ``<interface>`` of a NIC: the port's tap, made by the driver (not libvirt)."""
    elem = ET.Element("interface", type="ethernet")
    _sub(elem, "mac", address=nic.mac)
    _sub(elem, "target", dev=nic.tap, managed="no")
    _sub(elem, "model", type="virtio")
    _sub(elem, "alias", name=f"ua-{nic.device_id}")
    return ET.tostring(elem, encoding="unicode")


def free_device(live_xml: str) -> str:
    """The first virtio disk name the running domain does not use."""
    taken = {t.get("dev") for t in ET.fromstring(live_xml).iter("target")}
    free = [device_name("vd", n) for n in range(26) if device_name("vd", n) not in taken]
    if not free:
        raise DriverError("the guest has no free virtio disk name left")
    return free[0]


def domain_xml(
    defn: Definition,
    directory: Path,
    *,
    name: str,
    host: str,
    binary: str,
    accel: str,
    vnc_listen: str,
    websocket_offset: int,
    secrets: dict[str, str],
) -> str:
    """The domain of the instance (``secrets``: volume key -> libvirt secret uuid)."""
    ET.register_namespace("qemu", QEMU_XMLNS)
    ET.register_namespace("tinystack", XMLNS)
    dom = ET.Element("domain", type="kvm" if accel == "kvm" else "qemu")
    _sub(dom, "name", name)
    _sub(dom, "uuid", defn.uuid)
    _sub(dom, "title", defn.name)
    meta = _sub(_sub(dom, "metadata"), f"{{{XMLNS}}}instance")
    _sub(meta, f"{{{XMLNS}}}uuid", defn.uuid)
    _sub(meta, f"{{{XMLNS}}}host", host)
    _sub(meta, f"{{{XMLNS}}}directory", str(directory))
    _sub(dom, "memory", str(defn.memory_mb), unit="MiB")
    _sub(dom, "vcpu", str(defn.vcpus))
    os_ = _sub(dom, "os")
    _sub(os_, "type", "hvm", arch="x86_64", machine="pc")
    _sub(_sub(dom, "features"), "acpi")
    _sub(dom, "cpu", mode="host-passthrough" if accel == "kvm" else "maximum")
    _sub(dom, "clock", offset="utc")
    _sub(dom, "on_poweroff", "destroy")
    _sub(dom, "on_reboot", "restart")
    _sub(dom, "on_crash", "destroy")
    devices = _sub(dom, "devices")
    _sub(devices, "emulator", binary)
    _disks(devices, defn, defn.disk_dir(directory), secrets)
    if defn.user_network:
        iface = _sub(devices, "interface", type="user")
        _sub(iface, "model", type="virtio")
    for nic in defn.nics:
        devices.append(ET.fromstring(nic_xml(nic)))
    serial = _sub(devices, "serial", type="unix")
    _sub(serial, "source", mode="bind", path=defn.serial_socket)
    _sub(serial, "log", file=str(directory / CONSOLE_LOG), append="on")
    _sub(serial, "target", port="0")
    if defn.vnc_port is not None:
        graphics = _sub(devices, "graphics", type="vnc", port=str(defn.vnc_port),
                        autoport="no", websocket=str(defn.vnc_port + websocket_offset),
                        listen=vnc_listen)  # fmt: skip
        _sub(graphics, "listen", type="address", address=vnc_listen)
        _sub(_sub(devices, "video"), "model", type="vga")
    else:
        _sub(_sub(devices, "video"), "model", type="none")
    _sub(devices, "memballoon", model="none")
    label = _sub(dom, "seclabel", type="static", model="dac", relabel="no")
    _sub(label, "label", "+0:+0")
    commandline = _sub(dom, f"{{{QEMU_XMLNS}}}commandline")
    for sock, ident in ((defn.qmp_socket, "tsqmp"), (defn.qmp_events_socket, "tsqmpev")):
        for arg in ("-chardev", f"socket,id={ident},path={sock},server=on,wait=off",
                    "-mon", f"chardev={ident},mode=control"):  # fmt: skip
            _sub(commandline, f"{{{QEMU_XMLNS}}}arg", value=arg)
    return ET.tostring(dom, encoding="unicode")


def _disks(devices: ET.Element, defn: Definition, d: Path, secrets: dict[str, str]) -> None:
    boot = defn.boot_volume
    disks: list[tuple[Path, str] | VolumeDisk] = []
    stable = stable_rescue(defn.rescue)
    if defn.rescue and stable is None:
        disks.append((d / RESCUE_DISK, "qcow2"))
    disks.append(boot if boot is not None else (d / ROOT_DISK, "qcow2"))
    if defn.ephemeral:
        disks.append((d / EPHEMERAL_DISK, "raw"))
    if defn.swap:
        disks.append((d / SWAP_DISK, "raw"))
    disks += [v for v in defn.volume_disks() if not v.boot]
    for n, disk in enumerate(disks):
        first = n == 0 and stable is None
        order = 1 if first and not (defn.boot_iso and not defn.rescue) else None
        dev = device_name("vd", n)
        if isinstance(disk, VolumeDisk):
            devices.append(ET.fromstring(volume_disk(disk, dev, secrets.get(disk.key), order)))
        else:
            _file_disk(devices, disk[0], disk[1], dev, boot=order)
    if defn.boot_iso and defn.base and not defn.rescue:
        cd = _file_disk(devices, Path(defn.base), "raw", "hda", "ide", "cdrom", 1)
        _sub(cd, "readonly")
    if defn.config_drive:
        cd = _file_disk(devices, d / CONFIG_DRIVE, "raw", "hdc", "ide", "cdrom")
        _sub(cd, "readonly")
    if stable is not None:
        bus = RESCUE_BUS.get(stable)
        if bus is None:
            raise DriverError(f"a rescue {stable[1]} on the {stable[0]} bus is not supported")
        if bus == "scsi":
            _sub(devices, "controller", type="scsi", model="virtio-scsi")
        if bus == "usb":
            _sub(devices, "controller", type="usb", model="qemu-xhci")
        n = len(disks) if bus == "virtio" else 0
        dev = "hdd" if bus == "ide" else device_name(BUS_PREFIX[bus], n)
        _file_disk(devices, d / RESCUE_DISK, "qcow2", dev, bus, stable[1], 1)
