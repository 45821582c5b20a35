"""Telemetry poller benchmark: the CPU one poll of one guest costs, with real QEMUs.

Starts ``--guests`` QEMU processes (paused with ``-S``, 32 MiB, one virtio-blk disk on
a sparse raw file, a QMP socket: a guest's stats do not depend on its vCPU running),
then polls each ``--rounds`` times through the compute agent's own code
(``virt/qemu/stats.guest_stats``: ``/proc/<pid>/stat``, ``status`` and ``net/dev`` and
``query-blockstats`` over a fresh QMP connection, as the driver does) and counts the
CPU time spent, both in the poller (its thread's CPU time) and in the QEMUs (their
``/proc/<pid>/stat`` CPU time, less what they burnt idle over as long before polling).

With ``--metric-url`` and ``--token`` (or a cloud from clouds.yaml) it also pushes each
round's samples (Ceilometer's meters of one instance, one disk and one interface: 16 a
guest) as the poller does (``/v1/batch/resources/metrics/measures?create_metrics=true``)
and counts the client's CPU and, with ``--server-pid``, the metric service's.

    python benchmarks/telemetry_poller.py --guests 10 --rounds 20 \\
        --metric-url http://127.0.0.1:21401 --token "$TOKEN" --server-pid "$PID"

The guests carry the ``--prefix`` in their names and work directory and are killed at
the end (also on failure). Bounded: at most 64 guests and 500 rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from _harness import Client, add_auth_args, creds_from_args, issue_token

from tinystack.common.qmp import command as qmp_command
from tinystack.compute.agent.telemetry import DISK_METERS, NIC_METERS
from tinystack.compute.virt.qemu import stats


class _Machines:
    """What ``stats.guest_stats`` asks of the driver's ``Machines``: QMP by socket."""

    def qmp(self, defn: Any, name: str, args: dict[str, Any] | None = None) -> Any:
        return qmp_command(defn.qmp_socket, name, args, timeout=10)


def _cpu_s(pid: int) -> float:
    return stats.cpu_ns(pid) / 1e9


@contextlib.contextmanager
def guests(count: int, prefix: str) -> Iterator[list[tuple[int, Any]]]:
    work = Path(tempfile.mkdtemp(prefix=f"{prefix}-poll-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        found = []
        for i in range(count):
            disk = work / f"{i}.raw"
            with disk.open("wb") as f:
                f.truncate(64 << 20)
            sock = work / f"{i}.qmp"
            procs.append(subprocess.Popen([
                "qemu-system-x86_64", "-name", f"{prefix}-poll-{i}", "-machine", "pc,accel=tcg",
                "-S", "-m", "32", "-nodefaults", "-display", "none",
                "-qmp", f"unix:{sock},server=on,wait=off",
                "-drive", f"file={disk},if=none,id=drive-vda,format=raw",
                "-device", "virtio-blk-pci,drive=drive-vda",
            ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
            defn = SimpleNamespace(qmp_socket=sock, nics=[SimpleNamespace(tap="lo")],
                                   vcpus=1, memory_mb=32)  # fmt: skip
            found.append((procs[-1].pid, defn))
        deadline = time.monotonic() + 60
        for _, defn in found:
            while not defn.qmp_socket.exists():
                if time.monotonic() > deadline:
                    raise SystemExit("QEMU did not start")
                time.sleep(0.05)
        yield found
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def _samples(index: int, found: Any, at: str) -> list[tuple[str, str, str, float]]:
    rid = str(uuid.UUID(int=index + 1))
    samples = [(rid, "cpu", "ns", float(found.cpu_ns)), (rid, "vcpus", "vcpu", 1.0),
               (rid, "memory", "MB", 32.0),
               (rid, "memory.resident", "MB", found.memory_resident_mb)]  # fmt: skip
    for disk in found.disks:
        samples += [(f"{rid}-{disk.device}", n, u, float(getattr(disk, a)))
                    for n, u, a in DISK_METERS]  # fmt: skip
    for nic in found.nics:
        samples += [(f"vm-{rid}-{nic.tap}", n, u, float(getattr(nic, a)))
                    for n, u, a in NIC_METERS]  # fmt: skip
    return samples


def _batch(samples: list[tuple[str, str, str, float]], at: str) -> dict[str, Any]:
    """The body ``MetricClient.push`` sends."""
    batch: dict[str, dict[str, Any]] = {}
    for rid, name, unit, value in samples:
        metric = batch.setdefault(rid, {}).setdefault(
            name, {"archive_policy_name": "low", "unit": unit, "measures": []}
        )
        metric["measures"].append({"timestamp": at, "value": value})
    return batch


def run(args: argparse.Namespace, api: tuple[Client, str] | None) -> dict[str, Any]:
    with guests(min(args.guests, 64), args.prefix) as found:
        pids = [pid for pid, _ in found]
        time.sleep(2)  # past start-up
        idle_from, wall_from = sum(map(_cpu_s, pids)), time.monotonic()
        time.sleep(args.idle)
        idle_rate = (sum(map(_cpu_s, pids)) - idle_from) / (time.monotonic() - wall_from)
        vm = _Machines()
        rounds = min(args.rounds, 500)
        poll_cpu = push_cpu = server_cpu = 0.0
        qemu_from, wall_from = sum(map(_cpu_s, pids)), time.monotonic()
        for r in range(rounds):
            started = time.thread_time()
            polled = [stats.guest_stats(vm, defn, pid) for pid, defn in found]  # type: ignore[arg-type]
            poll_cpu += time.thread_time() - started
            if api is not None:
                at = datetime.fromtimestamp(1_767_225_600 + r * 300, tz=UTC).isoformat()
                server_from = _cpu_s(args.server_pid) if args.server_pid else 0.0
                started = time.thread_time()
                samples = [s for i, g in enumerate(polled) for s in _samples(i, g, at)]
                client, token = api
                status, _, body = client.request(
                    "POST", "/v1/batch/resources/metrics/measures?create_metrics=true",
                    {"X-Auth-Token": token}, _batch(samples, at),
                )  # fmt: skip
                push_cpu += time.thread_time() - started
                if status != 202:
                    raise SystemExit(f"batch: {status} {body[:300]!r}")
                if args.server_pid:
                    server_cpu += _cpu_s(args.server_pid) - server_from
        wall = time.monotonic() - wall_from
        qemu_cpu = sum(map(_cpu_s, pids)) - qemu_from - idle_rate * wall
    per = rounds * len(found)
    report = {
        "guests": len(found),
        "rounds": rounds,
        "poller_ms_per_guest_poll": round(poll_cpu / per * 1000, 3),
        "qemu_ms_per_guest_poll": round(max(qemu_cpu, 0.0) / per * 1000, 3),
        "qemu_idle_cpu_pct_all_guests": round(idle_rate * 100, 2),
    }
    if api is not None:
        report["push_client_ms_per_guest"] = round(push_cpu / per * 1000, 3)
        if args.server_pid:
            report["push_server_ms_per_guest"] = round(server_cpu / per * 1000, 3)
    total_ms = sum(v for k, v in report.items() if k.endswith("_per_guest_poll")
                   or k.startswith("push_"))  # fmt: skip
    for interval in (300, 60, 10):  # % of one core for 100 guests polled every interval
        report[f"pct_core_100_guests_every_{interval}s"] = round(total_ms * 100 / interval / 10, 3)
    return report


def _setup(args: argparse.Namespace) -> tuple[Client, str] | None:
    if args.metric_url and args.token:
        url, token = args.metric_url, args.token
    elif args.os_cloud:
        token, body = issue_token(creds_from_args(args))
        url = next(e["url"] for s in body["token"]["catalog"] if s["type"] == "metric"
                   for e in s["endpoints"] if e["interface"] == "public")  # fmt: skip
    else:
        return None
    if not url.startswith(("http://127.0.0.1", "http://localhost")):
        raise SystemExit(f"refusing a non-loopback endpoint: {url}")
    client = Client(url)
    for i in range(min(args.guests, 64)):  # the resources the poller creates on first sight
        rid = str(uuid.UUID(int=i + 1))
        for resource in (rid, f"{rid}-vda", f"vm-{rid}-lo"):
            client.request("POST", "/v1/resource/generic", {"X-Auth-Token": token},
                           {"id": resource})  # fmt: skip
    return client, token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_auth_args(parser)
    parser.add_argument("--metric-url")
    parser.add_argument("--token")
    parser.add_argument("--server-pid", type=int)
    parser.add_argument("--guests", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle baseline")
    parser.add_argument("--prefix", default="tsbench")
    args = parser.parse_args()
    if not shutil.which("qemu-system-x86_64"):
        raise SystemExit("qemu-system-x86_64 is not installed")
    print(json.dumps(run(args, _setup(args))))


if __name__ == "__main__":
    main()
