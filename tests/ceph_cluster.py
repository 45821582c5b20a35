"""A throwaway single-node Ceph cluster for tests: one monitor, one manager and one
BlueStore OSD on a sparse file, cephx on, every port taken from ``cloudproc.free_port()``.

``CephCluster(directory).start()`` makes the keys, the monitor map and the daemons
(started in the foreground as children, so the cluster stops by the PIDs recorded here,
whatever happened), the pools ``images``, ``volumes``, ``backups`` and ``vms``
(RBD-initialised) and the cephx users OpenStack's services use, each with ``profile
rbd`` caps on its pools and a keyring ``ceph.client.<name>.keyring`` beside
``ceph.conf`` (``start_background()`` + ``wait()``: the same in a thread, so that other
fixtures build meanwhile). ``stop()`` kills the daemons; the directory goes with the
test's tmp dir.

Measured here (2 cores): 31-46 s from nothing to a usable cluster at load 11-20
(CEPH.md: 12-15 s on a quiet machine), ~0.4 GiB RSS.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.cloudproc import _ISSUED, WORKER_PORTS, free_port
from tinystack.common import ceph

DAEMONS = ("ceph-mon", "ceph-mgr", "ceph-osd", "ceph-authtool", "monmaptool")
POOLS = ("images", "volumes", "backups", "vms")
#: user -> (mon caps, osd caps, mgr caps), as the upstream guides give them; compute's
#: user (``cinder`` in the tests, as in Ceph's guide) may write ``images``, which Nova's
#: direct snapshots need (``nova`` keeps the guide's read-only access: the fallback)
USERS: dict[str, tuple[str, str, str]] = {
    "glance": ("profile rbd", "profile rbd pool=images", "profile rbd pool=images"),
    "cinder": (
        "profile rbd",
        "profile rbd pool=volumes, profile rbd pool=vms, profile rbd pool=images",
        "profile rbd pool=volumes, profile rbd pool=vms",
    ),
    "cinder-backup": ("profile rbd", "profile rbd pool=backups", "profile rbd pool=backups"),
    "nova": (
        "profile rbd",
        "profile rbd pool=vms, profile rbd pool=volumes, profile rbd-read-only pool=images",
        "profile rbd pool=vms",
    ),
}
#: name prefixes of the RADOS objects an RBD image consists of
IMAGE_OBJECTS = ("rbd_data.", "rbd_header.", "rbd_id.", "rbd_object_map.")
#: ports the daemons may bind (ms bind port min/max): the OSD takes 4, the manager 1
MSGR_PORTS = 12


def skip_reason() -> str | None:
    """None when a test cluster can run here, else why not."""
    missing = [d for d in DAEMONS if shutil.which(d) is None]
    if missing:
        return "Ceph is not installed (apt-get install ceph-mon ceph-mgr ceph-osd): " + (
            ", ".join(missing) + " missing"
        )
    return ceph.available()


def free_range(count: int) -> int:
    """The first of ``count`` consecutive free ports (the daemons' messenger range)."""
    while True:
        base = free_port()
        ports = range(base, base + count)
        if any(p in _ISSUED for p in ports[1:]) or ports[-1] > WORKER_PORTS[1]:
            continue
        free = True
        for port in ports[1:]:
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    free = False
                    break
        if free:
            _ISSUED.update(ports)
            return base


@dataclass
class CephCluster:
    directory: Path
    fsid: str = field(default_factory=lambda: str(uuid.uuid4()))
    mon_port: int = 0
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    #: seconds from nothing to a usable cluster
    startup: float = 0.0
    #: the first of MSGR_PORTS + 1 ports to use (a cluster started by hand in an
    #: engineer's range); 0: free ports from cloudproc.free_port()
    port_base: int = 0
    osd_id: str = "0"
    _thread: threading.Thread | None = field(default=None, repr=False)
    _error: BaseException | None = field(default=None, repr=False)

    @property
    def conf(self) -> Path:
        return self.directory / "ceph.conf"

    def keyring(self, user: str) -> Path:
        return self.directory / f"ceph.client.{user}.keyring"

    def spec(self, user: str) -> ceph.ClusterSpec:
        return ceph.ClusterSpec(str(self.conf), user)

    def key(self, user: str) -> str:
        """The cephx key of ``client.<user>`` (for assertions that it leaks nowhere)."""
        for line in self.keyring(user).read_text().splitlines():
            name, _, value = line.partition("=")
            if name.strip() == "key":
                return value.strip()
        raise KeyError(user)

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> CephCluster:
        started = time.monotonic()
        try:
            self._configure()
            self._mon()
            with self.admin() as cluster:
                self._mgr(cluster)
                self._osd(cluster)
                self._pools_and_users(cluster)
                self._wait_usable(cluster)
        except BaseException:
            self.stop()
            raise
        self.startup = time.monotonic() - started
        return self

    def start_background(self) -> CephCluster:
        """Start in a thread (other fixtures build meanwhile); :meth:`wait` joins it."""
        self._thread = threading.Thread(target=self._start_recording, name="tsq-ceph-start")
        self._thread.start()
        return self

    def _start_recording(self) -> None:
        try:
            self.start()
        except BaseException as exc:  # re-raised by wait()
            self._error = exc

    def wait(self) -> CephCluster:
        """The started cluster; raises what the start raised."""
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise RuntimeError(f"the test cluster did not start: {self._error}") from self._error
        return self

    def stop(self) -> None:
        """Kill the daemons this object started (by PID) and reap them."""
        for name, proc in reversed(list(self.procs.items())):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            del self.procs[name]

    @contextlib.contextmanager
    def admin(self) -> Iterator[Any]:
        with ceph.connect(ceph.ClusterSpec(str(self.conf), "admin", 30)) as cluster:
            yield cluster

    def command(self, cluster: Any, prefix: str, **args: Any) -> Any:
        """A monitor command as the admin; its JSON answer (or None)."""
        ret, out, err = cluster.mon_command(
            json.dumps({"prefix": prefix, "format": "json", **args}), b"", timeout=30
        )
        if ret != 0:
            raise RuntimeError(f"ceph {prefix}: {err} ({ret})")
        return json.loads(out) if out else None

    def pool_usage(self) -> dict[str, list[str]]:
        """The RADOS objects of RBD images (data, headers, ids, object maps) left in each
        pool, by pool (for "nothing orphaned" checks; the pools' own bookkeeping objects
        such as ``rbd_directory`` or ``rbd_trash`` are not counted)."""
        with self.admin() as cluster:
            left: dict[str, list[str]] = {}
            for pool in POOLS:
                io = cluster.open_ioctx(pool)
                try:
                    names = sorted(o.key for o in io.list_objects())
                finally:
                    io.close()
                left[pool] = [n for n in names if n.startswith(IMAGE_OBJECTS)]
            return left

    # -- steps -------------------------------------------------------------------------------
    def _run(self, *args: str) -> str:
        result = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stderr.strip()[-2000:]}")
        return result.stdout

    def _configure(self) -> None:
        d = self.directory
        for sub in ("run", "log", "mon/ceph-a", "mgr/ceph-x", "osd/ceph-0"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        if self.port_base:
            self.mon_port, msgr = self.port_base, self.port_base + 1
        else:
            self.mon_port, msgr = free_port(), free_range(MSGR_PORTS)
        self.conf.write_text(
            f"""[global]
fsid = {self.fsid}
mon host = v2:127.0.0.1:{self.mon_port}
public addr = 127.0.0.1
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
ms bind msgr1 = false
ms bind port min = {msgr}
ms bind port max = {msgr + MSGR_PORTS - 1}
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
run dir = {d}/run
admin socket = {d}/run/$cluster-$name.asok
log file = {d}/log/$cluster-$name.log
mon data = {d}/mon/$cluster-$id
mgr data = {d}/mgr/$cluster-$id
osd data = {d}/osd/$cluster-$id
osd objectstore = bluestore
bluestore block path = {d}/osd/$cluster-$id/block.file
bluestore block create = true
bluestore block size = 5368709120
bluestore cache size = 134217728
osd memory target = 939524096
[client]
keyring = {d}/$cluster.$name.keyring
log file = /dev/null
"""
        )
        mon_keyring = d / "mon.keyring"
        self._run(
            "ceph-authtool", "--create-keyring", str(mon_keyring), "--gen-key", "-n", "mon.",
            "--cap", "mon", "allow *",
        )  # fmt: skip
        admin = self.keyring("admin")
        self._run(
            "ceph-authtool", "--create-keyring", str(admin), "--gen-key", "-n", "client.admin",
            "--cap", "mon", "allow *", "--cap", "osd", "allow *", "--cap", "mds", "allow *",
            "--cap", "mgr", "allow *",
        )  # fmt: skip
        self._run("ceph-authtool", str(mon_keyring), "--import-keyring", str(admin))
        monmap = d / "monmap"
        self._run(
            "monmaptool", "--create", "--fsid", self.fsid,
            "--addv", "a", f"[v2:127.0.0.1:{self.mon_port}]", str(monmap),
        )  # fmt: skip
        self._run(
            "ceph-mon", "-c", str(self.conf), "--mkfs", "-i", "a",
            "--monmap", str(monmap), "--keyring", str(mon_keyring),
        )  # fmt: skip

    def _daemon(self, name: str, *args: str) -> None:
        log = (self.directory / "log" / f"{name}.out").open("wb")
        with log:
            self.procs[name] = subprocess.Popen(
                [name, "-f", "-c", str(self.conf), *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _mon(self) -> None:
        self._daemon("ceph-mon", "-i", "a")

    def _mgr(self, cluster: Any) -> None:
        keyring = self.directory / "mgr/ceph-x/keyring"
        self._write_key(cluster, "mgr.x", keyring, mon="allow profile mgr", osd="allow *")
        self._daemon("ceph-mgr", "-i", "x")

    def _osd(self, cluster: Any) -> None:
        osd_uuid = str(uuid.uuid4())
        key = self._run("ceph-authtool", "--gen-print-key").strip()
        secrets = self.directory / "osd-secrets.json"
        secrets.write_text(json.dumps({"cephx_secret": key}))
        ret, out, err = cluster.mon_command(
            json.dumps({"prefix": "osd new", "uuid": osd_uuid, "format": "json"}),
            secrets.read_bytes(),
            timeout=30,
        )
        secrets.unlink()
        if ret != 0:
            raise RuntimeError(f"osd new: {err}")
        osd_id = str(json.loads(out)["osdid"])
        data = self.directory / f"osd/ceph-{osd_id}"
        data.mkdir(parents=True, exist_ok=True)
        keyring = data / "keyring"
        keyring.write_text(f"[osd.{osd_id}]\n\tkey = {key}\n")
        keyring.chmod(0o600)
        self._run("ceph-osd", "-c", str(self.conf), "--mkfs", "-i", osd_id, "--osd-uuid", osd_uuid)
        self.osd_id = osd_id
        self._daemon("ceph-osd", "-i", osd_id)

    # -- faults ------------------------------------------------------------------------------
    def stop_osd(self) -> None:
        """Stop the OSD (its PID, SIGTERM: it tells the monitor it is going down)."""
        proc = self.procs.pop("ceph-osd")
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def start_osd(self) -> None:
        """Start the stopped OSD again and wait until its placement groups are active."""
        self._daemon("ceph-osd", "-i", self.osd_id)
        deadline = time.monotonic() + 120
        with self.admin() as cluster:
            while not (self._osd_up(cluster) and self._pgs_active(cluster)):
                self._check_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError("the placement groups did not become active again")
                time.sleep(0.3)

    def _write_key(self, cluster: Any, entity: str, path: Path, **caps: str) -> None:
        flat = [x for kind, cap in caps.items() for x in (kind, cap)]
        answer = self.command(cluster, "auth get-or-create", entity=entity, caps=flat)
        key = answer[0]["key"]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"[{entity}]\n\tkey = {key}\n")

    def _pools_and_users(self, cluster: Any) -> None:
        rbd = ceph.bindings().rbd
        for pool in POOLS:
            self.command(cluster, "osd pool create", pool=pool, pg_num=8)
        for user, (mon, osd, mgr) in USERS.items():
            keyring = self.keyring(user)
            self._write_key(cluster, f"client.{user}", keyring, mon=mon, osd=osd, mgr=mgr)
        deadline = time.monotonic() + 90
        while not self._pgs_active(cluster):
            self._check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError("the placement groups did not become active")
            time.sleep(0.3)
        for pool in POOLS:
            io = cluster.open_ioctx(pool)
            try:
                rbd.RBD().pool_init(io, True)
            finally:
                io.close()

    def _osd_up(self, cluster: Any) -> bool:
        osds = self.command(cluster, "osd dump").get("osds", [])
        return any(str(o["osd"]) == self.osd_id and o["up"] == 1 for o in osds)

    def _pgs_active(self, cluster: Any) -> bool:
        status = self.command(cluster, "status")
        pgmap = status.get("pgmap", {})
        total = pgmap.get("num_pgs", 0)
        # "stale+active+clean": the monitor's last word from an OSD that has gone since
        active = sum(
            s["count"]
            for s in pgmap.get("pgs_by_state", [])
            if "active" in s["state_name"] and "stale" not in s["state_name"]
        )
        return bool(total) and active == total and total >= 8 * len(POOLS)

    def _wait_usable(self, cluster: Any) -> None:
        """Until the manager reports capacity (``ceph df``), which drivers schedule by."""
        deadline = time.monotonic() + 90
        while True:
            self._check_alive()
            df = self.command(cluster, "df")
            if df and df.get("stats", {}).get("total_bytes", 0) > 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the manager reports no capacity")
            time.sleep(0.3)

    def _check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                log = (self.directory / "log" / f"{name}.out").read_text(errors="replace")
                raise RuntimeError(f"{name} exited ({proc.returncode}): {log[-2000:]}")
