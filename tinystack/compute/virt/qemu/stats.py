"""A running guest's counters for the telemetry poller, read as Ceilometer's libvirt
inspector reads them: CPU time of the QEMU process (``/proc/<pid>/stat`` user+system,
every vCPU thread included), its resident memory (``/proc/<pid>/status``), each disk's
``query-blockstats`` over QMP, and each tap's counters from ``/proc/<pid>/net/dev``
(the QEMU's own network namespace, so taps in a host namespace are found too), swapped
to the guest's point of view (what the tap sends, the guest receives)."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from tinystack.common.qmp import QMPError
from tinystack.common.rpc.payload import JSON
from tinystack.compute.objects import DiskStats, GuestStats, NicStats
from tinystack.compute.virt.qemu.definition import Definition
from tinystack.compute.virt.qemu.machine import Machines

_TICKS = os.sysconf("SC_CLK_TCK")
_DRIVE_PREFIX = "drive-"


def cpu_ns(pid: int) -> int:
    """User plus system time of the process (all its threads), in nanoseconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) * 1_000_000_000 // _TICKS


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def tap_counters(pid: int, taps: set[str]) -> dict[str, list[int]]:
    """tap → the 16 counters of its ``/proc/<pid>/net/dev`` row."""
    found: dict[str, list[int]] = {}
    for line in Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]:
        name, _, counters = line.partition(":")
        if name.strip() in taps:
            found[name.strip()] = [int(c) for c in counters.split()]
    return found


def disks(vm: Machines, defn: Definition) -> tuple[DiskStats, ...]:
    try:
        blockstats = vm.qmp(defn, "query-blockstats") or []
    except (QMPError, OSError):
        return ()
    found = []
    for entry in blockstats:
        device, stats = str(entry.get("device", "")), entry.get("stats", {})
        if not device.startswith(_DRIVE_PREFIX):
            continue
        found.append(
            DiskStats(
                device=device.removeprefix(_DRIVE_PREFIX),
                read_bytes=int(stats.get("rd_bytes", 0)),
                read_requests=int(stats.get("rd_operations", 0)),
                write_bytes=int(stats.get("wr_bytes", 0)),
                write_requests=int(stats.get("wr_operations", 0)),
            )
        )
    return tuple(found)


def guest_stats(vm: Machines, defn: Definition, pid: int) -> GuestStats:
    taps = tap_counters(pid, {nic.tap for nic in defn.nics})
    nics = []
    for tap, c in sorted(taps.items()):
        # rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop
        nics.append(
            NicStats(
                tap=tap,
                incoming_bytes=c[8],
                outgoing_bytes=c[0],
                incoming_packets=c[9],
                outgoing_packets=c[1],
                incoming_drops=c[11],
                outgoing_drops=c[3],
                incoming_errors=c[10],
                outgoing_errors=c[2],
            )
        )
    return GuestStats(
        cpu_ns=cpu_ns(pid),
        vcpus=defn.vcpus,
        memory_mb=defn.memory_mb,
        memory_resident_mb=resident_mb(pid),
        disks=disks(vm, defn),
        nics=tuple(nics),
    )


def diagnostics(vm: Machines, defn: Definition, state: str, driver: str) -> dict[str, JSON]:
    """The server's diagnostics (os-server-diagnostics) from its QEMU."""
    pid = vm.pid(defn.uuid)
    uptime = 0
    blockstats: list[dict[str, Any]] = []
    if pid is not None:
        with contextlib.suppress(OSError):
            uptime = int(time.time() - os.stat(f"/proc/{pid}").st_mtime)
        with contextlib.suppress(QMPError, TypeError):
            blockstats = list(vm.qmp(defn, "query-blockstats") or [])
    return {
        "state": state,
        "driver": driver,
        "hypervisor": vm.accel_decided() or "qemu",
        "hypervisor_os": "linux",
        "uptime": uptime,
        "config_drive": defn.config_drive,
        "num_cpus": defn.vcpus,
        "num_nics": len(defn.nics),
        "num_disks": int(defn.boot_volume is None)
        + int(defn.ephemeral)
        + int(defn.swap)
        + len(defn.volumes),
        "cpu_details": [],
        "nic_details": [
            {"mac_address": n.mac, "rx_octets": None, "tx_octets": None} for n in defn.nics
        ],
        "disk_details": [
            {
                "read_bytes": s.get("stats", {}).get("rd_bytes", 0),
                "read_requests": s.get("stats", {}).get("rd_operations", 0),
                "write_bytes": s.get("stats", {}).get("wr_bytes", 0),
                "write_requests": s.get("stats", {}).get("wr_operations", 0),
                "errors_count": 0,
            }
            for s in blockstats
            if str(s.get("device", "")).startswith("drive-vd")
        ],
        "memory_details": {"maximum": defn.memory_mb, "used": 0},
    }
