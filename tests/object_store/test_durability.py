"""Durability with three storage hosts (Swift's distributed mode on this machine).

Three network namespaces on a bridge of the test's own are three storage hosts, each one
``tinystack serve object-store-storage`` process (account, container and object servers
and their daemons) with two devices; a ``tinystack up`` on the host runs identity and the
proxy (``[object_store] role = proxy``) over rings naming the hosts' addresses: 6 devices
in 3 zones, 3 replicas. The scenario, as the object store's acceptance states it:

1. 1,000 small objects written at concurrency 16 while one host is killed part-way: every
   write succeeds (handoffs) and every read returns the right bytes;
2. the host restarts: the replicators revert the handoff partitions and every object has
   its 3 copies on its primaries; its container replica, down during the writes, catches
   up with every object through the updaters' async pendings;
3. one device's directory is deleted (a replaced, empty disk): replication refills it;
4. one replica's bytes are corrupted: the auditor quarantines it and replication restores
   a good copy.

Everything carries the run's tag (``tsod`` + 4 hex digits): namespaces, veths, the
bridge; the finalizer kills the hosts' process groups and removes whatever carries it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from swiftclient import client as swift

from tests.cloudproc import BIN, ROOT, CloudProcess
from tests.network_dataplane.support import Namespace, cleanup_tagged, run, wait_for
from tinystack.object_store.ring.builder import RingBuilder, write_ring
from tinystack.object_store.ring.layout import RINGS, Rings, builder_path, hash_suffix, ring_path
from tinystack.object_store.ring.ring import hash_path

pytestmark = pytest.mark.root
OBJECTS = 1000
CONCURRENCY = 16
PORTS = {"object": 6200, "container": 6201, "account": 6202}
HEALTH_PORT = 6209
DEVICES = ("d1", "d2")


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, veths, a bridge)"
    if shutil.which("ip") is None:
        return "needs iproute2"
    return None


SKIP = _skip_reason()


def _free_subnet() -> str:
    """A /24 of 198.19.0.0/16 (benchmarking range) no interface of this machine uses."""
    used = run(["ip", "-4", "-o", "addr"])
    for octet in range(100 + os.getpid() % 100, 256):
        prefix = f"198.19.{octet}"
        if f" {prefix}." not in used:
            return prefix
    raise RuntimeError("no free 198.19.x.0/24")


class StorageHost:
    """One storage host: a namespace on the bridge and its storage server process."""

    def __init__(self, tag: str, index: int, ip: str, base: Path, bridge: str) -> None:
        self.index = index
        self.ip = ip
        self.state = base / f"host{index}"
        self.devices = self.state / "devices"
        self.ns = Namespace(f"{tag}s{index}")
        near = f"{tag}v{index}"
        run(["ip", "link", "add", near, "type", "veth", "peer", "name", "eth0",
             "netns", self.ns.name])  # fmt: skip
        run(["ip", "link", "set", near, "master", bridge, "up"])
        self.ns.sh("ip", "addr", "add", f"{ip}/24", "dev", "eth0")
        self.ns.sh("ip", "link", "set", "eth0", "up")
        for dev in DEVICES:
            (self.devices / dev).mkdir(parents=True)
        self.conf = self.state / "tinystack.conf"
        self.conf.write_text(
            "\n".join([
                "[DEFAULT]",
                f"state_dir = {self.state}",
                f"bind_host = {ip}",
                "enabled_services = identity,object_store",
                "[object_store]",
                f"port = {HEALTH_PORT}",
                f"storage_listen = {ip}",
                *(f"{kind}_port = {port}" for kind, port in PORTS.items()),
                f"ring_dir = {self.state / 'rings'}",
                f"devices = {self.devices}",
                "replicator_interval = 1",
                "auditor_interval = 1",
            ]) + "\n"
        )  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.state / "storage.log", "ab") as log:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns.name, str(BIN / "tinystack"), "serve",
                 "object-store-storage", "--config-file", str(self.conf)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )  # fmt: skip

    def healthy(self) -> bool:
        try:
            url = f"http://{self.ip}:{HEALTH_PORT}/healthcheck"
            with urllib.request.urlopen(url, timeout=1) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def wait_ready(self) -> None:
        def up() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log()
            return self.healthy() and all(
                f":{port}" in self.ns.sh("ss", "-ltn", check=False) for port in PORTS.values()
            )

        assert wait_for(up, 90, 0.2), self.log()

    def kill(self) -> None:
        """Stop the host hard (its whole process group, by the group we started)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(20)
        self.proc = None

    def log(self) -> str:
        path = self.state / "storage.log"
        return path.read_text()[-3000:] if path.exists() else ""


class Cluster:
    def __init__(self, base: Path) -> None:
        self.tag = f"tsod{uuid.uuid4().hex[:4]}"
        self.bridge = f"{self.tag}br"
        self.base = base
        self.hosts: list[StorageHost] = []
        self.proxy: CloudProcess | None = None
        self.ring_dir = base / "rings"

    def build(self) -> None:
        subnet = _free_subnet()
        run(["ip", "link", "add", self.bridge, "type", "bridge"])
        run(["ip", "addr", "add", f"{subnet}.1/24", "dev", self.bridge])
        run(["ip", "link", "set", self.bridge, "up"])
        for index in (1, 2, 3):
            host = StorageHost(self.tag, index, f"{subnet}.{10 + index}", self.base, self.bridge)
            self.hosts.append(host)
        self._rings()
        for host in self.hosts:
            # what an operator copies to every host: the rings and the hash path suffix
            shutil.copytree(self.ring_dir, host.state / "rings")
            host.start()
        self.proxy = CloudProcess(
            self.base / "proxy", ["identity", "object_store"],
            f"[object_store]\nrole = proxy\nring_dir = {self.ring_dir}\nconn_timeout = 0.5\n",
        )  # fmt: skip
        self.proxy.start(timeout=120)
        for host in self.hosts:
            host.wait_ready()

    def _rings(self) -> None:
        self.ring_dir.mkdir(parents=True)
        hash_suffix(self.ring_dir)
        for name in RINGS:
            builder = RingBuilder(6, 3, 0)
            for host in self.hosts:
                for dev in DEVICES:
                    builder.add_dev(region=1, zone=host.index, ip=host.ip, port=PORTS[name],
                                    device=dev, weight=100)  # fmt: skip
            builder.rebalance()
            builder.save(builder_path(self.ring_dir, name))
            write_ring(builder, ring_path(self.ring_dir, name))

    def host_of(self, ip: str) -> StorageHost:
        return next(h for h in self.hosts if h.ip == ip)

    def destroy(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        for host in self.hosts:
            try:
                host.kill()
            except (OSError, subprocess.TimeoutExpired):
                pass
            host.ns.destroy()
        cleanup_tagged(self.tag)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if SKIP:
        pytest.skip(SKIP)
    found = Cluster(Path(tmp_path_factory.mktemp("durability")))
    try:
        found.build()
        yield found
    finally:
        found.destroy()


def _connection(cluster: Cluster) -> swift.Connection:
    assert cluster.proxy is not None
    return swift.Connection(
        authurl=cluster.proxy.auth_url, user="admin", key=cluster.proxy.password("admin"),
        auth_version="3", retries=0, timeout=30,
        os_options={"project_name": "admin", "user_domain_name": "Default",
                    "project_domain_name": "Default"},
    )  # fmt: skip


def _parallel(conn: swift.Connection, work: Callable[[swift.Connection, int], None]) -> None:
    """``work(connection, i)`` for every object, ``CONCURRENCY`` threads with their own
    connection (one token)."""
    url, token = conn.get_auth()
    local = threading.local()

    def one(index: int) -> None:
        if not hasattr(local, "conn"):
            local.conn = swift.Connection(preauthurl=url, preauthtoken=token, retries=0,
                                          timeout=30)  # fmt: skip
        work(local.conn, index)

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, range(OBJECTS)))


def _body(index: int) -> bytes:
    return f"object {index} ".encode() * (1 + index % 40)


def _copies(cluster: Cluster, rings: Rings, name: str) -> tuple[list[Path], list[Path]]:
    """The object's .data files on its primaries and on other devices (handoffs)."""
    part, primaries = rings.object.nodes(ACCOUNT[0], "durable", name)
    digest = hash_path("", hash_suffix(cluster.ring_dir), ACCOUNT[0], "durable", name)
    on_primaries: list[Path] = []
    elsewhere: list[Path] = []
    wanted = {(n.ip, n.device) for n in primaries}
    for host in cluster.hosts:
        for dev in DEVICES:
            hash_dir = host.devices / dev / "objects" / str(part) / digest[-3:] / digest
            found = sorted(hash_dir.glob("*.data")) if hash_dir.is_dir() else []
            (on_primaries if (host.ip, dev) in wanted else elsewhere).extend(found)
    return on_primaries, elsewhere


def _converged(cluster: Cluster, rings: Rings) -> bool:
    for index in range(OBJECTS):
        primaries, elsewhere = _copies(cluster, rings, f"o{index:04d}")
        if len(primaries) != 3 or elsewhere:
            return False
        if any(p.read_bytes() != _body(index) for p in primaries):
            return False
    return True


#: the admin project's account (set by the test)
ACCOUNT: list[str] = [""]


def test_three_hosts_keep_every_object(cluster: Cluster) -> None:
    started = time.monotonic()
    conn = _connection(cluster)
    url, _ = conn.get_auth()
    ACCOUNT[0] = url.rsplit("/", 1)[1]
    rings = Rings.load(cluster.ring_dir)
    conn.put_container("durable")
    victim = cluster.hosts[2]

    # 1. one host dies during the writes: every write still succeeds (handoffs)
    def put(c: swift.Connection, index: int) -> None:
        if index == OBJECTS // 4:
            victim.kill()
        etag = c.put_object("durable", f"o{index:04d}", _body(index))
        assert etag == hashlib.md5(_body(index), usedforsecurity=False).hexdigest()

    _parallel(conn, put)
    pending = [p for h in cluster.hosts[:2] for d in DEVICES
               for p in (h.devices / d / "async_pending").glob("*")]  # fmt: skip
    assert pending, "the down host's container replica should have left async pendings"

    def get(c: swift.Connection, index: int) -> None:
        _, body = c.get_object("durable", f"o{index:04d}")
        assert body == _body(index)

    _parallel(conn, get)
    print(f"durability: writes and reads with a host down in {time.monotonic() - started:.1f}s")
    handoff_copies = sum(len(_copies(cluster, rings, f"o{i:04d}")[1]) for i in range(OBJECTS))
    assert handoff_copies > 0, "writes while a host was down should have used handoffs"

    # 2. it comes back: handoffs revert, 3 copies on primaries, its container catches up
    victim.start()
    victim.wait_ready()
    assert wait_for(lambda: _converged(cluster, rings), 120, 1.0), "replication did not converge"
    part, nodes = rings.container.nodes(ACCOUNT[0], "durable")
    mine = next(n for n in nodes if n.ip == victim.ip)

    def victim_listing() -> int:
        path = f"/{mine.device}/{part}/{ACCOUNT[0]}/durable"
        req = urllib.request.Request(f"http://{mine.ip}:{mine.port}{path}", method="HEAD")
        with urllib.request.urlopen(req, timeout=5) as resp:
            return int(resp.headers["X-Container-Object-Count"])

    assert wait_for(lambda: victim_listing() == OBJECTS, 60, 1.0), victim_listing()
    assert wait_for(lambda: not any(
        (h.devices / d / "async_pending").exists() and any((h.devices / d / "async_pending")
                                                           .iterdir())
        for h in cluster.hosts for d in DEVICES), 60, 1.0)  # fmt: skip
    headers, listing = conn.get_container("durable", full_listing=True)
    assert len(listing) == OBJECTS

    # 3. a disk replaced by an empty one: replication refills it
    emptied = cluster.hosts[0].devices / "d1"
    removed = cluster.hosts[0].state / "d1.removed"
    emptied.rename(removed)  # at once, while the servers keep writing to it
    emptied.mkdir()
    shutil.rmtree(removed)
    print(f"durability: restarted host converged at {time.monotonic() - started:.1f}s")
    assert wait_for(lambda: _converged(cluster, rings), 120, 1.0), "the empty disk stayed empty"

    print(f"durability: empty disk refilled at {time.monotonic() - started:.1f}s")

    # 4. a corrupt replica: quarantined by the auditor, restored by replication
    primaries, _ = _copies(cluster, rings, "o0007")
    corrupt = primaries[0]
    data = bytearray(corrupt.read_bytes())
    data[0] ^= 0xFF
    with open(corrupt, "r+b") as f:
        f.write(bytes(data))
    device = corrupt.parents[4]
    assert wait_for(lambda: any((device / "quarantined" / "objects").glob("*/*.data")), 60, 0.5)
    assert wait_for(lambda: _converged(cluster, rings), 120, 1.0), "no good copy came back"
    _, body = conn.get_object("durable", "o0007")
    assert body == _body(7)
    print(f"durability scenario: {time.monotonic() - started:.1f}s")
