"""Helpers of the attachment tests: a cloud whose file backend exports over NBD on a port
of this area's range (21700-21799), connectors, qemu-io against the exports, and the
clean-up of the export daemon a killed cloud leaves behind (by PID)."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.cloudproc import free_port
from tests.volume.conftest import volume_conf
from tinystack.volume.drivers.file import _default_run_dir

#: the storage host's name (a connector from it gets the file itself)
STORAGE_HOST = "storage-" + uuid.uuid4().hex[:6]
REMOTE = {
    "host": "compute-remote",
    "ip": "127.0.0.1",
    "initiator": "iqn.1993-08.org.debian:01:remote",
    "platform": "x86_64",
    "os_type": "linux",
    "multipath": False,
    "mountpoint": "/dev/vdb",
}


def attach_conf(**options: object) -> str:
    return volume_conf(
        host=STORAGE_HOST, target_ip_address="127.0.0.1", nbd_port=free_port(), **options
    )


def connector(host: str = "compute-remote", **extra: Any) -> dict[str, Any]:
    return {**REMOTE, "host": host, **extra}


def nbd_url(info: Mapping[str, Any]) -> str:
    data = info.get("data", info)
    return f"nbd://{data['host']}:{data['port']}/{data['export_name']}"


def qemu_io(url: str, command: str, *, check: bool = True) -> str:
    proc = subprocess.run(
        ["qemu-io", "-f", "raw", "-c", command, url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out = proc.stdout + proc.stderr
    if check:
        assert proc.returncode == 0 and "failed" not in out.lower(), out
    return out


def exported(url: str) -> bool:
    """Whether the NBD export answers (qemu-io opens it)."""
    proc = subprocess.run(
        ["qemu-io", "-f", "raw", "-r", "-c", "read 0 512", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.returncode == 0 and "failed" not in (proc.stdout + proc.stderr).lower()


def kill_export_daemons(volumes_dir: Path) -> None:
    """Kill (by PID) the qemu-storage-daemon of the cloud whose volumes are in
    ``volumes_dir`` (it outlives a cloud killed with -9)."""
    marker = str(_default_run_dir(volumes_dir)).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            args = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"qemu-storage-daemon") and any(marker in a for a in args):
            try:
                os.kill(int(entry), signal.SIGKILL)
            except ProcessLookupError:
                pass
