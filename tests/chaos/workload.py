"""A mixed workload for the chaos tests: servers booted with ports (some made by
compute, some made first through the network API), volumes, images and objects being
created and deleted by several threads at once, until told to stop.

A burst (:meth:`Workload.burst`) boots many servers at once beside the loops.
The cloud may die under it at any moment: a failed request is counted, never raised.
What the workload created and deleted is remembered (``created``, ``deleted``), so a
test can settle the cloud after a restart, check the invariants, then delete
everything and check that nothing is left.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from tests import invariants
from tests.chaos.session import Session

IMAGE_DATA = b"\0" * 65536


@dataclass
class Workload:
    session: Session
    seed: int = 0
    #: kind -> ids the cloud accepted (servers, ports, volumes, images, objects)
    created: dict[str, set[str]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    #: requests that failed without an answer (the cloud was down)
    errors: int = 0
    requests: int = 0
    #: 500 answers, and 503 without Retry-After ("METHOD url: status body"): always a
    #: bug (a service that cannot reach another or its database says 503, Retry-After)
    server_errors: list[str] = field(default_factory=list)
    network_id: str = ""
    #: networks with a DHCP subnet made and deleted too (the data plane's dnsmasq,
    #: namespaces and bridges)
    networks: bool = False
    image_id: str = ""
    container: str = ""
    #: boots the API accepted, and the most boot requests in flight at once
    boots: int = 0
    peak_boots: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- set-up --------------------------------------------------------------------------

    def setup(self) -> None:
        """No quota in the way, a network with a subnet, an image to boot from, a
        container."""
        s = self.session
        quotas = {"compute": {"instances": -1, "cores": -1, "ram": -1},
                  "block-storage": {"volumes": -1, "gigabytes": -1}}  # fmt: skip
        for service, limits in quotas.items():
            if s.has(service):
                path = f"/os-quota-sets/{s.project_id}"
                s.client(service).put(path, json={"quota_set": limits}).raise_for_status()
        if s.has("network"):
            net = s.client("network").post("/v2.0/networks", json={"network": {"name": "chaos"}})
            self.network_id = net.json()["network"]["id"]
            subnet = {"network_id": self.network_id, "ip_version": 4, "cidr": "10.77.0.0/16"}
            s.client("network").post("/v2.0/subnets", json={"subnet": subnet}).raise_for_status()
        if s.has("image"):
            self.image_id = self._image() or ""
        if s.has("object-store"):
            self.container = "chaos"
            s.client("object-store").put(f"/{self.container}").raise_for_status()

    # -- the operations ------------------------------------------------------------------

    def _remember(self, kind: str, rid: str) -> None:
        with self._lock:
            self.created.setdefault(kind, set()).add(rid)

    def _pick(self, kind: str) -> str | None:
        with self._lock:
            live = sorted(self.created.get(kind, set()) - self.deleted)
            if not live:
                return None
            rid = random.choice(live)
            self.deleted.add(rid)
            return rid

    def _boot(self) -> None:
        """A server with a port: made first through the network API half the time."""
        with self._lock:
            self._in_flight += 1
            self.peak_boots = max(self.peak_boots, self._in_flight)
        try:
            sid = self._boot_one()
        finally:
            with self._lock:
                self._in_flight -= 1
        self._remember("servers", sid)
        with self._lock:
            self.boots += 1

    def _boot_one(self) -> str:
        s = self.session
        networks: object = "none"
        if self.network_id:
            if random.random() < 0.5:
                body = {"port": {"network_id": self.network_id}}
                port = s.client("network").post("/v2.0/ports", json=body)
                port.raise_for_status()
                self._remember("ports", port.json()["port"]["id"])
                networks = [{"port": port.json()["port"]["id"]}]
            else:
                networks = [{"uuid": self.network_id}]
        server = {"name": "chaos", "flavorRef": "1", "imageRef": self.image_id,
                  "networks": networks}  # fmt: skip
        resp = s.client("compute").post("/servers", json={"server": server})
        resp.raise_for_status()
        return str(resp.json()["server"]["id"])

    def _delete_server(self) -> None:
        sid = self._pick("servers")
        if sid:
            self.session.client("compute").delete(f"/servers/{sid}")

    def _volume(self) -> None:
        body = {"volume": {"size": 1, "name": "chaos"}}
        resp = self.session.client("block-storage").post("/volumes", json=body)
        resp.raise_for_status()
        self._remember("volumes", resp.json()["volume"]["id"])

    def _delete_volume(self) -> None:
        vid = self._pick("volumes")
        if vid:
            self.session.client("block-storage").delete(f"/volumes/{vid}")

    def _image(self) -> str | None:
        client = self.session.client("image")
        body = {"name": "chaos", "disk_format": "raw", "container_format": "bare"}
        created = client.post("/v2/images", json=body)
        created.raise_for_status()
        iid = str(created.json()["id"])
        self._remember("images", iid)
        client.put(
            f"/v2/images/{iid}/file",
            content=IMAGE_DATA,
            headers={"Content-Type": "application/octet-stream"},
        ).raise_for_status()
        return iid

    def _delete_image(self) -> None:
        with self._lock:
            live = sorted(self.created.get("images", set()) - self.deleted - {self.image_id})
            iid = random.choice(live) if live else None
            if iid:
                self.deleted.add(iid)
        if iid:
            self.session.client("image").delete(f"/v2/images/{iid}")

    def _object(self) -> None:
        name = f"{self.container}/o-{uuid.uuid4().hex[:12]}"
        resp = self.session.client("object-store").put(f"/{name}", content=random.randbytes(4096))
        resp.raise_for_status()
        self._remember("objects", name)

    def _delete_object(self) -> None:
        name = self._pick("objects")
        if name:
            self.session.client("object-store").delete(f"/{name}")

    def _network(self) -> None:
        net = self.session.client("network")
        made = net.post("/v2.0/networks", json={"network": {"name": "chaos-net"}})
        made.raise_for_status()
        nid = made.json()["network"]["id"]
        self._remember("networks", nid)
        cidr = f"10.{random.randint(100, 199)}.{random.randint(0, 255)}.0/24"
        subnet = {"network_id": nid, "ip_version": 4, "cidr": cidr, "enable_dhcp": True}
        net.post("/v2.0/subnets", json={"subnet": subnet}).raise_for_status()
        port = net.post("/v2.0/ports", json={"port": {"network_id": nid}})
        port.raise_for_status()
        self._remember("ports", port.json()["port"]["id"])

    def _delete_network(self) -> None:
        nid = self._pick("networks")
        if nid:
            self._drop_network(nid)

    def _drop_network(self, nid: str) -> None:
        """The network's ports, then the network (its DHCP port goes with it)."""
        net = self.session.client("network")
        for port in net.get("/v2.0/ports", params={"network_id": nid}).json().get("ports", []):
            if not port["device_owner"].startswith("network:"):
                net.delete(f"/v2.0/ports/{port['id']}")
        net.delete(f"/v2.0/networks/{nid}")

    def operations(self) -> list[tuple[Callable[[], object], int]]:
        """(operation, weight) of what this cloud offers."""
        s = self.session
        ops: list[tuple[Callable[[], object], int]] = []
        if s.has("compute") and self.image_id:
            ops += [(self._boot, 4), (self._delete_server, 2)]
        if s.has("block-storage"):
            ops += [(self._volume, 2), (self._delete_volume, 1)]
        if s.has("image"):
            ops += [(self._image, 1), (self._delete_image, 1)]
        if s.has("object-store"):
            ops += [(self._object, 2), (self._delete_object, 1)]
        if self.networks:
            ops += [(self._network, 2), (self._delete_network, 1)]
        return ops

    # -- running -------------------------------------------------------------------------

    def run(self, stop: threading.Event, threads: int = 6) -> list[threading.Thread]:
        """Start ``threads`` workers looping over random operations until ``stop``."""
        ops = self.operations()
        funcs, weights = [op for op, _ in ops], [w for _, w in ops]

        def loop(n: int) -> None:
            rng = random.Random(self.seed * 100 + n)
            while not stop.is_set():
                self.attempt(rng.choices(funcs, weights)[0])

        workers = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(threads)]
        for worker in workers:
            worker.start()
        return workers

    def burst(self, count: int) -> list[threading.Thread]:
        """``count`` boots at once: one thread each, released together by a barrier."""
        barrier = threading.Barrier(count)

        def one() -> None:
            try:
                barrier.wait(60)
            except threading.BrokenBarrierError:
                pass
            self.attempt(self._boot)

        workers = [threading.Thread(target=one, daemon=True) for _ in range(count)]
        for worker in workers:
            worker.start()
        return workers

    def attempt(self, op: Callable[[], object]) -> None:
        """Run one operation; a failure is counted (a 500, or a 503 without Retry-After,
        is a server error: always a bug), never raised."""
        try:
            op()
        except httpx.HTTPStatusError as exc:
            resp = exc.response
            with self._lock:
                unclean = resp.status_code == 503 and "retry-after" not in resp.headers
                if resp.status_code == 500 or unclean:
                    self.server_errors.append(
                        f"{resp.request.method} {resp.request.url}: "
                        f"{resp.status_code} {resp.text[:300]}"
                    )
                else:
                    self.errors += 1
        except (httpx.HTTPError, KeyError, ValueError):
            with self._lock:
                self.errors += 1
            time.sleep(0.1)
        with self._lock:
            self.requests += 1

    def gone(self) -> set[str]:
        """Every id the workload saw (the checker looks for host devices of deleted ones)."""
        return set().union(*self.created.values()) if self.created else set()

    # -- after a restart -----------------------------------------------------------------

    def settle(self, timeout: float = 100) -> None:
        """Wait until no server, volume or image the workload made is in transition."""
        deadline = time.monotonic() + timeout
        while True:
            moving = invariants.unstable(invariants.Cloud(self.session))
            if not moving:
                return
            if time.monotonic() > deadline:
                raise AssertionError("not settled: " + "; ".join(moving[:10]))
            time.sleep(0.5)

    def cleanup(self, timeout: float = 180) -> None:
        """Delete every server, volume, image and object named by the workload (also
        those whose creation answer the crash swallowed), its ports, and wait until
        they are gone."""
        s = self.session
        found: list[tuple[str, str]] = []
        if s.has("compute"):
            servers = s.get("compute", "/servers", params={"all_tenants": "1", "name": "^chaos$"})
            found += [("compute", f"/servers/{x['id']}") for x in servers["servers"]]
        if s.has("block-storage"):
            volumes = s.get("block-storage", "/volumes", params={"all_tenants": "1"})
            found += [("block-storage", f"/volumes/{v['id']}") for v in volumes["volumes"]
                      if v["name"] == "chaos"]  # fmt: skip
        if s.has("image"):
            images = s.get("image", "/v2/images", params={"name": "chaos", "limit": 1000})
            found += [("image", f"/v2/images/{i['id']}") for i in images["images"]]
        if self.container:
            listed = s.get("object-store", f"/{self.container}", params={"format": "json"})
            found += [("object-store", f"/{self.container}/{o['name']}") for o in listed]
        for service, path in found:
            s.client(service).delete(path)
        deadline = time.monotonic() + timeout
        for service, path in found:
            while s.client(service).get(path).status_code != 404:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{path} not deleted")
                time.sleep(0.2)
        for pid in sorted(self.created.get("ports", set())):
            s.client("network").delete(f"/v2.0/ports/{pid}")
        if self.networks:
            listed = s.get("network", "/v2.0/networks", params={"name": "chaos-net"})
            for network in listed["networks"]:
                self._drop_network(network["id"])
