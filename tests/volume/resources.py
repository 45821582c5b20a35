"""Waiting for snapshots, backups and transfers of a test cloud, and the cloud these
tests share: the file driver, configured as a deployment does."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

from tests.cloudproc import free_port
from tests.volume.conftest import Api, volume_conf
from tinystack.volume.backup.connector import run_dir
from tinystack.volume.drivers.file import _default_run_dir

#: NBD ports of these tests' clouds


def file_conf(**options: object) -> str:
    """A ``[volume]`` section with the file driver (qcow2 files, NBD exports from
    127.0.0.1 on a port of this area's range) and the backup service, with room for the
    many volumes a test module makes."""
    values: dict[str, object] = {
        "volume_driver": "file",
        "target_ip_address": "127.0.0.1",
        "nbd_port": free_port(),
        "quota_volumes": 100,
        "quota_snapshots": 100,
        "quota_backups": 100,
    }
    return volume_conf(**{**values, **options})


def wait_for(
    api: Api, collection: str, item_id: str, *statuses: str, timeout: float = 60
) -> dict[str, Any]:
    """The item of ``/collection`` once its status is one of ``statuses`` (``deleted``:
    once it is gone)."""
    key = collection.rstrip("s")
    deadline = time.monotonic() + timeout
    found: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = api.get(f"/{collection}/{item_id}", None)
        if response.status_code == 404:
            if "deleted" in statuses:
                return {"status": "deleted"}
            raise AssertionError(f"{key} {item_id} is gone")
        found = dict(response.json()[key])
        if found["status"] in statuses:
            return found
        if found["status"].startswith("error") and not any(s.startswith("error") for s in statuses):
            raise AssertionError(f"{key} {item_id} went to {found['status']}: {found}")
        time.sleep(0.05)
    raise AssertionError(f"{key} {item_id} is {found.get('status')}, wanted {statuses}")


def snapshot(
    api: Api, volume_id: str, wait: str | None = "available", **body: Any
) -> dict[str, Any]:
    made = api.post("/snapshots", {"snapshot": {"volume_id": volume_id, **body}}, 202).json()
    snap = dict(made["snapshot"])
    return wait_for(api, "snapshots", snap["id"], wait) if wait else snap


def backup(api: Api, volume_id: str, wait: str | None = "available", **body: Any) -> dict[str, Any]:
    made = api.post("/backups", {"backup": {"volume_id": volume_id, **body}}, 202).json()
    found = dict(made["backup"])
    return wait_for(api, "backups", found["id"], wait, timeout=120) if wait else found


def kill_daemons(state_dir: Path) -> None:
    """Kill (by PID) the qemu-storage-daemons a cloud with this state directory left:
    its backend's export daemon and its backup service's device daemons (both outlive
    a cloud killed with -9, by design)."""
    markers = [
        str(run_dir(state_dir)).encode(),
        str(_default_run_dir(state_dir / "volumes")).encode(),
    ]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            args = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not args or not args[0].endswith(b"qemu-storage-daemon"):
            continue
        if any(marker in arg for marker in markers for arg in args):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry), signal.SIGKILL)


def daemons(state_dir: Path) -> int:
    """How many device daemons of the backup service of ``state_dir`` run."""
    marker = str(run_dir(state_dir)).encode()
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                args = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            count += b"qemu-storage-daemon" in args and marker in args
    return count


def attach(api: Api, volume_id: str, host: str = "compute-remote") -> dict[str, Any]:
    """Attach the volume as Nova does (3.54: create with the connector, complete): a
    connector from another host gets an NBD export; the volume is ``in-use``."""
    body = {
        "volume_uuid": volume_id,
        "instance_uuid": str(uuid.uuid4()),
        "connector": {"host": host, "ip": "127.0.0.1", "platform": "x86_64",
                      "os_type": "linux", "multipath": False, "mountpoint": "/dev/vdb"},
    }  # fmt: skip
    at = api.at("3.54")
    made = dict(at.post("/attachments", {"attachment": body}, 200).json()["attachment"])
    at.post(f"/attachments/{made['id']}/action", {"os-complete": None}, 204)
    return made


def detach(api: Api, attachment_id: str) -> None:
    api.at("3.54").delete(f"/attachments/{attachment_id}", 200)
