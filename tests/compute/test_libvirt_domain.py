"""The libvirt driver's domain XML, made from a definition (no libvirtd needed): every
volume kind the QEMU driver opens, QoS, NICs, consoles, metadata; valid for libvirt's own
schema when ``virt-xml-validate`` is installed."""

from __future__ import annotations

import base64
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tinystack.compute.virt.driver import DriverError, DriverNotSupported
from tinystack.compute.virt.libvirt import domain
from tinystack.compute.virt.libvirt.connection import XMLNS
from tinystack.compute.virt.qemu.definition import Definition, Nic
from tinystack.compute.virt.qemu.volumes import VolumeDisk

KEY = base64.b64encode(b"0123456789abcdef").decode()


def volumes() -> list[VolumeDisk]:
    return [
        VolumeDisk("vol-file-0000000000001", "/dev/vdb", {
            "driver_volume_type": "file",
            "data": {"device_path": "/srv/v1.qcow2", "format": "qcow2",
                     "qos_specs": {"total_iops_sec": "200", "read_bytes_sec": "1048576"}},
        }),
        VolumeDisk("vol-nbd-00000000000002", "/dev/vdc", {
            "driver_volume_type": "nbd",
            "data": {"host": "127.0.0.1", "port": 10809, "export_name": "e1"},
        }),
        VolumeDisk("vol-iscsi-000000000003", "/dev/vdd", {
            "driver_volume_type": "iscsi",
            "data": {"target_portal": "127.0.0.1:3260", "target_iqn": "iqn.2010-10.x:y",
                     "target_lun": 1, "auth_method": "CHAP", "auth_username": "u",
                     "auth_password": "p"},
        }, initiator="iqn.2010-10.org.openstack:h"),
        VolumeDisk("vol-rbd-00000000000004", "/dev/vde", {
            "driver_volume_type": "rbd", "multiattach": True,
            "data": {"name": "volumes/v4", "hosts": ["10.0.0.1", "10.0.0.2"], "ports": ["6789"],
                     "auth_enabled": True, "auth_username": "cinder", "key": KEY,
                     "access_mode": "ro"},
        }),
    ]  # fmt: skip


def make(tmp_path: Path, **changes: object) -> tuple[str, ET.Element]:
    defn = Definition(
        uuid="2b8e6d36-6f3c-4a47-a8f2-0f4a3c1e9b10",
        name="instance-x",
        hostname="x",
        flavor={"vcpus": 2, "memory_mb": 256},
        ephemeral=True,
        config_drive=True,
        nics=[Nic("c0ffee00-1111-2222-3333-444455556666", "fa:16:3e:00:00:01", "tapc0ffee00-11")],
        vnc_port=5901,
        qmp_socket=str(tmp_path / "qmp.sock"),
        qmp_events_socket=str(tmp_path / "qmp-events.sock"),
        serial_socket=str(tmp_path / "serial.sock"),
    )
    defn.set_volumes(volumes())
    for name, value in changes.items():
        setattr(defn, name, value)
    secrets = {d.key: f"00000000-0000-0000-0000-00000000000{n}" for n, d in enumerate(volumes())}
    xml = domain.domain_xml(defn, tmp_path, name="tslv-x", host="h1", binary="/usr/bin/qemu",
                            accel="tcg", vnc_listen="127.0.0.1", websocket_offset=1000,
                            secrets=secrets)  # fmt: skip
    return xml, ET.fromstring(xml)


def test_domain_of_a_definition(tmp_path: Path) -> None:
    xml, root = make(tmp_path)
    assert root.get("type") == "qemu" and root.findtext("name") == "tslv-x"
    assert root.findtext(f"metadata/{{{XMLNS}}}instance/{{{XMLNS}}}host") == "h1"
    disks = root.findall("devices/disk")
    targets = [d.find("target").get("dev") for d in disks]  # type: ignore[union-attr]
    assert targets == ["vda", "vdb", "vdc", "vdd", "vde", "vdf", "hdc"]
    assert disks[0].find("boot").get("order") == "1"  # type: ignore[union-attr]
    file_, nbd, iscsi, rbd = disks[2:6]
    assert file_.findtext("iotune/total_iops_sec") == "200"
    assert file_.findtext("iotune/read_bytes_sec") == "1048576"
    assert file_.findtext("serial") == "vol-file-00000000000"
    assert nbd.find("source/host").get("port") == "10809"  # type: ignore[union-attr]
    assert iscsi.find("source").get("name") == "iqn.2010-10.x:y/1"  # type: ignore[union-attr]
    assert iscsi.find("source/auth/secret").get("type") == "iscsi"  # type: ignore[union-attr]
    assert len(rbd.findall("source/host")) == 2
    assert rbd.find("readonly") is not None and rbd.find("shareable") is not None
    assert "p" not in {e.text for e in root.iter()}  # no password in the XML
    iface = root.find("devices/interface")
    assert iface is not None and iface.get("type") == "ethernet"
    assert iface.find("target").get("managed") == "no"  # type: ignore[union-attr]
    graphics = root.find("devices/graphics")
    assert graphics is not None and graphics.get("websocket") == "6901"
    assert root.find("devices/serial/log").get("file") == str(tmp_path / "console.log")  # type: ignore[union-attr]
    assert "qmp-events.sock" in xml
    if shutil.which("virt-xml-validate"):
        path = tmp_path / "domain.xml"
        path.write_text(xml)
        checked = subprocess.run(
            ["virt-xml-validate", str(path), "domain"], capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stderr + checked.stdout


def test_rescue_and_bad_volumes(tmp_path: Path) -> None:
    _, root = make(tmp_path, rescue={"image_id": "i", "bus": "scsi", "device": "cdrom"})
    last = root.findall("devices/disk")[-1]
    assert last.get("device") == "cdrom" and last.find("boot").get("order") == "1"  # type: ignore[union-attr]
    assert root.find("devices/controller[@model='virtio-scsi']") is not None
    with pytest.raises(DriverNotSupported):
        domain.volume_disk(
            VolumeDisk("v", "/dev/vdb", {"driver_volume_type": "fc"}), "vdb", None, None
        )
    with pytest.raises(DriverError):
        domain.volume_disk(
            VolumeDisk("v", "/dev/vdb", {"driver_volume_type": "nbd", "data": {}}),
            "vdb",
            None,
            None,
        )
    disks = "<disk><target dev='vda'/></disk><disk><target dev='vdc'/></disk>"
    live = f"<domain><devices>{disks}</devices></domain>"
    assert domain.free_device(live) == "vdb"
