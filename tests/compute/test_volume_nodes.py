"""How the QEMU driver turns a connection info into block nodes, objects and a device
(no QEMU needed; the guests of ``tests/compute_qemu/test_volumes.py`` run them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tinystack.compute.virt.driver import DriverError, DriverNotSupported
from tinystack.compute.virt.qemu import volumes as vols
from tinystack.compute.virt.qemu.definition import Definition, command
from tinystack.compute.virt.qemu.volumes import VolumeDisk

VOLUME = "0b7c8d56-0a0e-4c4e-9d8a-2f5f0c8f4e11"
KEY = VOLUME[:20]


def disk(kind: str, **data: Any) -> VolumeDisk:
    return VolumeDisk(
        VOLUME,
        "/dev/vdb",
        {"driver_volume_type": kind, "serial": VOLUME, "data": data},
        initiator="iqn.2010-10.org.openstack:h1",
    )


def test_file_volume_without_qos() -> None:
    d = disk("file", device_path="/v/volume-1", format="qcow2")
    assert vols.nodes(d) == [
        {"node-name": f"vp-{KEY}", "driver": "file", "filename": "/v/volume-1"},
        {"node-name": f"vf-{KEY}", "driver": "qcow2", "file": f"vp-{KEY}"},
    ]
    assert vols.device(d) == {
        "driver": "virtio-blk-pci",
        "id": f"vol-{KEY}",
        "drive": f"vf-{KEY}",
        "serial": KEY,
    }
    assert vols.objects(d, Path("/nonexistent")) == []


def test_qos_specs_become_a_throttle_group(tmp_path: Path) -> None:
    specs = {
        "total_iops_sec": "500",
        "read_bytes_sec": 1048576,
        "write_iops_sec_max": "900",
        "size_iops_sec": "4096",
        "total_bytes_sec": 0,  # zero: no limit
        "consumer": "front-end",  # not a limit
    }
    d = disk("file", device_path="/v/1", qos_specs=specs, access_mode="ro", discard=True)
    (group,) = vols.objects(d, tmp_path)
    assert group == {
        "qom-type": "throttle-group",
        "id": f"tg-{KEY}",
        "limits": {
            "iops-total": 500,
            "bps-read": 1048576,
            "iops-write-max": 900,
            "iops-size": 4096,
        },
    }
    proto, fmt, throttle = vols.nodes(d)
    assert proto["read-only"] is True and fmt["read-only"] is True
    assert fmt["discard"] == "unmap"
    assert throttle == {
        "node-name": f"vt-{KEY}",
        "driver": "throttle",
        "throttle-group": f"tg-{KEY}",
        "file": f"vf-{KEY}",
    }
    assert vols.device(d)["drive"] == f"vt-{KEY}"
    with pytest.raises(DriverError):
        vols.objects(disk("file", device_path="/v/1", qos_specs={"read_iops_sec": "x"}), tmp_path)


def test_nbd_shapes() -> None:
    tinystack = disk("nbd", host="10.0.0.5", port=10809, export_name="att-1", format="raw")
    (proto, _) = vols.nodes(tinystack)
    assert proto["server"] == {"type": "inet", "host": "10.0.0.5", "port": "10809"}
    assert proto["export"] == "att-1" and proto["reconnect-delay"] == vols.NBD_RECONNECT
    libvirt_style = disk("nbd", hosts=["10.0.0.6"], ports=["10810"], name="exp")
    assert vols.nodes(libvirt_style)[0]["server"]["host"] == "10.0.0.6"
    unix = disk("nbd", path="/run/nbd.sock", export="e")
    assert vols.nodes(unix)[0]["server"] == {"type": "unix", "path": "/run/nbd.sock"}
    with pytest.raises(DriverError):
        vols.nodes(disk("nbd"))
    grown = VolumeDisk.from_dict({**tinystack.to_dict(), "generation": 2})
    assert grown.protocol_node == f"vp-{KEY}.2"
    assert vols.node_names(grown) == [f"vp-{KEY}.2", f"vf-{KEY}"]


def test_iscsi_with_chap_keeps_the_password_off_the_command_line(tmp_path: Path) -> None:
    d = disk(
        "iscsi",
        target_portal="10.0.0.7:3260",
        target_iqn="iqn.2010-10.org.openstack:volume-1",
        target_lun=1,
        auth_method="CHAP",
        auth_username="u1",
        auth_password="s3cret",
    )
    proto, fmt = vols.nodes(d)
    assert proto == {
        "node-name": f"vp-{KEY}",
        "driver": "iscsi",
        "transport": "tcp",
        "portal": "10.0.0.7:3260",
        "target": "iqn.2010-10.org.openstack:volume-1",
        "lun": 1,
        "initiator-name": "iqn.2010-10.org.openstack:h1",
        "user": "u1",
        "password-secret": f"vs-{KEY}",
    }
    assert fmt["driver"] == "raw"
    args = vols.command_line(d, tmp_path)
    assert "s3cret" not in " ".join(args)
    secret = tmp_path / f"volume-{KEY}.secret"
    assert secret.read_text() == "s3cret" and secret.stat().st_mode & 0o777 == 0o600
    multipath = disk("iscsi", target_portals=["p1:3260"], target_iqns=["iqn.x"], target_luns=[3])
    assert vols.nodes(multipath)[0]["lun"] == 3


def test_rbd_structure() -> None:
    d = disk(
        "rbd",
        name="volumes/volume-1",
        hosts=["192.0.2.1", "192.0.2.2"],
        ports=["6789"],
        auth_enabled=True,
        auth_username="cinder",
        key="AQBkey==",
    )
    (proto, _) = vols.nodes(d)
    assert proto["driver"] == "rbd" and proto["pool"] == "volumes"
    assert proto["image"] == "volume-1" and proto["user"] == "cinder"
    assert proto["server"] == [
        {"host": "192.0.2.1", "port": "6789"},
        {"host": "192.0.2.2", "port": "6789"},
    ]
    assert proto["key-secret"] == f"vs-{KEY}" and proto["auth-client-required"] == ["cephx"]
    with pytest.raises(DriverNotSupported):
        vols.nodes(disk("rbd", name="p/i", auth_enabled=True))  # cephx without its key


def test_unknown_kinds_and_formats_are_refused() -> None:
    with pytest.raises(DriverNotSupported):
        vols.nodes(disk("fibre_channel", target_wwn="x"))
    with pytest.raises(DriverNotSupported):
        vols.nodes(disk("file", device_path="/v/1", format="vmdk"))
    with pytest.raises(DriverError):
        vols.nodes(disk("file"))


def test_command_line_boots_from_the_volume(tmp_path: Path) -> None:
    root = VolumeDisk(
        VOLUME,
        "/dev/vda",
        {"driver_volume_type": "file", "serial": VOLUME, "data": {"device_path": "/v/r"}},
        boot=True,
    )
    data = disk("file", device_path="/v/d")
    data = VolumeDisk.from_dict({**data.to_dict(), "serial": "1" + VOLUME[1:], "key": ""})
    defn = Definition(uuid="u", name="n", hostname="h", flavor={"vcpus": 1, "memory_mb": 64})
    defn.set_volumes([root, data])
    cmd = command(
        defn, tmp_path, binary="qemu", accel="tcg", vnc_listen="127.0.0.1", websocket_offset=0
    )
    assert "disk.qcow2" not in " ".join(cmd)
    devices = [a for a in cmd if a.startswith('{"driver":"virtio-blk-pci"')]
    assert len(devices) == 2
    assert '"bootindex":1' in devices[0] and f'"serial":"{KEY}"' in devices[0]
    assert "bootindex" not in devices[1]
