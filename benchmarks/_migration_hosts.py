"""Two QEMU driver hosts on this machine for ``migration.py --hosts`` (root, QEMU, TCG).

The driver-level half of the live migration benchmark: each host a :class:`QemuDriver`
with its own state directory (as ``tests/compute_qemu/test_live_migration.py`` makes
them), the test guest image built with ``tinystack image build-test``'s builder. It
measures what the API-level rounds cannot separate:

* a live migration of an idle 512 MiB guest between two hosts sharing ``instances_path``
  (memory only): its time and QEMU's reported downtime;
* a block migration of a guest whose 1 GiB raw ephemeral disk is full of data (written
  while the guest is off, so nothing is sparse): the disk mirror's throughput (bytes over
  the time from the ``drive-mirror`` until every mirror is ready), against the same file
  copied over NBD on 127.0.0.1 with ``qemu-img convert`` into a ``qemu-nbd`` export (the
  transport ``drive-mirror`` uses) and with ``cp``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid as uuidlib
from pathlib import Path
from typing import Any

from tinystack.common.rpc.context import CallContext
from tinystack.compute.objects import FlavorMeta, ImageMeta, InstanceMeta, MigrationProgress
from tinystack.compute.virt.qemu.definition import EPHEMERAL_DISK
from tinystack.compute.virt.qemu.driver import QemuDriver
from tinystack.compute.virt.qemu.imagecache import FileImageSource
from tinystack.compute.virt.qemu.settings import QemuSettings
from tinystack.guest.build import build_test_image

MiB = 1024**2
READY = "TINYSTACK-GUEST-READY"
#: the ports the loopback NBD copy may use (this benchmark's share of the machine)
NBD_PORTS = range(21150, 21200)


class Host:
    def __init__(self, name: str, state: Path, images: FileImageSource, shared: Path | None):
        self.name, self.ctx = name, CallContext.internal()
        settings = QemuSettings(state_dir=state, accel="tcg", instances_path=shared)
        settings.vnc_enabled = False
        self.driver = QemuDriver(name, settings, images)
        self.driver.init_host(self.ctx, name)

    def wait_console(self, inst: InstanceMeta, text: str) -> None:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            if text in self.driver.get_console_output(self.ctx, inst):
                return
            time.sleep(1)
        raise SystemExit(f"{inst.uuid} never printed {text} on {self.name}")


def _instance(memory_mb: int, ephemeral_gb: int = 0) -> InstanceMeta:
    flavor = FlavorMeta(
        flavorid="bench", name="bench", vcpus=1, memory_mb=memory_mb, root_gb=1,
        ephemeral_gb=ephemeral_gb, swap=0,
    )  # fmt: skip
    return InstanceMeta(
        uuid=str(uuidlib.uuid4()), name="migration-bench", hostname="migration-bench",
        project_id="bench", user_id="bench", flavor=flavor,
        image=ImageMeta(id="img-bench", disk_format="qcow2"),
    )  # fmt: skip


def _migrate(src: Host, dst: Host, inst: InstanceMeta) -> dict[str, Any]:
    """One live migration, driver to driver as the agents call it; its figures."""
    started = time.monotonic()
    data = dst.driver.check_can_live_migrate_destination(dst.ctx, inst, None)
    try:
        data = src.driver.check_can_live_migrate_source(src.ctx, inst, data)
    finally:
        dst.driver.cleanup_live_migration_destination_check(dst.ctx, data)
    data = dst.driver.pre_live_migration(dst.ctx, inst, [], [], data)
    copying = time.monotonic()
    mirrored: list[float] = []

    def progress(report: MigrationProgress) -> None:
        if report.memory_total and not mirrored:
            mirrored.append(time.monotonic())

    final = src.driver.live_migration(src.ctx, inst, data, progress)
    dst.driver.post_live_migration_at_destination(dst.ctx, inst, [], data)
    src.driver.post_live_migration(src.ctx, inst, [], data)
    done = time.monotonic()
    mirror_s = (mirrored[0] if mirrored else done) - copying
    return {
        "seconds": round(done - started, 3),
        "downtime_ms": final.downtime_ms,
        "shared_storage": data.shared_storage,
        "disk_bytes": final.disk_total,
        "mirror_s": round(mirror_s, 3) if final.disk_total else None,
        "mirror_mib_s": round(final.disk_total / MiB / mirror_s, 1) if final.disk_total else None,
    }


def _free_port() -> int:
    for port in NBD_PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise SystemExit("no free port for the loopback NBD copy")


def loopback_copy(source: Path, work: Path) -> dict[str, float]:
    """MiB/s of ``source`` copied over NBD on 127.0.0.1 and with ``cp`` (same disk)."""
    size = source.stat().st_size
    target = work / "nbd-target.raw"
    with open(target, "wb") as f:
        f.truncate(size)
    port = _free_port()
    pidfile = work / "qemu-nbd.pid"
    subprocess.run(
        ["qemu-nbd", "--fork", f"--pid-file={pidfile}", "-b", "127.0.0.1", "-p", str(port),
         "-f", "raw", "-x", "bench", str(target)],
        check=True, timeout=60,
    )  # fmt: skip
    try:
        started = time.monotonic()
        subprocess.run(
            ["qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", str(source),
             f"nbd://127.0.0.1:{port}/bench"],
            check=True, timeout=600,
        )  # fmt: skip
        nbd_s = time.monotonic() - started
    finally:
        pid = int(pidfile.read_text().strip()) if pidfile.is_file() else 0
        if pid:
            os.kill(pid, 15)
    copy = work / "cp-target.raw"
    started = time.monotonic()
    subprocess.run(["cp", "--sparse=never", str(source), str(copy)], check=True, timeout=600)
    os.sync()
    cp_s = time.monotonic() - started
    copy.unlink()
    target.unlink()
    return {"nbd_mib_s": round(size / MiB / nbd_s, 1), "cp_mib_s": round(size / MiB / cp_s, 1)}


def run(rounds: int, image_dir: Path) -> dict[str, Any]:
    """The shared-storage rounds, the block migration and the loopback copies (the test
    image built in, or reused from, ``image_dir``)."""
    work = Path(tempfile.mkdtemp(prefix="tsls-lm-bench-"))
    results: dict[str, Any] = {}
    hosts: list[Host] = []
    try:
        image = build_test_image(image_dir).image
        images = FileImageSource()
        images.add("img-bench", image)
        shared = work / "shared"
        pair = [Host(f"bench-h{n}", work / f"h{n}", images, shared) for n in (1, 2)]
        hosts += pair
        inst = _instance(512)
        pair[0].driver.spawn(pair[0].ctx, inst, [], None)
        pair[0].wait_console(inst, READY)
        results["shared"] = []
        for n in range(rounds):
            src, dst = pair[n % 2], pair[(n + 1) % 2]
            results["shared"].append(_migrate(src, dst, inst))
            print(f"shared storage round {n}: {results['shared'][-1]}", flush=True)
        pair[rounds % 2].driver.destroy(pair[0].ctx, inst, [])

        local = [Host(f"bench-b{n}", work / f"b{n}", images, None) for n in (1, 2)]
        hosts += local
        inst = _instance(512, ephemeral_gb=1)
        src, dst = local
        src.driver.spawn(src.ctx, inst, [], None)
        src.driver.power_off(src.ctx, inst)  # before it boots: the disk is written while off
        disk = src.driver.vm.disk_dir(inst.uuid) / EPHEMERAL_DISK
        block = os.urandom(MiB)
        with open(disk, "r+b") as f:
            for _ in range(disk.stat().st_size // MiB):
                f.write(block)
        src.driver.power_on(src.ctx, inst, [])
        src.wait_console(inst, READY)
        results["block"] = _migrate(src, dst, inst)
        print(f"block migration: {results['block']}", flush=True)
        dst.driver.power_off(dst.ctx, inst)
        results["loopback"] = loopback_copy(
            dst.driver.vm.disk_dir(inst.uuid) / EPHEMERAL_DISK, work
        )
        print(f"loopback copies: {results['loopback']}", flush=True)
        dst.driver.destroy(dst.ctx, inst, [])
    finally:
        for host in hosts:
            for uuid in host.driver.list_instances(host.ctx):
                pid = host.driver.qemu_pid(uuid)
                if pid:
                    os.kill(pid, 9)
        shutil.rmtree(work, ignore_errors=True)
    return results
