"""The domain XML a live-migrated guest gets on its destination (upstream's
``nova.virt.libvirt.migration.get_updated_guest_xml``).

libvirt migrates the running domain as it is: its devices, their PCI addresses and the
devices hot-plugged since it started must stay exactly as they are (libvirt checks the
destination XML's ABI against the source's). What differs on the destination is where
things are: this module takes the source's live XML (``VIR_DOMAIN_XML_MIGRATABLE``) and
puts into it, from the domain XML the destination made from its own definition
(:func:`~.domain.domain_xml`), the destination's

- tinystack metadata (the host, the instance directory: adoption after a restart reads
  them) and emulator binary;
- local disk files (matched by file name: ``disk.qcow2``, ``disk.eph0``, ``disk.config``,
  the cached base of an ISO boot), without the source's ``<backingStore>`` (the
  destination's QEMU opens the chain its own overlay names);
- volume sources (matched by the device alias ``ua-<bdm uuid>``): the destination's
  attachment may name another target, its secrets are libvirt secrets there;
- serial socket and console log, VNC port, websocket and listen address;
- extra QMP monitors on QEMU's command line (their sockets are per host).
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from pathlib import PurePath

from tinystack.compute.virt.driver import DriverError
from tinystack.compute.virt.libvirt.connection import XMLNS
from tinystack.compute.virt.libvirt.domain import QEMU_XMLNS


def updated_guest_xml(live_xml: str, dest_xml: str) -> str:
    """The source's live domain XML with the destination's paths, ports and metadata."""
    ET.register_namespace("qemu", QEMU_XMLNS)
    ET.register_namespace("tinystack", XMLNS)
    live, dest = ET.fromstring(live_xml), ET.fromstring(dest_xml)
    if live.findtext("uuid") != dest.findtext("uuid"):
        raise DriverError("the destination's domain is not the guest's")
    _replace_child(live, dest, "metadata")
    devices, dest_devices = _devices(live), _devices(dest)
    emulator = devices.find("emulator")
    if emulator is not None:
        emulator.text = dest_devices.findtext("emulator") or emulator.text
    _update_disks(devices, dest_devices)
    _update_serial(devices, dest_devices)
    _update_graphics(devices, dest_devices)
    _replace_child(live, dest, f"{{{QEMU_XMLNS}}}commandline")
    return ET.tostring(live, encoding="unicode")


def _devices(root: ET.Element) -> ET.Element:
    found = root.find("devices")
    if found is None:
        raise DriverError("a domain XML without devices")
    return found


def _replace_child(live: ET.Element, dest: ET.Element, tag: str) -> None:
    """``dest``'s child ``tag`` in place of ``live``'s (added where it had none)."""
    new = dest.find(tag)
    old = live.find(tag)
    if new is None:
        if old is not None:
            live.remove(old)
        return
    if old is None:
        live.append(copy.deepcopy(new))
        return
    live.insert(list(live).index(old), copy.deepcopy(new))
    live.remove(old)


def _alias(disk: ET.Element) -> str:
    alias = disk.find("alias")
    name = alias.get("name", "") if alias is not None else ""
    return name if name.startswith("ua-") else ""


def _update_disks(devices: ET.Element, dest_devices: ET.Element) -> None:
    files: dict[str, ET.Element] = {}
    volumes: dict[str, ET.Element] = {}
    for disk in dest_devices.findall("disk"):
        if _alias(disk):
            volumes[_alias(disk)] = disk
            continue
        source = disk.find("source")
        if disk.get("type") == "file" and source is not None and source.get("file"):
            files[PurePath(source.get("file", "")).name] = disk
    for disk in devices.findall("disk"):
        alias = _alias(disk)
        if alias:
            if alias not in volumes:
                raise DriverError(f"the destination has no volume for the guest's {alias}")
            _take_source(disk, volumes[alias])
            continue
        source = disk.find("source")
        if disk.get("type") != "file" or source is None or not source.get("file"):
            continue  # an empty cdrom
        name = PurePath(source.get("file", "")).name
        if name not in files:
            raise DriverError(f"the destination has no disk {name}")
        new_file = files[name].find("source")
        if new_file is not None and new_file.get("file") != source.get("file"):
            source.set("file", new_file.get("file", ""))
            for backing in disk.findall("backingStore"):
                disk.remove(backing)


def _take_source(disk: ET.Element, new: ET.Element) -> None:
    """The destination's connection of a volume: type, driver, source (hosts, auth)."""
    disk.set("type", new.get("type", disk.get("type", "")))
    for tag in ("driver", "source", "auth", "backingStore"):
        for old in disk.findall(tag):
            disk.remove(old)
    for position, tag in enumerate(("driver", "source", "auth")):
        found = new.find(tag)
        if found is not None:
            disk.insert(position, copy.deepcopy(found))


def _update_serial(devices: ET.Element, dest_devices: ET.Element) -> None:
    """The serial port's socket and log (and the ``<console>`` libvirt made of it)."""
    new = dest_devices.find("serial")
    old = devices.find("serial")
    if new is None or old is None:
        return
    new_source, old_source = new.find("source"), old.find("source")
    if new_source is None or old_source is None:
        return
    path, new_path = old_source.get("path"), new_source.get("path", "")
    new_log = new.find("log")
    for tag in ("serial", "console"):
        for elem in devices.findall(tag):
            source = elem.find("source")
            if source is not None and source.get("path") == path:
                source.set("path", new_path)
            log = elem.find("log")
            if log is not None and new_log is not None:
                log.set("file", new_log.get("file", ""))


def _update_graphics(devices: ET.Element, dest_devices: ET.Element) -> None:
    new = dest_devices.find("graphics")
    old = devices.find("graphics")
    if new is None or old is None:
        return
    for attr in ("port", "websocket", "listen", "autoport"):
        if new.get(attr) is not None:
            old.set(attr, new.get(attr, ""))
    for listen in old.findall("listen"):
        old.remove(listen)
    for position, listen in enumerate(new.findall("listen")):
        old.insert(position, copy.deepcopy(listen))
