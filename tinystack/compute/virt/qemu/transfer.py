"""Disks between two hosts for a cold migration or a resize to another host.

The source exports each disk of the powered-off instance read-only over NBD: one
``qemu-nbd`` per disk, bound to the host's address (``[compute] my_ip``) inside its network
namespace, on a port of :data:`NBD_PORTS`. The root disk is exported through its qcow2
driver, so the destination reads the guest's whole disk (the backing image included) and
needs none of the source's files. The destination pulls every export with
``qemu-img convert`` (in its own namespace) into a fresh instance directory.

An export serves one client and exits when it disconnects (no ``--persistent``); one that
is never read is killed when the resize is confirmed or reverted (its pidfile is kept in
the source's ``<uuid>_resize`` directory).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from pathlib import Path

from tinystack.common.rpc.payload import JSON
from tinystack.compute.virt.driver import DriverError
from tinystack.compute.virt.qemu import net, process
from tinystack.compute.virt.qemu.definition import (
    CONFIG_DRIVE,
    EPHEMERAL_DISK,
    ROOT_DISK,
    SWAP_DISK,
)

LOG = logging.getLogger(__name__)

#: the ports NBD exports of a migration listen on (the range libvirt's migrations use)
NBD_PORTS = range(49152, 49216)
#: the disks that move, with the format of their file (the export is always raw)
DISKS = ((ROOT_DISK, "qcow2"), (EPHEMERAL_DISK, "raw"), (SWAP_DISK, "raw"), (CONFIG_DRIVE, "raw"))
PIDFILE_PREFIX = "nbd-"


def _export_name(filename: str) -> str:
    return filename.replace(".", "-")


def _start_one(path: Path, fmt: str, address: str, namespace: str, pidfile: Path) -> int:
    """Start one read-only export of ``path``; the port it listens on."""
    last = ""
    for port in NBD_PORTS:
        cmd = ["qemu-nbd", "--read-only", "--fork", f"--pid-file={pidfile}", "--shared=1"]
        cmd += [f"--bind={address}", f"--port={port}", f"--export-name={_export_name(path.name)}"]
        cmd += [f"--format={fmt}", str(path)]
        try:
            proc = subprocess.run(
                net.in_namespace(cmd, namespace), capture_output=True, text=True, timeout=60
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DriverError(f"cannot start qemu-nbd: {exc}") from exc
        if proc.returncode == 0:
            return port
        last = (proc.stderr or proc.stdout).strip()
        if "in use" not in last:
            break
    raise DriverError(f"cannot export {path.name} over NBD: {last[-500:]}")


def export(directory: Path, pid_dir: Path, address: str, namespace: str) -> dict[str, JSON]:
    """Export the instance's disks in ``directory``; what the destination needs to pull."""
    exports: dict[str, JSON] = {}
    try:
        for filename, fmt in DISKS:
            path = directory / filename
            if not path.exists():
                continue
            pidfile = pid_dir / f"{PIDFILE_PREFIX}{_export_name(filename)}.pid"
            port = _start_one(path, fmt, address, namespace, pidfile)
            exports[filename] = {"port": port, "name": _export_name(filename)}
    except DriverError:
        stop_exports(pid_dir)
        raise
    return {"address": address, "exports": exports}


def stop_exports(pid_dir: Path) -> None:
    """Kill the exports of ``pid_dir`` still running (never read, or being read)."""
    if not pid_dir.is_dir():
        return
    for pidfile in pid_dir.glob(f"{PIDFILE_PREFIX}*.pid"):
        pid = process.read_pid(pidfile)
        args = process.cmdline(pid) if pid is not None else []
        if pid is not None and args and "qemu-nbd" in os.path.basename(args[0]):
            if f"--pid-file={pidfile}" in args:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        pidfile.unlink(missing_ok=True)


def pull(info: dict[str, JSON], directory: Path, namespace: str) -> None:
    """Copy every export of ``info`` (an :func:`export` result) into ``directory``."""
    address, exports = info.get("address"), info.get("exports")
    if not isinstance(address, str) or not isinstance(exports, dict):
        raise DriverError("the source handed over no disks")
    host = f"[{address}]" if ":" in address else address
    for filename, fmt in DISKS:
        item = exports.get(filename)
        if not isinstance(item, dict):
            continue
        url = f"nbd://{host}:{item['port']}/{item['name']}"
        part = directory / f"{filename}.part"
        cmd = ["qemu-img", "convert", "-q", "-f", "raw", "-O", fmt, url, str(part)]
        try:
            proc = subprocess.run(
                net.in_namespace(cmd, namespace), capture_output=True, text=True, timeout=3600
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            part.unlink(missing_ok=True)
            raise DriverError(f"cannot copy {filename} from {address}: {exc}") from exc
        if proc.returncode != 0:
            part.unlink(missing_ok=True)
            message = (proc.stderr or proc.stdout).strip()[-500:]
            raise DriverError(f"cannot copy {filename} from {address}: {message}")
        part.rename(directory / filename)
        LOG.info("copied %s from %s", filename, url)
