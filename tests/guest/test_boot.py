"""Boot the test image under QEMU (TCG, user-mode networking) with a config drive.

The network is QEMU's slirp with ``restrict=on``: the guest gets DHCP from QEMU
and the test reaches its ssh and http ports through ``hostfwd`` on 127.0.0.1;
nothing is bridged or routed to the host's network.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.cloudproc import free_port
from tests.network_dataplane.support import PATIENCE
from tinystack.guest import accel, build, hostdeps, qemu, scripts

HOSTNAME = "tsguest-e2e"
UUID = "5b0b5a38-0d7e-4a0b-9d4c-3c0f3d2e1a99"
USERDATA_MARK = "TSGUEST-USERDATA-OK"


@pytest.fixture(scope="module")
def qemu_binary() -> str:
    try:
        hostdeps.ensure_packages(hostdeps.BOOT_PACKAGES)
    except hostdeps.MissingHostPackages as exc:
        pytest.skip(str(exc))
    binary = qemu.qemu_binary()
    assert binary is not None
    return binary


def make_config_drive(workdir: Path, meta: dict[str, object], user_data: str) -> Path:
    latest = workdir / "cd" / "openstack" / "latest"
    latest.mkdir(parents=True)
    (latest / "meta_data.json").write_text(json.dumps(meta))
    (latest / "user_data").write_text(user_data)
    iso = workdir / "configdrive.iso"
    cmd = ["xorriso", "-as", "mkisofs", "-quiet", "-V", "config-2", "-J", "-r"]
    subprocess.run([*cmd, "-o", str(iso), str(workdir / "cd")], check=True, capture_output=True)
    return iso


def ssh_key(workdir: Path) -> tuple[Path | None, str]:
    """A fresh key pair when ssh-keygen exists, else just a public key line."""
    if shutil.which("ssh-keygen") is None:
        return None, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyForTheTestOnly test@tinystack"
    key = workdir / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key, key.with_suffix(".pub").read_text().strip()


def http_get(url: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return str(resp.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def ssh_run(key: Path, port: int, user: str, known_hosts: Path, command: str) -> str:
    cmd = ["ssh", "-i", str(key), "-p", str(port), "-o", "BatchMode=yes"]
    cmd += ["-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes"]
    cmd += ["-o", "HostKeyAlgorithms=ssh-ed25519", "-o", "ConnectTimeout=20"]
    proc = subprocess.run(
        [*cmd, f"{user}@127.0.0.1", command], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_boot_with_config_drive(
    qemu_binary: str, built_image: build.BuildResult, tmp_path: Path
) -> None:
    overlay = tmp_path / "overlay.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2"]
        + ["-b", str(built_image.image), str(overlay)],
        check=True,
    )
    key, public_key = ssh_key(tmp_path)
    meta = {
        "uuid": UUID,
        "hostname": f"{HOSTNAME}.novalocal",
        "name": HOSTNAME,
        "meta": {"uuid": "not-this-one"},
        "public_keys": {"test": public_key + "\n"},
        "keys": [{"name": "test", "type": "ssh", "data": public_key + "\n"}],
        "launch_index": 0,
    }
    drive = make_config_drive(tmp_path, meta, f"#!/bin/sh\necho {USERDATA_MARK} $(hostname)\n")
    ssh_port, http_port = free_port(), free_port()
    netdev = "user,id=n0,restrict=on"
    netdev += f",hostfwd=tcp:127.0.0.1:{ssh_port}-:22,hostfwd=tcp:127.0.0.1:{http_port}-:80"
    serial, qmp = tmp_path / "serial.log", tmp_path / "qmp.sock"
    cmd = qemu.base_command(overlay, serial, qmp, accel="tcg")
    cmd += ["-drive", f"file={drive},if=ide,media=cdrom,format=raw,readonly=on"]
    cmd += ["-netdev", netdev, "-device", "virtio-net-pci,netdev=n0"]

    with qemu.Guest(cmd, serial, qmp) as guest:
        ready = guest.wait_for(rf"{scripts.READY_MARKER} (.*)", 60 * PATIENCE)
        boot_seconds = time.monotonic() - guest.started
        assert ready, (
            f"no ready marker in {60 * PATIENCE}s:\n{guest.console()[-3000:]}\n"
            f"{guest.qemu_stderr()}"
        )
        print(f"\nTCG boot to {scripts.READY_MARKER}: {boot_seconds:.1f}s")
        assert ready.group(1).strip() == (
            f"hostname={HOSTNAME} instance-id={UUID} addresses=10.0.2.15"
        )
        assert f"{scripts.METADATA_MARKER} source=config-drive" in guest.console()
        assert guest.wait_for(rf"{USERDATA_MARK} {HOSTNAME}", 15 * PATIENCE), guest.console()[
            -2000:
        ]
        assert guest.wait_for(rf"{scripts.USERDATA_MARKER} exit=0", 15 * PATIENCE)

        assert http_get(f"http://127.0.0.1:{http_port}/") == f"{HOSTNAME}\n"

        if key is not None and shutil.which("ssh"):
            # the host key printed on the console is the one sshd presents
            host_key = re.search(r"^(ssh-ed25519 \S+)", guest.console(), re.M)
            assert host_key
            known_hosts = tmp_path / "known_hosts"
            known_hosts.write_text(f"[127.0.0.1]:{ssh_port} {host_key.group(1)}\n")
            out = ssh_run(key, ssh_port, "root", known_hosts, "id -u; hostname; ls /dev/vda")
            assert out.split() == ["0", HOSTNAME, "/dev/vda"]
            out = ssh_run(key, ssh_port, "cirros", known_hosts, "id -un")
            assert out.strip() == "cirros"

        started = time.monotonic()
        assert guest.powerdown(30 * PATIENCE), f"no clean power-off:\n{guest.console()[-2000:]}"
        print(f"ACPI power-off: {time.monotonic() - started:.1f}s")
        assert f"{scripts.SHUTDOWN_MARKER} reason=acpi-power-button" in guest.console()
        assert guest.proc.returncode == 0


def test_boot_with_metadata_service_and_two_nics(
    qemu_binary: str, built_image: build.BuildResult, tmp_path: Path
) -> None:
    """No config drive: metadata from 169.254.169.254, which slirp forwards to mdserve.py."""
    latest = tmp_path / "md" / "openstack" / "latest"
    latest.mkdir(parents=True)
    meta = {"uuid": UUID, "hostname": "tsguest-md.novalocal", "public_keys": {}}
    (latest / "meta_data.json").write_text(json.dumps(meta))
    (latest / "user_data").write_text(f"#!/bin/sh\necho {USERDATA_MARK} from-service\n")
    serve = f"{sys.executable} {Path(__file__).with_name('mdserve.py')} {tmp_path / 'md'}"
    assert "," not in serve
    nic0 = "user,id=n0,restrict=on,net=169.254.0.0/16,host=169.254.0.1,dhcpstart=169.254.0.15"
    nic0 += f",guestfwd=tcp:169.254.169.254:80-cmd:{serve}"
    serial, qmp = tmp_path / "serial.log", tmp_path / "qmp.sock"
    cmd = qemu.base_command(built_image.image, serial, qmp, accel="tcg", snapshot=True)
    cmd += ["-netdev", nic0, "-device", "virtio-net-pci,netdev=n0"]
    cmd += ["-netdev", "user,id=n1,restrict=on,net=10.0.3.0/24"]
    cmd += ["-device", "virtio-net-pci,netdev=n1"]

    with qemu.Guest(cmd, serial, qmp) as guest:
        ready = guest.wait_for(rf"{scripts.READY_MARKER} (.*)", 60 * PATIENCE)
        assert ready, (
            f"no ready marker in {60 * PATIENCE}s:\n{guest.console()[-3000:]}\n"
            f"{guest.qemu_stderr()}"
        )
        assert ready.group(1).strip() == (
            f"hostname=tsguest-md instance-id={UUID} addresses=169.254.0.15,10.0.3.15"
        )
        assert f"{scripts.METADATA_MARKER} source=metadata-service" in guest.console()
        assert guest.wait_for(rf"{USERDATA_MARK} from-service", 15 * PATIENCE), guest.console()[
            -2000:
        ]
        assert guest.powerdown(30 * PATIENCE), f"no clean power-off:\n{guest.console()[-2000:]}"


def test_kvm_probe(qemu_binary: str, built_image: build.BuildResult, tmp_path: Path) -> None:
    usable, why = accel.kvm_device_usable()
    if not usable:
        pytest.skip(why)
    cache = tmp_path / accel.CACHE_FILE
    first = accel.choose_accel(image=built_image.image, cache_file=cache, timeout=10)
    print(f"\nKVM probe: {first.accel} ({first.reason}, {first.seconds:.1f}s)")
    assert first.source == "probe"
    assert first.accel in ("kvm", "tcg")
    again = accel.choose_accel(image=built_image.image, cache_file=cache, timeout=10)
    assert (again.accel, again.source) == (first.accel, "cache")
    if shutil.which("pgrep"):  # the probe left no QEMU behind
        leftover = subprocess.run(["pgrep", "-f", str(built_image.image)], capture_output=True)
        assert leftover.stdout.strip() == b""
