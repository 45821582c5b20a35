"""End to end: volumes in real guests through ``tinystack up`` (QEMU driver + the block
storage service), driven by the ``openstack`` CLI.

``server add volume`` hot-plugs a volume into a running guest, which writes to it; after
``server remove volume`` another guest reads that data back; ``volume set --size`` of an
attached volume reaches the guest (a file the guest's QEMU holds through the 3.71
completion action); a multiattach volume is in both guests at once, one reading what the
other wrote; ``server create --boot-from-volume`` and ``--volume`` boot real guests from
volumes, and a rebuild on another image re-images the root volume (2.93); ``server image
create`` of a volume-backed server boots again; deleting the servers releases and
(delete_on_termination) deletes their volumes.
"""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cloudproc import CloudProcess
from tests.compute_qemu.conftest import READY, cleanup_state
from tests.compute_qemu.test_cli import EXTRA_CONF, Cloud
from tests.network_dataplane.support import PATIENCE
from tinystack.compute.virt.qemu.definition import Definition
from tinystack.deploy import registry

pytestmark = [
    pytest.mark.cli,
    pytest.mark.skipif(
        "volume" not in registry.SERVICES or "volume" not in registry.available(),
        reason="the block storage service is not part of this tree yet",
    ),
]

#: reports every virtio disk (name, serial, size, first bytes) and writes a marker on an
#: empty one, so another guest can read it back. A disk being unplugged shows a size of 0
#: for a moment: it is skipped (writing the marker into it made the next disk of that
#: name look written, under load). First bytes are read past the guest's page cache.
DISK_SCRIPT = r"""#!/bin/sh
seen=""
while true; do
  for d in /sys/block/vd*; do
    [ -e "$d" ] || continue
    n=${d##*/}; s=$(cat "$d/serial" 2>/dev/null); z=$(cat "$d/size" 2>/dev/null)
    [ "${z:-0}" -gt 0 ] || continue
    k="$n:$s:$z"
    case " $seen " in
      *" $k "*) ;;
      *) v=$(dd if=/dev/$n bs=512 count=1 iflag=direct 2>/dev/null | head -c 64 \
           | tr -cd 'A-Za-z0-9-')
         echo "DISK name=$n serial=$s sectors=$z data=$v"
         if [ -n "$s" ] && [ -z "$v" ]; then
           printf 'TSQ-WRITTEN-%s' "$(hostname)" | dd of=/dev/$n conv=notrunc 2>/dev/null
           sync; echo "WROTE name=$n serial=$s"
         fi
         seen=$(for o in $seen; do [ "${o%%:*}" = "$n" ] || echo "$o"; done; echo "$k")
         seen=$(echo $seen) ;;
    esac
  done
  for o in $seen; do
    n=${o%%:*}
    if [ ! -e "/sys/block/$n" ]; then
      echo "GONE name=$n"
      seen=$(for x in $seen; do [ "$x" = "$o" ] || echo "$x"; done); seen=$(echo $seen)
    fi
  done
  sleep 0.5
done
"""
GiB = 1024**3


@pytest.fixture(scope="module", params=["local", "remote"])
def cloud(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, test_image: Path
) -> Iterator[Cloud]:
    """A cloud whose compute host is the storage host (volumes attach as their files), or
    one whose compute host has another name (volumes attach as NBD exports of the block
    storage service's qemu-storage-daemon, as on a second host)."""
    state = tmp_path_factory.mktemp(f"tsq-vol-{request.param}")
    (state / "bootstrap-images").mkdir()
    shutil.copyfile(test_image, state / "bootstrap-images" / "tinystack-test.qcow2")
    services = ["identity", "placement", "image", "compute", "volume"]
    conf = EXTRA_CONF
    if request.param == "remote":
        conf += "host = tsq-compute-2\n"
    proc = CloudProcess(state, services, conf)
    proc.start(timeout=180)
    try:
        yield Cloud(proc)
    finally:
        proc.stop()
        cleanup_state(state)


def volume_status(cloud: Cloud, volume: str) -> str:
    return str(cloud.osc("volume", "show", volume)["status"])


def wait_volume(cloud: Cloud, volume: str, status: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout * PATIENCE
    while (found := volume_status(cloud, volume)) != status:
        assert time.monotonic() < deadline, f"volume {volume} is {found}, not {status}"
        time.sleep(0.5)


def attached_kind(cloud: Cloud, server: str) -> str:
    """How the guest's (one) volume is connected, as its definition keeps it."""
    defn = Definition.load(cloud.instances / server)
    assert defn is not None
    (volume,) = defn.volume_disks()
    return volume.kind


def guest(cloud: Cloud, name: str, script: Path) -> str:
    server = cloud.osc_wait(
        "server", "create", "--image", "tinystack-test", "--flavor", "m1.tiny",
        "--user-data", str(script), "--wait", name,
    )  # fmt: skip
    assert server["status"] == "ACTIVE", server
    cloud.wait_console(server["id"], f"{READY} hostname={name}", timeout=90)
    return str(server["id"])


def test_hot_plug_data_survives_and_moves(cloud: Cloud, tmp_path: Path) -> None:
    script = tmp_path / "disks.sh"
    script.write_text(DISK_SCRIPT)
    volume = cloud.osc("volume", "create", "--size", "1", "data1")["id"]
    wait_volume(cloud, volume, "available")
    vm1 = guest(cloud, "vm1", script)
    started = time.monotonic()
    cloud.osc("server", "add", "volume", vm1, volume)
    cloud.wait_console(vm1, f"WROTE name=vdb serial={volume[:20]}", timeout=60)
    print(f"\nserver add volume -> written in the guest: {time.monotonic() - started:.1f}s")
    wait_volume(cloud, volume, "in-use")
    attachments = cloud.osc("server", "volume", "list", vm1)
    assert [a["Volume ID"] for a in attachments] == [volume]
    remote = "tsq-compute-2" in cloud.proc.conf_file.read_text()
    assert attached_kind(cloud, vm1) == ("nbd" if remote else "file")

    cloud.osc("server", "remove", "volume", vm1, volume)
    cloud.wait_console(vm1, "GONE name=vdb", timeout=60)
    wait_volume(cloud, volume, "available")

    vm2 = guest(cloud, "vm2", script)
    cloud.osc("server", "add", "volume", vm2, volume)
    log = cloud.wait_console(vm2, "data=TSQ-WRITTEN-vm1", timeout=60)
    assert f"serial={volume[:20]}" in log

    # extend while attached: the guest sees the new size; a file the guest's QEMU holds
    # (local) stays extending until compute's os-extend_volume_completion
    cloud.osc("volume", "set", "--size", "2", volume)
    cloud.wait_console(vm2, f"serial={volume[:20]} sectors={2 * GiB // 512}", timeout=60)
    wait_volume(cloud, volume, "in-use")
    assert cloud.osc("volume", "show", volume)["size"] == 2

    # a multiattach volume in both guests at once: what one writes the other reads
    shared = multiattach_volume(cloud)
    add = ("--os-compute-api-version", "2.60", "server", "add", "volume")
    cloud.osc(*add, vm1, shared)
    cloud.wait_console(vm1, f"WROTE name=vdb serial={shared[:20]}", timeout=60)
    cloud.osc(*add, vm2, shared)
    cloud.wait_console(vm2, f"serial={shared[:20]} sectors={GiB // 512} data=TSQ-WRITTEN-vm1")
    assert {a["server_id"] for a in cloud.osc("volume", "show", shared)["attachments"]} == {
        vm1,
        vm2,
    }

    cloud.osc("server", "delete", "--wait", vm1, vm2)
    wait_volume(cloud, volume, "available")
    wait_volume(cloud, shared, "available")
    cloud.osc("volume", "delete", volume, shared)


def multiattach_volume(cloud: Cloud) -> str:
    """A 1 GiB volume of a multiattach type (made once per cloud)."""
    types = {t["Name"] for t in cloud.osc("volume", "type", "list")}
    if "tsq-multiattach" not in types:
        cloud.osc(
            "volume", "type", "create", "--property", "multiattach=<is> True", "tsq-multiattach"
        )
    volume = cloud.osc("volume", "create", "--size", "1", "--type", "tsq-multiattach", "shared")
    assert volume["multiattach"] is True
    wait_volume(cloud, volume["id"], "available")
    return str(volume["id"])


def has_snapshots(cloud: Cloud) -> bool:
    """Whether the block storage service serves snapshots yet (createImage needs them)."""
    token = cloud.proc.token()
    response = httpx.get(
        cloud.proc.endpoint("block-storage") + "/snapshots", headers={"X-Auth-Token": token}
    )
    return response.status_code == 200


def test_boot_from_volume(cloud: Cloud, test_image: Path) -> None:
    bfv = cloud.osc_wait(
        "server", "create", "--image", "tinystack-test", "--flavor", "m1.tiny",
        "--boot-from-volume", "1", "--delete-on-termination", "--wait", "bfv1",
    )  # fmt: skip
    assert bfv["status"] == "ACTIVE", bfv
    cloud.wait_console(bfv["id"], f"{READY} hostname=bfv1", timeout=90)
    shown = cloud.server(bfv["id"])
    assert shown["image"] == ""
    (root,) = shown["os-extended-volumes:volumes_attached"]
    assert volume_status(cloud, root["id"]) == "in-use"
    assert not (cloud.instances / bfv["id"] / "disk.qcow2").exists()

    # shelve: the guest leaves the host at once (nothing to upload), its volume stays
    # reserved for it; unshelve connects it again and the guest boots from it
    cloud.osc("server", "shelve", bfv["id"])
    cloud.wait_for(bfv["id"], "SHELVED_OFFLOADED", timeout=90)
    assert not (cloud.instances / bfv["id"]).exists()
    assert volume_status(cloud, root["id"]) in ("reserved", "in-use")
    cloud.osc("server", "unshelve", bfv["id"])
    cloud.wait_for(bfv["id"], "ACTIVE", timeout=90)
    cloud.wait_console(bfv["id"], f"{READY} hostname=bfv1", timeout=90)
    assert volume_status(cloud, root["id"]) == "in-use"

    rescue_from_volume(cloud, bfv["id"], root["id"], test_image)

    # rebuild on another image (2.93): the root volume is re-imaged, the guest boots on it
    # (once, on the remote host: its NBD export is replaced as well; ~70-100 s a run)
    if "tsq-compute-2" in cloud.proc.conf_file.read_text():
        rebuild_on_new_image(cloud, bfv["id"], root["id"], test_image)

    # --volume: boot from an existing volume made from the image
    volume = cloud.osc(
        "volume", "create", "--size", "1", "--image", "tinystack-test", "--bootable", "boot1"
    )["id"]
    wait_volume(cloud, volume, "available", timeout=120)
    from_volume = cloud.osc_wait(
        "server", "create", "--volume", volume, "--flavor", "m1.tiny", "--wait", "bfv3"
    )
    assert from_volume["status"] == "ACTIVE", from_volume
    cloud.wait_console(from_volume["id"], f"{READY} hostname=bfv3", timeout=90)

    cloud.osc("server", "delete", "--wait", bfv["id"], from_volume["id"])
    wait_volume(cloud, volume, "available")  # the user's volume stays
    deadline = time.monotonic() + 60
    while root["id"] in {v["ID"] for v in cloud.osc("volume", "list")}:
        assert time.monotonic() < deadline, "the boot volume was not deleted with its server"
        time.sleep(0.5)
    cloud.osc("volume", "delete", volume)


def rescue_from_volume(cloud: Cloud, server: str, root: str, test_image: Path) -> None:
    """Stable device rescue of a volume-backed server (2.87): refused before 2.87 and for
    a rescue image that does not ask for stable devices; with one that does, the guest
    boots the rescue disk, added after its boot volume, and unrescue boots the volume."""
    plain = cloud.osc("image", "show", "tinystack-test")["id"]
    stable = cloud.osc(
        "image", "create", "--disk-format", "qcow2", "--container-format", "bare",
        "--file", str(test_image), "--property", "hw_rescue_bus=virtio",
        "--property", "hw_rescue_device=disk", "tsq-rescue",
    )["id"]  # fmt: skip
    for version, image, reason in (
        ("2.86", stable, "Cannot rescue a volume-backed instance"),
        ("2.87", plain, "Cannot rescue a volume-backed instance"),
    ):
        refused = cloud.proc.osc_raw(
            "--os-compute-api-version", version, "server", "rescue", "--image", image, server
        )
        assert refused.returncode != 0 and reason in refused.stderr, refused.stderr
    cloud.osc("--os-compute-api-version", "2.87", "server", "rescue", "--image", stable, server)
    cloud.wait_for(server, "RESCUE", timeout=90)
    cmdline = (cloud.instances / server / "qemu.cmdline").read_text()
    assert cmdline.index("disk.rescue") > cmdline.rindex(root[:20])  # added last
    assert "drive=drive-rescue,id=rescue,bootindex=1" in cmdline
    assert '"bootindex":1' not in cmdline  # the boot volume's, while rescued
    cloud.wait_console(server, f"{READY} hostname=bfv1", timeout=90)
    cloud.osc("server", "unrescue", server)
    cloud.wait_for(server, "ACTIVE", timeout=90)
    assert "disk.rescue" not in (cloud.instances / server / "qemu.cmdline").read_text()
    cloud.osc("image", "delete", stable)


def rebuild_on_new_image(cloud: Cloud, server: str, root: str, test_image: Path) -> None:
    """``server rebuild --reimage-boot-volume`` with another image: the block storage
    service re-images the root volume and the guest boots from it again."""
    started = time.monotonic()
    other = cloud.osc(
        "image", "create", "--disk-format", "qcow2", "--container-format", "bare",
        "--file", str(test_image), "tsq-rebuild",
    )["id"]  # fmt: skip
    cloud.osc(
        "--os-compute-api-version", "2.93", "server", "rebuild", "--reimage-boot-volume",
        "--image", other, server,
    )  # fmt: skip
    cloud.wait_for(server, "ACTIVE", timeout=120)
    cloud.wait_console(server, f"{READY} hostname=bfv1", timeout=90)
    rebuilt = cloud.osc("volume", "show", root)
    assert rebuilt["status"] == "in-use"
    assert rebuilt["volume_image_metadata"]["image_id"] == other
    assert cloud.server(server)["image"] == ""
    print(f"\nrebuild of a volume-backed server on a new image: {time.monotonic() - started:.1f}s")


def test_image_of_a_volume_backed_server_boots(cloud: Cloud) -> None:
    if not has_snapshots(cloud):
        pytest.skip("the block storage service does not serve snapshots yet")
    bfv = cloud.osc_wait(
        "server", "create", "--image", "tinystack-test", "--flavor", "m1.tiny",
        "--boot-from-volume", "1", "--delete-on-termination", "--wait", "bfv-img",
    )  # fmt: skip
    assert bfv["status"] == "ACTIVE", bfv
    snap = cloud.osc_wait("server", "image", "create", "--name", "bfv-snap", "--wait", bfv["id"])
    image = cloud.osc("image", "show", snap["id"])
    assert image["status"] == "active" and "block_device_mapping" in str(image["properties"])
    again = cloud.osc_wait(
        "server", "create", "--image", "bfv-snap", "--flavor", "m1.tiny", "--wait", "bfv2"
    )
    assert again["status"] == "ACTIVE", again
    cloud.wait_console(again["id"], f"{READY} hostname=bfv2", timeout=90)
    cloud.osc("server", "delete", "--wait", bfv["id"], again["id"])


def test_kill_during_attach_settles(cloud: Cloud, tmp_path: Path) -> None:
    """kill -9 of the whole cloud right after an attach was accepted: after the restart
    the volume is either attached (the server lists it, the guest has it) or available
    (the server does not list it), never in between."""
    script = tmp_path / "disks.sh"
    script.write_text(DISK_SCRIPT)
    vm = guest(cloud, "vm-kill", script)
    volume = cloud.osc("volume", "create", "--size", "1", "data-kill")["id"]
    wait_volume(cloud, volume, "available")
    cloud.osc("server", "add", "volume", vm, volume)
    cloud.proc.stop(signal.SIGKILL)
    cloud.proc.start(timeout=180)
    cloud.api = cloud._api()
    cloud.wait_for(vm, "ACTIVE")
    # each side settles on its own after the restart (the storage service marks an export
    # made for a server attached; the compute agent then rolls back an attach it never
    # recorded, seconds later): wait until they agree twice, 5 s apart
    deadline = time.monotonic() + 90
    agreed: tuple[str, list[str]] | None = None
    while True:
        status = volume_status(cloud, volume)
        listed = [a["Volume ID"] for a in cloud.osc("server", "volume", "list", vm)]
        now = (status, listed)
        if now == agreed:
            break
        agreed = now if now in (("available", []), ("in-use", [volume])) else None
        assert time.monotonic() < deadline, f"volume {volume} stays {status}, listed {listed}"
        time.sleep(5 if agreed else 1)
    print(f"\nafter kill -9 during an attach: {status}")
    if status == "in-use":
        cloud.wait_console(vm, f"serial={volume[:20]}", timeout=60)
        cloud.osc("server", "remove", "volume", vm, volume)
        wait_volume(cloud, volume, "available")
    cloud.osc("server", "delete", "--wait", vm)
    cloud.osc("volume", "delete", volume)
