"""The domain XML a live-migrated guest gets on its destination (no libvirtd needed): the
source's live XML (devices, addresses, hot-plugged disks as they are) with the
destination's metadata, paths, volume sources, sockets and ports."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tinystack.compute.virt.driver import DriverError
from tinystack.compute.virt.libvirt import domain
from tinystack.compute.virt.libvirt.connection import XMLNS
from tinystack.compute.virt.libvirt.domain import QEMU_XMLNS
from tinystack.compute.virt.libvirt.live_migration import local_disk_targets, url_host
from tinystack.compute.virt.libvirt.migration_xml import updated_guest_xml
from tinystack.compute.virt.qemu.definition import Definition
from tinystack.compute.virt.qemu.volumes import VolumeDisk

UUID = "2b8e6d36-6f3c-4a47-a8f2-0f4a3c1e9b10"


def _volume(host: str) -> VolumeDisk:
    return VolumeDisk("vol-nbd-00000000000002", "/dev/vdc", {
        "driver_volume_type": "nbd", "data": {"host": host, "port": 10809, "export_name": "e1"},
    })  # fmt: skip


def _xml(directory: Path, host: str, vnc: int, volume_host: str) -> str:
    defn = Definition(
        uuid=UUID,
        name="instance-x",
        hostname="x",
        flavor={"vcpus": 1, "memory_mb": 256},
        ephemeral=True,
        config_drive=True,
        vnc_port=vnc,
        qmp_socket=str(directory / "qmp.sock"),
        qmp_events_socket=str(directory / "qmp-events.sock"),
        serial_socket=str(directory / "serial.sock"),
    )
    defn.set_volumes([_volume(volume_host)])
    return domain.domain_xml(defn, directory, name="tslm-x", host=host, binary=f"{directory}/qemu",
                             accel="tcg", vnc_listen="127.0.0.1", websocket_offset=1000,
                             secrets={})  # fmt: skip


def _live(xml: str) -> str:
    """What libvirt adds to a running domain: addresses, aliases, a backing chain, the
    console made of the serial port."""
    root = ET.fromstring(xml)
    devices = root.find("devices")
    assert devices is not None
    for slot, disk in enumerate(devices.findall("disk")):
        ET.SubElement(disk, "address", type="pci", slot=f"0x{slot + 4:02x}")
        if disk.find("target").get("dev") == "vda":  # type: ignore[union-attr]
            backing = ET.SubElement(disk, "backingStore", type="file")
            ET.SubElement(backing, "source", file="/src/cache/base")
    serial = devices.find("serial")
    assert serial is not None
    console = ET.SubElement(devices, "console", type="unix")
    ET.SubElement(console, "source", mode="bind", path=serial.find("source").get("path", ""))  # type: ignore[union-attr]
    ET.SubElement(console, "log", file=serial.find("log").get("file", ""), append="on")  # type: ignore[union-attr]
    return ET.tostring(root, encoding="unicode")


def test_the_destination_paths_ports_and_metadata_in_the_live_xml(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    live = _live(_xml(src, "h1", 5901, "10.0.0.1"))
    merged = ET.fromstring(updated_guest_xml(live, _xml(dst, "h2", 5911, "10.0.0.2")))
    assert merged.findtext(f"metadata/{{{XMLNS}}}instance/{{{XMLNS}}}host") == "h2"
    assert merged.findtext(f"metadata/{{{XMLNS}}}instance/{{{XMLNS}}}directory") == str(dst)
    devices = merged.find("devices")
    assert devices is not None
    assert devices.findtext("emulator") == f"{dst}/qemu"
    disks = devices.findall("disk")
    files = [d.find("source").get("file") for d in disks if d.get("type") == "file"]  # type: ignore[union-attr]
    assert files and all(str(f).startswith(str(dst)) for f in files), files
    # the devices keep their addresses; the source's backing chain is not imposed
    slots = [d.find("address").get("slot") for d in disks]  # type: ignore[union-attr]
    assert slots == [f"0x{n + 4:02x}" for n in range(len(disks))]
    assert merged.find("devices/disk/backingStore") is None
    # the volume is the destination's connection
    nbd = [d for d in disks if d.get("type") == "network"]
    assert nbd and nbd[0].find("source/host").get("name") == "10.0.0.2"  # type: ignore[union-attr]
    for tag in ("serial", "console"):
        assert devices.find(f"{tag}/source").get("path") == str(dst / "serial.sock")  # type: ignore[union-attr]
        assert devices.find(f"{tag}/log").get("file") == str(dst / "console.log")  # type: ignore[union-attr]
    graphics = devices.find("graphics")
    assert graphics is not None and graphics.get("port") == "5911"
    assert graphics.get("websocket") == "6911"
    args = [a.get("value", "") for a in merged.iter(f"{{{QEMU_XMLNS}}}arg")]
    assert any(str(dst / "qmp.sock") in a for a in args)
    assert not any(str(src) in a for a in args)
    assert str(src) not in ET.tostring(merged, encoding="unicode")


def test_a_mismatch_is_refused(tmp_path: Path) -> None:
    live = _xml(tmp_path / "src", "h1", 5901, "10.0.0.1")
    other = _xml(tmp_path / "dst", "h2", 5911, "10.0.0.2").replace(UUID, UUID[:-1] + "1")
    with pytest.raises(DriverError, match="not the guest's"):
        updated_guest_xml(live, other)
    # a hot-plugged volume the destination did not connect
    root = ET.fromstring(_xml(tmp_path / "dst", "h2", 5911, "10.0.0.2"))
    devices = root.find("devices")
    assert devices is not None
    for disk in devices.findall("disk"):
        if disk.get("type") == "network":
            devices.remove(disk)
    with pytest.raises(DriverError, match="no volume"):
        updated_guest_xml(live, ET.tostring(root, encoding="unicode"))


def test_local_disk_targets_are_the_writable_local_files(tmp_path: Path) -> None:
    live = _xml(tmp_path, "h1", 5901, "10.0.0.1")
    # root and ephemeral; not the volume, not the read-only config drive
    assert local_disk_targets(live, tmp_path) == ["vda", "vdb"]
    assert local_disk_targets(live, tmp_path / "elsewhere") == []


def test_url_host() -> None:
    assert url_host("10.0.0.1") == "10.0.0.1"
    assert url_host("fd00::1") == "[fd00::1]"
    assert url_host("[fd00::1]") == "[fd00::1]"
