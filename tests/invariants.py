"""The invariant checker: after a crash, a restart or any long run, every resource of a
cloud is in a stable state and nothing leaks between the services, the disk and the host.

``check(cloud)`` returns a :class:`Report` (``report.leaks`` lists what is wrong, one
line each; ``report.assert_clean()`` fails the test with all of them). It reads the
cloud through its APIs as admin, plus the state directory, the network service's
database and the host (processes, links, namespaces) where it has them:

* stable states: no server in BUILD or with a task, an ERROR server has a fault; no
  volume or image in a transient status;
* placement: the consumers holding allocations are exactly the servers that exist;
* network: every port a server owns (``compute:*``) belongs to a server that exists,
  every address row belongs to a port, every floating IP's port exists;
* images: every file of the file store belongs to an image, every active image's
  file exists; volumes: the same for the file backend's ``volume-<id>`` files, and no
  ``.tmp-*`` half-built file is left;
* objects: every object file on the storage devices is listed in its container and
  every listed object answers HEAD;
* load balancers: none, and none of their listeners or pools, in PENDING_* (ACTIVE and
  ERROR are stable, as Octavia's provisioning_status says); every VIP port the load
  balancer service owns (``Octavia``) names a load balancer that exists;
* metrics: every split row belongs to a metric, and every split's blob is whole;
  alarms: every alarm in one of Aodh's three states;
* host: no process names the state directory outside the live cloud's process trees
  (but for helpers a pid file of the state directory names: adopted across restarts),
  no tap, bridge or namespace names a resource (of ``gone``, the ids a workload saw)
  that no longer exists.
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from tests.chaos.session import Session

SERVER_STABLE = {"ACTIVE", "ERROR", "SHUTOFF", "PAUSED", "SUSPENDED", "SHELVED_OFFLOADED"}
VOLUME_STABLE = {"available", "in-use", "error", "error_deleting", "error_extending"}
IMAGE_STABLE = {"queued", "active", "killed", "deactivated", "deleted"}
ALARM_STATES = {"ok", "alarm", "insufficient data"}
LB_KINDS = ("loadbalancers", "listeners", "pools")
OBJECT_XATTR = "user.swift.metadata"


@dataclass
class Report:
    leaks: list[str] = field(default_factory=list)
    #: how many resources of each kind were looked at
    checked: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, n: int) -> None:
        self.checked[kind] = self.checked.get(kind, 0) + n

    def leak(self, message: str) -> None:
        self.leaks.append(message)

    def assert_clean(self) -> None:
        assert not self.leaks, "invariants broken:\n" + "\n".join(self.leaks)


@dataclass
class Cloud:
    """What the checker needs: an admin session; the state directory and config file
    (None: a cloud not on this machine, only the API checks run); the pids of the live
    cloud processes (their descendants are the cloud's own)."""

    session: Session
    state_dir: Path | None = None
    conf_files: tuple[Path, ...] = ()
    pids: tuple[int, ...] = ()

    def option(self, section: str, name: str) -> str | None:
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.read([str(p) for p in self.conf_files])
        return parser.get(section, name, fallback=None) or None

    def connection(self, service: str) -> str | None:
        url = self.option(service, "connection")
        if url:
            return url
        if self.state_dir and (self.state_dir / f"{service}.sqlite").exists():
            return f"sqlite:///{self.state_dir / f'{service}.sqlite'}"
        return None


def check(cloud: Cloud, gone: Iterable[str] = ()) -> Report:
    """Every invariant of the module docstring; ``gone`` are ids of resources that may
    have been deleted (those that no longer exist must have no tap, bridge or
    namespace left)."""
    report = Report()
    servers = _servers(cloud, report)
    _placement(cloud, report, servers)
    ports = _network(cloud, report, servers)
    _images(cloud, report)
    _volumes(cloud, report)
    _objects(cloud, report)
    _load_balancers(cloud, report)
    _metrics(cloud, report)
    _alarms(cloud, report)
    _processes(cloud, report)
    alive = set(servers) | ports
    _host_devices(report, [g for g in gone if g not in alive])
    return report


def unstable(cloud: Cloud) -> list[str]:
    """The servers, volumes and images still in transition (API checks only)."""
    report = Report()
    api_only = Cloud(cloud.session)
    _servers(api_only, report)
    _volumes(api_only, report)
    _images(api_only, report)
    _load_balancers(api_only, report)
    return [leak for leak in report.leaks if "not stable" in leak]


def _servers(cloud: Cloud, report: Report) -> set[str]:
    s = cloud.session
    if not s.has("compute"):
        return set()
    found = s.get("compute", "/servers/detail", params={"all_tenants": "1"})["servers"]
    report.count("servers", len(found))
    for server in found:
        state = (server["status"], server.get("OS-EXT-STS:task_state"))
        if server["status"] not in SERVER_STABLE or state[1] is not None:
            report.leak(f"server {server['id']} not stable: {state}")
        if server["status"] == "ERROR" and not (server.get("fault") or {}).get("message"):
            report.leak(f"server {server['id']} in ERROR without a fault")
    return {server["id"] for server in found}


def _placement(cloud: Cloud, report: Report, servers: set[str]) -> None:
    s = cloud.session
    if not (s.has("placement") and s.has("compute")):
        return
    consumers: set[str] = set()
    providers = s.get("placement", "/resource_providers")["resource_providers"]
    for rp in providers:
        held = s.get("placement", f"/resource_providers/{rp['uuid']}/allocations")
        consumers |= set(held["allocations"])
    report.count("allocation consumers", len(consumers))
    for consumer in sorted(consumers - servers):
        report.leak(f"placement allocation of {consumer}, which is no server")
    for server in sorted(servers - consumers):
        shown = s.get("compute", f"/servers/{server}")["server"]
        if shown["status"] != "ERROR" and shown.get("OS-EXT-SRV-ATTR:host"):
            report.leak(f"server {server} on a host holds no allocation")


def _network(cloud: Cloud, report: Report, servers: set[str]) -> set[str]:
    s = cloud.session
    if not s.has("network"):
        return set()
    ports = s.get("network", "/v2.0/ports")["ports"]
    report.count("ports", len(ports))
    ids = {p["id"] for p in ports}
    networks = {n["id"] for n in s.get("network", "/v2.0/networks")["networks"]}
    for port in ports:
        if port["device_owner"].startswith("compute:") and port["device_id"] not in servers:
            report.leak(f"port {port['id']} owned by {port['device_id']}, which is no server")
    for fip in s.get("network", "/v2.0/floatingips")["floatingips"]:
        if fip["port_id"] and fip["port_id"] not in ids:
            report.leak(f"floating IP {fip['floating_ip_address']} on missing port")
    url = cloud.connection("network")
    if url:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(sa.text(
                    "SELECT a.ip_address, a.port_id FROM ip_allocations a "
                    "LEFT JOIN ports p ON p.id = a.port_id WHERE p.id IS NULL"
                )).all()  # fmt: skip
                report.count("addresses", conn.execute(
                    sa.text("SELECT COUNT(*) FROM ip_allocations")).scalar_one())  # fmt: skip
        finally:
            engine.dispose()
        for address, port_id in rows:
            report.leak(f"address {address} belongs to missing port {port_id}")
    return ids | networks


def _images(cloud: Cloud, report: Report) -> None:
    s = cloud.session
    if not s.has("image"):
        return
    images = s.get("image", "/v2/images", params={"limit": 1000, "member_status": "all"})
    by_id = {i["id"]: i for i in images["images"]}
    report.count("images", len(by_id))
    for image in by_id.values():
        if image["status"] not in IMAGE_STABLE:
            report.leak(f"image {image['id']} not stable: {image['status']}")
    if cloud.state_dir is None:
        return
    store = Path(cloud.option("image", "filesystem_store_datadir") or cloud.state_dir / "images")
    files = {p.name for p in store.iterdir() if p.is_file()} if store.is_dir() else set()
    report.count("image files", len(files))
    for name in sorted(files):
        image = by_id.get(name.split(".")[0])
        if image is None:
            report.leak(f"image file {name} without an image")
        elif image["status"] not in ("active", "deactivated"):
            report.leak(f"image file {name} of a {image['status']} image")
    for image in by_id.values():
        if image["status"] == "active" and image.get("stores", "file") == "file":
            if image["id"] not in files:
                report.leak(f"active image {image['id']} without its file")


def _volumes(cloud: Cloud, report: Report) -> None:
    s = cloud.session
    if not s.has("block-storage"):
        return
    volumes = s.get("block-storage", "/volumes/detail", params={"all_tenants": "1"})["volumes"]
    report.count("volumes", len(volumes))
    by_id = {v["id"]: v for v in volumes}
    for volume in volumes:
        if volume["status"] not in VOLUME_STABLE:
            report.leak(f"volume {volume['id']} not stable: {volume['status']}")
    if cloud.state_dir is None:
        return
    directory = Path(cloud.option("volume", "file_directory") or cloud.state_dir / "volumes")
    if not directory.is_dir():
        return
    held = {}
    for path in directory.iterdir():
        if path.name.startswith(".tmp-"):
            report.leak(f"half-built volume file {path.name} left")
        elif path.name.startswith("volume-"):
            held[path.name.removeprefix("volume-").split(".")[0]] = path.name
    report.count("volume files", len(held))
    for vid in sorted(set(held) - set(by_id)):
        report.leak(f"volume file {held[vid]} without a volume")
    for vid, volume in by_id.items():
        if volume["status"] in ("available", "in-use") and vid not in held:
            report.leak(f"{volume['status']} volume {vid} without its file")


def _objects(cloud: Cloud, report: Report) -> None:
    s = cloud.session
    if not s.has("object-store") or cloud.state_dir is None:
        return
    account = s.urls["object-store"].rsplit("/", 1)[1]
    store = s.client("object-store")
    listed: set[str] = set()
    containers = store.get("", params={"format": "json"})
    for container in containers.json() if containers.status_code == 200 else []:
        objects = store.get(f"/{quote(container['name'])}", params={"format": "json"}).json()
        for obj in objects:
            name = f"{container['name']}/{obj['name']}"
            listed.add(name)
            if store.head(f"/{quote(name)}").status_code != 200:
                report.leak(f"object {name} listed but not readable")
    report.count("objects", len(listed))
    devices = Path(cloud.option("object_store", "devices") or cloud.state_dir / "object_store")
    # the replicas of one object share the hash directory's name; the newest file across
    # them is the object's state (an older .data beside a newer tombstone on another
    # replica is a delete the replicator has yet to carry over, not a leak)
    newest: dict[str, Path] = {}
    for path in [*devices.rglob("*.data"), *devices.rglob("*.ts")]:
        held = newest.get(path.parent.name)
        if held is None or float(path.stem) > float(held.stem):
            newest[path.parent.name] = path
    found = 0
    for path in newest.values():
        if path.suffix != ".data":
            continue
        try:
            meta = json.loads(os.getxattr(path, OBJECT_XATTR))
        except OSError:
            continue
        acct, _, name = str(meta.get("name", "")).lstrip("/").partition("/")
        if acct != account:
            continue
        found += 1
        if name not in listed:
            report.leak(f"object {name} ({path.name}) stored but not in its container listing")
    report.count("object files", found)


def _load_balancers(cloud: Cloud, report: Report) -> None:
    s = cloud.session
    if not s.has("load-balancer"):
        return
    found: dict[str, list[dict[str, object]]] = {}
    for kind in LB_KINDS:
        found[kind] = s.get("load-balancer", f"/v2/lbaas/{kind}")[kind]
        report.count(kind, len(found[kind]))
        for item in found[kind]:
            status = str(item["provisioning_status"])
            if status.startswith("PENDING_"):
                report.leak(f"{kind[:-1]} {item['id']} not stable: {status}")
    if cloud.state_dir is None or not s.has("network"):
        return  # API-only (``unstable``): the port check reads the network too
    lbs = {str(lb["id"]) for lb in found["loadbalancers"]}
    for lb in found["loadbalancers"]:
        port = s.client("network").get(f"/v2.0/ports/{lb['vip_port_id']}")
        if port.status_code == 404:
            report.leak(f"load balancer {lb['id']}'s VIP port {lb['vip_port_id']} is gone")
    ports = s.get("network", "/v2.0/ports", params={"device_owner": "Octavia"})["ports"]
    for port in ports:
        if port["device_id"].removeprefix("lb-") not in lbs:  # Octavia's device_id
            report.leak(f"VIP port {port['id']} of {port['device_id']}, which is no load balancer")


def _metrics(cloud: Cloud, report: Report) -> None:
    url = cloud.connection("metric") if cloud.state_dir else None
    if not url:
        return
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT s.metric_id, m.id, length(s.points) FROM split s "
                "LEFT JOIN metric m ON m.id = s.metric_id"
            )).all()  # fmt: skip
    finally:
        engine.dispose()
    report.count("metric splits", len(rows))
    for metric_id, owner, size in rows:
        if owner is None:
            report.leak(f"split of missing metric {metric_id}")
        if not size or size % 64:  # eight doubles a bucket (tinystack/metric/services/splits)
            report.leak(f"split of metric {metric_id} half-written: {size} bytes")


def _alarms(cloud: Cloud, report: Report) -> None:
    s = cloud.session
    if not s.has("alarming"):
        return
    found = s.get("alarming", "/v2/alarms", params={"q.field": "all_projects", "q.value": "true"})
    report.count("alarms", len(found))
    for alarm in found:
        if alarm["state"] not in ALARM_STATES:
            report.leak(f"alarm {alarm['alarm_id']} in no state of Aodh's: {alarm['state']}")


def _tree(pids: Iterable[int]) -> set[int]:
    """The pids and all their descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def _adopted(state_dir: Path) -> set[int]:
    """The pids the cloud's pid files name: helpers a restarted agent adopts (a DHCP
    server of a network that still exists outlives the agent that started it, as
    upstream's dnsmasq does); a helper whose resource went loses its pid file."""
    found: set[int] = set()
    # os.walk passes over a directory removed while it walks (a network deleted: its
    # DHCP directory goes); Path.rglob raised FileNotFoundError there (CI)
    paths = [
        Path(top, name)
        for top, _dirs, names in os.walk(state_dir)
        for name in names
        if name == "pid" or name.endswith(".pid")
    ]
    for path in paths:
        try:
            found.add(int(path.read_text().split()[0]))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _processes(cloud: Cloud, report: Report) -> None:
    if cloud.state_dir is None:
        return
    own = _tree(cloud.pids) | _adopted(cloud.state_dir)
    marker = str(cloud.state_dir).encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        pid = int(cmdline.parent.name)
        try:
            text = cmdline.read_bytes()
        except OSError:
            continue
        if marker in text and pid not in own and pid != os.getpid():
            report.leak(f"process {pid} of the cloud left running: {text[:120]!r}")


def _host_devices(report: Report, gone: list[str]) -> None:
    if not gone:
        return
    names: list[str] = []
    for command in (["ip", "-o", "link", "show"], ["ip", "netns", "list"]):
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        names += [line.split(":")[1].strip() if "link" in command else line.split()[0]
                  for line in out.splitlines() if line.strip()]  # fmt: skip
    report.count("host devices", len(names))
    for rid in gone:
        for name in names:
            if rid[:11] in name:
                report.leak(f"{name} left on the host for deleted {rid}")
