"""The chaos workloads of the metric, alarm, load balancer and dashboard families: each a
:class:`~tests.chaos.workload.Workload` whose operations are that family's, so a
:func:`~tests.chaos.rounds.crash_round` drives it as it drives the mixed workload.

Each checks, after the restart, what its family promises beyond the shared invariants
(``tests/invariants.py``): in :meth:`settle`, once nothing is in transition.

* metric: every measure the API acknowledged (202) is in the aggregates (none lost),
  none counted twice; every metric's measures read back (no half-written split);
* alarm: the evaluator runs again (every alarm comes to the state its data says), and
  each alarm's last state transition in its history is its state (no half-written one);
* load balancer: a load balancer, listener or pool the kill caught in PENDING_* comes
  to ACTIVE or ERROR (the agent's start-up sync), none lost its VIP port;
* dashboard: every session signed before the kill still answers, every one logged out
  stays out, and requests through the dashboard to the services work.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from tests.chaos.session import Session
from tests.chaos.workload import Workload

POLICY = "chaos-1s"
#: Gnocchi's timestamps: a measure a batch, each later than the last of its metric
BATCH = 10


def _ok(resp: httpx.Response) -> httpx.Response:
    resp.raise_for_status()
    return resp


def wait_for(what: str, check: Callable[[], object], timeout: float = 60) -> None:
    """Poll ``check()`` (a falsy answer, or what is still wrong) until it is falsy."""
    deadline = time.monotonic() + timeout
    while True:
        wrong = check()
        if not wrong:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: {wrong}")
        time.sleep(0.3)


def archive_policy(session: Session) -> None:
    """One second and one minute buckets, a day and a week of them (the alarm's rules
    read minutes; the measure counts, seconds)."""
    body = {"name": POLICY, "back_window": 0, "aggregation_methods": ["count", "mean"],
            "definition": [{"granularity": "1s", "points": 86400},
                           {"granularity": "60s", "points": 10080}]}  # fmt: skip
    made = session.client("metric").post("/v1/archive_policy", json=body)
    assert made.status_code in (201, 409), made.text


@dataclass
class MetricWorkload(Workload):
    """Measures posted in batches to a few metrics (one writer at a time each, so every
    batch is newer than what is stored), metrics made and deleted beside them."""

    measured: list[str] = field(default_factory=list)
    #: metric -> measures acknowledged (202), and sent (acknowledged or not)
    acked: dict[str, int] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    _writing: dict[str, threading.Lock] = field(default_factory=dict)

    def setup(self) -> None:
        archive_policy(self.session)
        for _ in range(6):
            mid = self._metric()
            self.measured.append(mid)
            self.acked[mid] = self.sent[mid] = 0
            self._writing[mid] = threading.Lock()

    def _metric(self) -> str:
        body = {"archive_policy_name": POLICY, "name": "chaos"}
        mid = str(_ok(self.session.client("metric").post("/v1/metric", json=body)).json()["id"])
        self._remember("metrics", mid)
        return mid

    def _measures(self) -> None:
        mid = random.choice(self.measured)
        with self._writing[mid]:
            now = time.time()
            batch = [{"timestamp": now + i / 1000, "value": random.random()} for i in range(BATCH)]
            self.sent[mid] += BATCH
            path = f"/v1/metric/{mid}/measures"
            _ok(self.session.client("metric").post(path, json=batch))
            self.acked[mid] += BATCH

    def _delete_metric(self) -> None:
        with self._lock:
            live = sorted(self.created.get("metrics", set()) - self.deleted - set(self.measured))
            mid = random.choice(live) if live else None
            if mid:
                self.deleted.add(mid)
        if mid:
            self.session.client("metric").delete(f"/v1/metric/{mid}")

    def _measured_metric(self) -> None:
        """A metric made, written to once, left for a delete (its splits go with it)."""
        mid = self._metric()
        batch = [{"timestamp": time.time(), "value": 1.0}]
        _ok(self.session.client("metric").post(f"/v1/metric/{mid}/measures", json=batch))

    def operations(self) -> list[tuple[Callable[[], object], int]]:
        return [(self._measures, 6), (self._measured_metric, 1), (self._delete_metric, 1)]

    def settle(self, timeout: float = 100) -> None:
        for mid in self.measured:
            # queued measures are aggregated by the metric workers: a refresh first
            params = {"aggregation": "count", "granularity": "1", "refresh": "true"}
            points = self.session.get("metric", f"/v1/metric/{mid}/measures", params=params)
            stored = round(sum(point[2] for point in points))
            assert self.acked[mid] <= stored <= self.sent[mid], (
                f"metric {mid}: {stored} measures stored, {self.acked[mid]} acknowledged, "
                f"{self.sent[mid]} sent"
            )
        for mid in self.created.get("metrics", set()) - self.deleted:
            self.session.get("metric", f"/v1/metric/{mid}/measures")

    def cleanup(self, timeout: float = 180) -> None:
        for mid in self._listed():
            self.session.client("metric").delete(f"/v1/metric/{mid}")
        wait_for("metrics left", self._listed)

    def _listed(self) -> list[str]:
        found = self.session.get("metric", "/v1/metric", params={"limit": 1000})
        return [m["id"] for m in found if m["name"] == "chaos"]


@dataclass
class AlarmWorkload(Workload):
    """Threshold alarms on two metrics (one high, one low) made, re-aimed and deleted
    while the evaluator (every 0.2 s) moves them between states."""

    metrics: dict[str, float] = field(default_factory=dict)

    def setup(self) -> None:
        archive_policy(self.session)
        for value in (90.0, 10.0):
            body = {"archive_policy_name": POLICY, "name": "chaos-alarmed"}
            made = _ok(self.session.client("metric").post("/v1/metric", json=body))
            self.metrics[made.json()["id"]] = value
        self._feed()
        for _ in range(4):
            self._alarm()

    def _feed(self) -> None:
        """A measure of each metric now (the rules read the last two minutes)."""
        for mid, value in self.metrics.items():
            batch = [{"timestamp": time.time(), "value": value}]
            _ok(self.session.client("metric").post(f"/v1/metric/{mid}/measures", json=batch))

    def _rule(self) -> dict[str, object]:
        return {"metrics": [random.choice(sorted(self.metrics))], "comparison_operator": "gt",
                "threshold": random.choice([50.0, 5.0, 95.0]), "aggregation_method": "mean",
                "granularity": 60, "evaluation_periods": 1}  # fmt: skip

    def _alarm(self) -> None:
        kind = "gnocchi_aggregation_by_metrics_threshold"
        body = {"name": "chaos", "type": kind, f"{kind}_rule": self._rule()}
        made = _ok(self.session.client("alarming").post("/v2/alarms", json=body))
        self._remember("alarms", made.json()["alarm_id"])

    def _aim(self) -> None:
        """A new rule for a live alarm (its state follows at the next evaluation)."""
        with self._lock:
            live = sorted(self.created.get("alarms", set()) - self.deleted)
        if live:
            aid = random.choice(live)
            kind = "gnocchi_aggregation_by_metrics_threshold"
            body = {"name": "chaos", "type": kind, f"{kind}_rule": self._rule()}
            self.session.client("alarming").put(f"/v2/alarms/{aid}", json=body)

    def _delete_alarm(self) -> None:
        aid = self._pick("alarms")
        if aid:
            self.session.client("alarming").delete(f"/v2/alarms/{aid}")

    def operations(self) -> list[tuple[Callable[[], object], int]]:
        return [(self._alarm, 3), (self._aim, 3), (self._delete_alarm, 2), (self._feed, 1)]

    def _alarms(self) -> list[dict[str, object]]:
        found = self.session.get("alarming", "/v2/alarms")
        return [a for a in found if a["name"] == "chaos"]

    def settle(self, timeout: float = 100) -> None:
        self._feed()

        def wrong() -> list[str]:
            off = []
            for alarm in self._alarms():
                rule = alarm["gnocchi_aggregation_by_metrics_threshold_rule"]
                assert isinstance(rule, dict)
                value = self.metrics[rule["metrics"][0]]
                wanted = "alarm" if value > rule["threshold"] else "ok"
                if alarm["state"] != wanted:
                    off.append(f"{alarm['alarm_id']} {alarm['state']}, not {wanted}")
            return off

        wait_for("alarms the evaluator left behind", wrong)
        for alarm in self._alarms():
            aid = alarm["alarm_id"]
            history = self.session.get("alarming", f"/v2/alarms/{aid}/history")
            moves = [h for h in history if h["type"] == "state transition"]
            last = max(moves, key=lambda h: str(h["timestamp"])) if moves else None
            assert last is not None, f"alarm {aid} in {alarm['state']} by no transition"
            assert json.loads(str(last["detail"]))["state"] == alarm["state"], (aid, alarm, last)

    def cleanup(self, timeout: float = 180) -> None:
        for alarm in self._alarms():
            self.session.client("alarming").delete(f"/v2/alarms/{alarm['alarm_id']}")
        for mid in self.metrics:
            self.session.client("metric").delete(f"/v1/metric/{mid}")
        wait_for("alarms left", self._alarms)


LB = "/v2/lbaas"


@dataclass
class LoadBalancerWorkload(Workload):
    """Load balancers made (with a listener and a pool as they go ACTIVE), renamed and
    deleted by cascade, on the network's subnet (the noop_driver provider: the agent's
    provisioning and its start-up sync, without HAProxy)."""

    subnet_id: str = ""

    def setup(self) -> None:
        super().setup()  # the network and its subnet
        subnets = self.session.get("network", "/v2.0/subnets",
                                   params={"network_id": self.network_id})["subnets"]  # fmt: skip
        self.subnet_id = subnets[0]["id"]

    def _lb(self) -> None:
        body = {"loadbalancer": {"name": "chaos", "vip_subnet_id": self.subnet_id}}
        made = _ok(self.session.client("load-balancer").post(f"{LB}/loadbalancers", json=body))
        self._remember("loadbalancers", made.json()["loadbalancer"]["id"])

    def _live(self) -> str | None:
        with self._lock:
            live = sorted(self.created.get("loadbalancers", set()) - self.deleted)
        return random.choice(live) if live else None

    def _child(self) -> None:
        """A listener with a default pool on a live load balancer (a 409 while it is
        PENDING_*, as Octavia's)."""
        lb_id = self._live()
        if lb_id is None:
            return
        client = self.session.client("load-balancer")
        body = {"listener": {"loadbalancer_id": lb_id, "protocol": "HTTP",
                             "protocol_port": random.randint(1000, 60000)}}  # fmt: skip
        listener = _ok(client.post(f"{LB}/listeners", json=body)).json()["listener"]["id"]
        pool = {"pool": {"listener_id": listener, "protocol": "HTTP",
                         "lb_algorithm": "ROUND_ROBIN"}}  # fmt: skip
        _ok(client.post(f"{LB}/pools", json=pool))

    def _rename(self) -> None:
        lb_id = self._live()
        if lb_id:
            body = {"loadbalancer": {"description": f"chaos {random.random()}"}}
            self.session.client("load-balancer").put(f"{LB}/loadbalancers/{lb_id}", json=body)

    def _delete_lb(self) -> None:
        lb_id = self._pick("loadbalancers")
        if lb_id:
            path = f"{LB}/loadbalancers/{lb_id}"
            self.session.client("load-balancer").delete(path, params={"cascade": "true"})

    def operations(self) -> list[tuple[Callable[[], object], int]]:
        return [(self._lb, 3), (self._child, 3), (self._rename, 2), (self._delete_lb, 2)]

    def _lbs(self) -> list[str]:
        found = self.session.get("load-balancer", f"{LB}/loadbalancers")["loadbalancers"]
        return [lb["id"] for lb in found if lb["name"] == "chaos"]

    def settle(self, timeout: float = 100) -> None:
        super().settle(timeout)  # no load balancer, listener or pool PENDING_*

    def cleanup(self, timeout: float = 180) -> None:
        for lb_id in self._lbs():
            self.session.client("load-balancer").delete(
                f"{LB}/loadbalancers/{lb_id}", params={"cascade": "true"})  # fmt: skip
        wait_for("load balancers left", self._lbs)
        self.session.client("network").delete(f"/v2.0/networks/{self.network_id}")


SKYLINE = "/api/openstack/skyline/api/v1"


@dataclass
class DashboardWorkload(Workload):
    """Sessions logged in and out of the dashboard, profiles read and networks listed
    through its pass-through, by several threads."""

    url: str = ""
    password: str = ""
    #: session clients: live ones, and those logged out
    live: list[httpx.Client] = field(default_factory=list)
    out: list[httpx.Client] = field(default_factory=list)

    def setup(self) -> None:
        for _ in range(3):
            self._login()

    def _login(self) -> None:
        client = httpx.Client(base_url=self.url, timeout=60)
        body = {"username": "admin", "password": self.password, "domain": "Default"}
        try:
            _ok(client.post(f"{SKYLINE}/login", json=body))
        except Exception:
            client.close()
            raise
        with self._lock:
            self.live.append(client)

    def _session(self) -> httpx.Client | None:
        with self._lock:
            return random.choice(self.live) if self.live else None

    def _profile(self) -> None:
        client = self._session()
        if client is not None:
            _ok(client.get(f"{SKYLINE}/profile"))

    def _through(self) -> None:
        client = self._session()
        if client is not None:
            profile = _ok(client.get(f"{SKYLINE}/profile")).json()
            _ok(client.get(f"{profile['endpoints']['neutron']}/v2.0/networks"))

    def _logout(self) -> None:
        with self._lock:
            if len(self.live) < 2:
                return
            client = self.live.pop(random.randrange(len(self.live)))
        # a logout the kill cut may or may not have happened: that session is neither's
        _ok(client.post(f"{SKYLINE}/logout"))
        with self._lock:
            self.out.append(client)

    def operations(self) -> list[tuple[Callable[[], object], int]]:
        return [(self._login, 1), (self._profile, 4), (self._through, 2), (self._logout, 1)]

    def settle(self, timeout: float = 100) -> None:
        for client in self.live:
            got = client.get(f"{SKYLINE}/profile")
            assert got.status_code == 200, f"a session lost in the restart: {got.text}"
        for client in self.out:
            got = client.get(f"{SKYLINE}/profile")
            assert got.status_code == 401, f"a logged-out session answers: {got.status_code}"

    def cleanup(self, timeout: float = 180) -> None:
        for client in self.live + self.out:
            client.close()
