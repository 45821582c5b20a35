"""Metering on a router's gateway: a label with an egress rule for the outside host's
prefix counts the fake guest's pings to it in the router namespace's ``meter-`` chains
and reports them as ``l3.meter`` notifications; an excluded rule stops the counting; an
agent restart writes the same chains; deleting the label removes them."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator

import pytest

from tests.network_dataplane.conftest import Cloud
from tests.network_dataplane.support import in_ns, wait_for
from tests.network_dataplane.test_l3 import Topology
from tinystack.common.notifier import Notification, NotificationListener
from tinystack.network.service import WORKERS_KEY

LABELS = "/metering/metering-labels"
RULES = "/metering/metering-label-rules"


@pytest.fixture
def topo(fresh: Cloud) -> Iterator[Topology]:
    topo = Topology(fresh, "10.65.0.0/24")
    yield topo
    fresh.destroy_namespaces()
    for label in fresh.call("GET", LABELS, admin=True)["metering_labels"]:
        fresh.delete(f"{LABELS}/{label['id']}")
    topo.teardown()


@pytest.fixture
def meters(cloud: Cloud) -> Iterator[queue.Queue[Notification]]:
    got: queue.Queue[Notification] = queue.Queue()
    transport = cloud.runtime.extra[WORKERS_KEY].transport
    listener = NotificationListener(transport, got.put, priorities=("info",), pool=cloud.tag)
    listener.start()
    yield got
    listener.stop()


def _meter_lines(ns: str) -> list[str]:
    out = []
    for save in ("iptables-save", "ip6tables-save"):
        text = in_ns(ns, save, "-t", "filter")
        out += [line for line in text.splitlines() if "meter-" in line]
    return out


def _counted(got: queue.Queue[Notification], label_id: str, seconds: float) -> tuple[int, int]:
    """Packets and bytes the label's ``l3.meter`` notifications report within ``seconds``."""
    pkts = octets = 0
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            note = got.get(timeout=left)
        except queue.Empty:
            break
        if note.event_type == "l3.meter" and note.payload["label_id"] == label_id:
            assert note.publisher_id.startswith("metering.")
            pkts += int(str(note.payload["pkts"]))
            octets += int(str(note.payload["bytes"]))
    return pkts, octets


def test_label_counts_gateway_traffic(topo: Topology, meters: queue.Queue[Notification]) -> None:
    cloud, guest = topo.cloud, topo.guest
    ns = cloud.opts.router_namespace_prefix + topo.router["id"]
    assert guest.eventually_pings("203.0.113.1")
    label = cloud.create(
        "metering_label", admin=True, path="metering/metering-labels", project_id=cloud.project
    )
    body = {"metering_label_id": label["id"], "direction": "egress"}
    cloud.create(
        "metering_label_rule", admin=True, path=RULES[1:], remote_ip_prefix="203.0.113.0/24", **body
    )
    chain = "meter-l" + label["id"][:11]
    assert wait_for(lambda: any("203.0.113.0/24" in line for line in _meter_lines(ns)), 10)
    _counted(meters, label["id"], 2.5)  # what the reports held before the pings
    assert guest.ping("203.0.113.1", count=3, wait=1)
    pkts, octets = _counted(meters, label["id"], 5)
    assert pkts >= 3 and octets >= 3 * 84, (pkts, octets)  # 84-byte IPv4 echo requests
    # an excluded rule for the host itself: RETURN before the counting rule
    excluded = cloud.create(
        "metering_label_rule",
        admin=True,
        path=RULES[1:],
        remote_ip_prefix="203.0.113.1/32",
        excluded=True,
        **body,
    )
    assert excluded["excluded"] is True
    assert wait_for(lambda: any("-j RETURN" in line for line in _meter_lines(ns)), 10)
    _counted(meters, label["id"], 2.5)
    assert guest.ping("203.0.113.1", count=3, wait=1)
    assert _counted(meters, label["id"], 5) == (0, 0)
    lines = _meter_lines(ns)
    rules = [line for line in lines if line.startswith("-A meter-r")]
    assert [r.split()[-1] for r in rules] == ["RETURN", chain], rules
    assert lines.count(f"-A FORWARD -j meter-r{label['id'][:11]}") == 2  # v4 and v6
    cloud.restart_agents()
    assert _meter_lines(ns) == lines
    cloud.delete(f"{LABELS}/{label['id']}")
    assert wait_for(lambda: not _meter_lines(ns), 10, 0.05)
