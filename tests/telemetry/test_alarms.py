"""The alarm service through aodhclient's CLI (``openstack alarm …``) and its HTTP API on
the package's cloud (evaluation every second): alarms' lifecycle, state and history,
bad input, a threshold alarm that fires a webhook when a metric crosses its threshold
and returns to ok, and an event alarm that fires on a server's deletion."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.telemetry.conftest import Env


class Hooks:
    """An HTTP listener on loopback that keeps every webhook POSTed to it."""

    def __init__(self) -> None:
        self.received: queue.Queue[tuple[str, dict[str, Any], dict[str, str]]] = queue.Queue()
        #: the headers of the last webhook ``wait`` returned
        self.headers: dict[str, str] = {}
        #: the path of every webhook received
        self.paths: list[str] = []
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hooks.paths.append(self.path)
                hooks.received.put(
                    (self.path, json.loads(body), {k.lower(): v for k, v in self.headers.items()})
                )
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, path: str, current: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                got, body, headers = self.received.get(timeout=left)
            except queue.Empty:
                break
            if got == path and body["current"] == current:
                assert headers["content-type"] == "application/json"
                self.headers = headers
                return body
        raise AssertionError(f"no {current} webhook on {path}")


@pytest.fixture(scope="module")
def hooks() -> Iterator[Hooks]:
    made = Hooks()
    yield made
    made.server.shutdown()
    made.server.server_close()


def _error(env: Env, method: str, path: str, body: Any, status: int) -> str:
    reply = env.alarm.request(method, path, status, json=body)
    return str(reply.json()["error_message"]["faultstring"])


def test_alarm_lifecycle_through_the_cli(env: Env, hooks: Hooks) -> None:
    osc = env.cloud.osc
    made = osc("alarm", "create", "--name", "tsf-cpu", "--type", "gnocchi_resources_threshold",
               "--metric", "cpu", "--threshold", "80", "--resource-id", "tsf-r1",
               "--resource-type", "generic", "--aggregation-method", "mean",
               "--comparison-operator", "gt", "--evaluation-periods", "2",
               "--granularity", "300", "--alarm-action", f"{hooks.url}/cli",
               "--severity", "critical", "--enabled", "False")  # fmt: skip
    aid = made["alarm_id"]
    assert (made["state"], made["severity"], made["enabled"]) == (
        "insufficient data", "critical", False,
    )  # fmt: skip
    assert made["threshold"] == 80.0 and made["evaluation_periods"] == 2
    assert aid in {a["alarm_id"] for a in osc("alarm", "list")}
    assert osc("alarm", "show", "--name", "tsf-cpu")["alarm_id"] == aid
    osc("alarm", "update", aid, "--threshold", "90", "--description", "hot")
    shown = env.alarm.get(f"/v2/alarms/{aid}").json()
    assert shown["gnocchi_resources_threshold_rule"]["threshold"] == 90.0
    assert shown["description"] == "hot"
    osc("alarm", "state", "set", "--state", "alarm", aid)
    assert env.alarm.get(f"/v2/alarms/{aid}/state").json() == "alarm"
    assert env.alarm.get(f"/v2/alarms/{aid}").json()["state_reason"] == "Manually set via API"
    changes = osc("alarm-history", "show", aid)
    kinds = [c["type"] for c in changes]
    assert kinds == ["state transition", "rule change", "creation"], kinds
    assert json.loads(changes[1]["detail"])["description"] == "hot"
    found = osc("alarm", "list", "--query", "state=alarm")
    assert [a["alarm_id"] for a in found] == [aid]
    caps = env.alarm.get("/v2/capabilities/").json()
    assert caps["api"]["alarms:query:complex"] is True
    osc("alarm", "delete", aid)
    env.alarm.get(f"/v2/alarms/{aid}", 404)
    # history outlives the alarm
    after = env.alarm.get(f"/v2/alarms/{aid}/history").json()
    assert after[0]["type"] == "deletion"


def test_bad_input_gets_aodh_errors(env: Env) -> None:
    rule = {"metric": "cpu", "resource_id": "r", "resource_type": "generic",
            "aggregation_method": "mean", "threshold": 1}  # fmt: skip
    good = {"name": "tsf-bad", "type": "gnocchi_resources_threshold",
            "gnocchi_resources_threshold_rule": rule}  # fmt: skip
    assert "Mandatory field missing" in _error(env, "POST", "/v2/alarms",
        {**good, "gnocchi_resources_threshold_rule": {**rule, "threshold": None}}, 400)  # fmt: skip
    assert "Value should be one of" in _error(env, "POST", "/v2/alarms",
                                              {**good, "type": "nope"}, 400)  # fmt: skip
    assert "must be set" in _error(env, "POST", "/v2/alarms",
        {"name": "x", "type": "event"}, 400)  # fmt: skip
    assert "aggregation_method should be in" in _error(env, "POST", "/v2/alarms",
        {**good, "gnocchi_resources_threshold_rule": {**rule, "aggregation_method": "p99"}},
        400)  # fmt: skip
    bad_action = {**good, "alarm_actions": ["ftp://x/y"]}
    assert "Unsupported action" in _error(env, "POST", "/v2/alarms", bad_action, 400)
    assert "between 1 and 100" in _error(env, "POST", "/v2/alarms",
        {**good, "gnocchi_resources_threshold_rule": {**rule, "evaluation_periods": 0}},
        400)  # fmt: skip
    assert "not found" in _error(env, "GET", "/v2/alarms/nope", None, 404)
    made = env.alarm.post("/v2/alarms", good, 201).json()
    assert _error(env, "PUT", f"/v2/alarms/{made['alarm_id']}/state", "sideways", 400) == (
        "state invalid"
    )
    assert "only fields" in _error(env, "GET", "/v2/alarms?q.field=color&q.value=red", None, 400)
    env.alarm.delete(f"/v2/alarms/{made['alarm_id']}", 204)
    listed = env.alarm.get("/v2/alarms").json()
    assert made["alarm_id"] not in {a["alarm_id"] for a in listed}


def _push(env: Env, resource: str, value: float) -> None:
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    env.metric.post(f"/v1/resource/generic/{resource}/metric/tsf.cpu/measures",
                    [{"timestamp": now, "value": value}], 202)  # fmt: skip


def _until_hook(env: Env, hooks: Hooks, resource: str, value: float, current: str) -> Any:
    """Keep the metric at ``value`` until the alarm's webhook reports ``current``."""
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        _push(env, resource, value)
        try:
            return hooks.wait("/threshold", current, timeout=1.5)
        except AssertionError:
            continue
    raise AssertionError(f"the alarm never went {current}")


def test_threshold_alarm_fires_and_recovers(env: Env, hooks: Hooks) -> None:
    env.metric.post("/v1/archive_policy", {"name": "tsf-2s", "aggregation_methods": ["mean"],
                    "definition": [{"granularity": "2s", "points": 600}]}, 201)  # fmt: skip
    env.metric.post("/v1/resource/generic", {"id": "tsf-host",
                    "metrics": {"tsf.cpu": {"archive_policy_name": "tsf-2s"}}}, 201)  # fmt: skip
    rule = {"metric": "tsf.cpu", "resource_id": "tsf-host", "resource_type": "generic",
            "aggregation_method": "mean", "threshold": 50, "comparison_operator": "gt",
            "granularity": 2, "evaluation_periods": 1}  # fmt: skip
    alarm = env.alarm.post("/v2/alarms", {
        "name": "tsf-hot", "type": "gnocchi_resources_threshold", "severity": "moderate",
        "gnocchi_resources_threshold_rule": rule,
        "alarm_actions": [f"{hooks.url}/threshold"], "ok_actions": [f"{hooks.url}/threshold"],
        "insufficient_data_actions": ["log://"],
    }, 201).json()  # fmt: skip
    fired = _until_hook(env, hooks, "tsf-host", 95.0, "alarm")
    assert fired["alarm_id"] == alarm["alarm_id"] and fired["alarm_name"] == "tsf-hot"
    assert fired["severity"] == "moderate" and fired["previous"] in ("ok", "insufficient data")
    assert fired["reason_data"]["disposition"] == "outside"
    assert fired["reason"].startswith("Transition to alarm due to 1 samples outside threshold")
    recovered = _until_hook(env, hooks, "tsf-host", 10.0, "ok")
    assert recovered["previous"] == "alarm" and recovered["reason_data"]["most_recent"] <= 50
    changes = env.alarm.get(f"/v2/alarms/{alarm['alarm_id']}/history").json()
    states = [json.loads(c["detail"])["state"] for c in changes if c["type"] == "state transition"]
    assert states[:2] == ["ok", "alarm"], states
    env.alarm.delete(f"/v2/alarms/{alarm['alarm_id']}", 204)


def test_time_constraints_gate_evaluation(env: Env, hooks: Hooks) -> None:
    """An alarm outside its time constraints' windows is not evaluated (a hot metric does
    not fire it); given a window that is open, it fires. Through aodhclient's
    ``--time-constraint``, with Aodh's defaults and errors."""
    osc = env.cloud.osc
    env.metric.post("/v1/archive_policy", {"name": "tsf-tc-2s", "aggregation_methods": ["mean"],
                    "definition": [{"granularity": "2s", "points": 600}]}, 201)  # fmt: skip
    env.metric.post("/v1/resource/generic", {"id": "tsf-tc",
                    "metrics": {"tsf.cpu": {"archive_policy_name": "tsf-tc-2s"}}}, 201)  # fmt: skip
    later = datetime.now(ZoneInfo("Europe/Paris")) + timedelta(hours=3)
    closed = f"name=later;start={later.minute} {later.hour} * * *;duration=60;timezone=Europe/Paris"
    rule = ["--type", "gnocchi_resources_threshold", "--metric", "tsf.cpu", "--threshold", "50",
            "--resource-id", "tsf-tc", "--resource-type", "generic", "--aggregation-method",
            "mean", "--comparison-operator", "gt", "--granularity", "2",
            "--evaluation-periods", "1", "--alarm-action", f"{hooks.url}/tc"]  # fmt: skip
    made = osc("alarm", "create", "--name", "tsf-tc", *rule, "--time-constraint", closed)
    aid = made["alarm_id"]
    (stored,) = json.loads(made["time_constraints"])
    assert stored == {"name": "later", "start": f"{later.minute} {later.hour} * * *",
                      "duration": 60, "timezone": "Europe/Paris",
                      "description": f"Time constraint at {later.minute} {later.hour} * * * "
                                     "lasting for 60 seconds"}  # fmt: skip
    for _ in range(4):  # evaluated every second, were it inside a window
        _push(env, "tsf-tc", 95.0)
        time.sleep(1)
    shown = env.alarm.get(f"/v2/alarms/{aid}").json()
    assert (shown["state"], shown["evaluate_timestamp"]) == ("insufficient data", None)
    osc("alarm", "update", aid, "--time-constraint", closed,
        "--time-constraint", "name=always;start=* * * * *;duration=60")  # fmt: skip
    assert [tc["name"] for tc in env.alarm.get(f"/v2/alarms/{aid}").json()["time_constraints"]
            ] == ["later", "always"]  # fmt: skip
    deadline = time.monotonic() + 40
    while True:
        _push(env, "tsf-tc", 95.0)
        try:
            assert hooks.wait("/tc", "alarm", timeout=1.5)["alarm_id"] == aid
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
    bad = env.cloud.osc_raw("alarm", "create", "--name", "tsf-tc-bad", *rule,
                            "--time-constraint", "name=x;start=0 25 * * *;duration=1")  # fmt: skip
    assert bad.returncode != 0
    assert "Invalid input for field/attribute start. Value: '0 25 * * *'" in bad.stderr
    twice = [{"name": "x", "start": "* * * * *", "duration": 1}] * 2
    body = {**env.alarm.get(f"/v2/alarms/{aid}").json(), "time_constraints": twice}
    assert "names must be unique" in _error(env, "PUT", f"/v2/alarms/{aid}", body, 400)
    env.alarm.delete(f"/v2/alarms/{aid}", 204)


def test_trust_action_calls_with_a_token_of_the_trust(env: Env, hooks: Hooks) -> None:
    """A ``trust+http://`` action: on create Aodh's trust (the demo user to the alarm
    service's user) is made, the webhook is called with a token of that trust (checked
    with identity), a GET-then-PUT keeps it, dropping the action or deleting the alarm
    deletes it."""
    osc = env.cloud.osc
    demo = type(env.metric)(env.cloud.endpoint("metric"), env.cloud.token("tinystack-demo"))
    env.metric.post("/v1/archive_policy", {"name": "tsf-tr-2s", "aggregation_methods": ["mean"],
                    "definition": [{"granularity": "2s", "points": 600}]}, 201)  # fmt: skip
    demo.post("/v1/resource/generic", {"id": "tsf-tr",
              "metrics": {"tsf.cpu": {"archive_policy_name": "tsf-tr-2s"}}}, 201)  # fmt: skip
    action = f"trust+{hooks.url}/trust"
    made = osc("alarm", "create", "--name", "tsf-trust", "--type", "gnocchi_resources_threshold",
               "--metric", "tsf.cpu", "--threshold", "50", "--resource-id", "tsf-tr",
               "--resource-type", "generic", "--aggregation-method", "mean",
               "--comparison-operator", "gt", "--granularity", "2", "--evaluation-periods", "1",
               "--alarm-action", action, cloud="tinystack-demo")  # fmt: skip
    aid = made["alarm_id"]
    assert made["alarm_actions"] == [action]  # shown without the trust's credentials
    me = osc("token", "issue", cloud="tinystack-demo")
    trusts = env.identity.get(f"/OS-TRUST/trusts?trustor_user_id={me['user_id']}").json()
    (trust,) = [t for t in trusts["trusts"] if t["project_id"] == me["project_id"]]
    assert trust["impersonation"] is True
    # the admin names the demo's trust in an alarm of its own: never called with it
    stolen = f"trust+http://{trust['id']}@{hooks.url.removeprefix('http://')}/stolen"
    rule = {"metric": "tsf.cpu", "resource_id": "tsf-tr", "resource_type": "generic",
            "aggregation_method": "mean", "threshold": 50, "comparison_operator": "gt",
            "granularity": 2, "evaluation_periods": 1}  # fmt: skip
    other = env.alarm.post("/v2/alarms", {"name": "tsf-stolen", "alarm_actions": [stolen],
                           "type": "gnocchi_resources_threshold",
                           "gnocchi_resources_threshold_rule": rule}, 201).json()  # fmt: skip
    deadline = time.monotonic() + 40
    while True:
        demo.post("/v1/resource/generic/tsf-tr/metric/tsf.cpu/measures",
                  [{"timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                    "value": 95.0}], 202)  # fmt: skip
        try:
            assert hooks.wait("/trust", "alarm", timeout=1.5)["alarm_id"] == aid
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
    token = hooks.headers["x-auth-token"]
    while env.alarm.get(f"/v2/alarms/{other['alarm_id']}").json()["state"] != "alarm":
        assert time.monotonic() < deadline, "the admin's alarm never fired"
        time.sleep(0.2)
    time.sleep(1)  # its notification's turn
    assert "/stolen" not in hooks.paths
    env.alarm.delete(f"/v2/alarms/{other['alarm_id']}", 204)
    checked = env.identity.get("/auth/tokens", headers={"X-Subject-Token": token}).json()
    assert checked["token"]["OS-TRUST:trust"]["id"] == trust["id"]
    assert checked["token"]["user"]["id"] == me["user_id"]  # impersonating the trustor
    assert checked["token"]["project"]["id"] == me["project_id"]
    osc("alarm", "update", aid, "--description", "kept", cloud="tinystack-demo")
    env.identity.get(f"/OS-TRUST/trusts/{trust['id']}", 200)  # the same trust kept
    osc("alarm", "update", aid, "--alarm-action", "log://", cloud="tinystack-demo")
    env.identity.get(f"/OS-TRUST/trusts/{trust['id']}", 404)  # no trust action: deleted
    osc("alarm", "update", aid, "--alarm-action", action, cloud="tinystack-demo")
    after = env.identity.get(f"/OS-TRUST/trusts?trustor_user_id={me['user_id']}").json()
    (again,) = [t["id"] for t in after["trusts"] if t["project_id"] == me["project_id"]]
    osc("alarm", "delete", aid, cloud="tinystack-demo")
    env.identity.get(f"/OS-TRUST/trusts/{again}", 404)


def test_event_alarm_fires_on_server_delete(env: Env, hooks: Hooks) -> None:
    image = env.image.post(
        "/v2/images", {"name": "tsf-alarm-img", "disk_format": "raw",
                       "container_format": "bare"}, 201,
    ).json()  # fmt: skip
    env.image.put(f"/v2/images/{image['id']}/file", status=204, content=b"\1" * 4096,
                  headers={"Content-Type": "application/octet-stream"})  # fmt: skip
    boot = {"name": "tsf-alarm-vm", "flavorRef": "1", "imageRef": image["id"], "networks": "none"}
    server = env.compute.post("/servers", {"server": boot}, 202).json()["server"]
    env.wait(env.compute, f"/servers/{server['id']}", "server", "ACTIVE")
    made = env.cloud.osc("alarm", "create", "--name", "tsf-gone", "--type", "event",
                         "--event-type", "compute.instance.delete.*", "--query",
                         f"traits.instance_id=string::{server['id']}",
                         "--alarm-action", f"{hooks.url}/event")  # fmt: skip
    assert made["event_type"] == "compute.instance.delete.*"
    env.compute.delete(f"/servers/{server['id']}", 204)
    fired = hooks.wait("/event", "alarm")
    assert fired["alarm_id"] == made["alarm_id"]
    assert fired["reason_data"]["type"] == "event"
    assert fired["reason_data"]["event"]["event_type"] == "compute.instance.delete.end"
    assert env.alarm.get(f"/v2/alarms/{made['alarm_id']}/state").json() == "alarm"
    # fired once: a second matching event does not notify again (no repeat_actions)
    env.cloud.osc("alarm", "delete", made["alarm_id"])
    with pytest.raises(subprocess.CalledProcessError):
        env.cloud.osc("alarm", "show", made["alarm_id"])


def test_by_resources_and_prometheus_alarms_scoped_to_their_project(env: Env, hooks: Hooks) -> None:
    """The demo project's alarms, over a search and over a PromQL query, see only the
    demo's resources: the admin's hot box in the same rack never makes them fire; the
    demo's own box does."""
    env.metric.post("/v1/archive_policy", {"name": "tss-2s", "aggregation_methods": ["mean"],
                    "definition": [{"granularity": "2s", "points": 600}]}, 201)  # fmt: skip
    env.metric.post("/v1/resource_type", {"name": "tss_rack", "attributes": {
        "rack": {"type": "string", "required": False}}}, 201)  # fmt: skip
    demo = type(env.metric)(env.cloud.endpoint("metric"), env.cloud.token("tinystack-demo"))
    metrics = {"tss.load": {"archive_policy_name": "tss-2s"}}
    env.metric.post("/v1/resource/tss_rack", {"id": "tss-admin-box", "rack": "a",
                    "project_id": "p-tss", "metrics": metrics}, 201)  # fmt: skip
    project = env.cloud.osc("token", "issue", cloud="tinystack-demo")["project_id"]
    demo.post("/v1/resource/tss_rack", {"id": "tss-demo-box", "rack": "a", "metrics": metrics,
              "project_id": project}, 201)  # fmt: skip
    made = env.cloud.osc(
        "alarm", "create", "--name", "tss-rack-hot",
        "--type", "gnocchi_aggregation_by_resources_threshold", "--metric", "tss.load",
        "--resource-type", "tss_rack", "--query", '{"=": {"rack": "a"}}',
        "--aggregation-method", "mean", "--threshold", "50", "--comparison-operator", "gt",
        "--granularity", "2", "--evaluation-periods", "1",
        "--alarm-action", f"{hooks.url}/rack", "--ok-action", f"{hooks.url}/rack",
        cloud="tinystack-demo",
    )  # fmt: skip
    assert "created_by_project_id" in made["query"]  # scoped on create, as Aodh does

    def until(demo_value: float, current: str, path: str = "/rack") -> dict[str, Any]:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
            for api, box, value in ((env.metric, "tss-admin-box", 95.0),
                                    (demo, "tss-demo-box", demo_value)):  # fmt: skip
                api.post(f"/v1/resource/tss_rack/{box}/metric/tss.load/measures",
                         [{"timestamp": now, "value": value}], 202)  # fmt: skip
            try:
                return hooks.wait(path, current, timeout=1.5)
            except AssertionError:
                continue
        raise AssertionError(f"the alarm never went {current}")

    assert until(10.0, "ok")["alarm_id"] == made["alarm_id"]
    fired = until(80.0, "alarm")
    assert fired["previous"] == "ok" and fired["reason_data"]["most_recent"] > 50  # a 2 s mean
    bad = {"name": "tss-bad", "type": "gnocchi_aggregation_by_resources_threshold",
           "gnocchi_aggregation_by_resources_threshold_rule": {
               "metric": "tss.load", "resource_type": "tss_rack", "query": "{not json",
               "aggregation_method": "mean", "threshold": 1}}  # fmt: skip
    assert "rule/query" in _error(env, "POST", "/v2/alarms", bad, 400)
    env.alarm.delete(f"/v2/alarms/{made['alarm_id']}", 204)
    # unscoped, max() would see the admin's 95
    prom = env.cloud.osc(
        "alarm", "create", "--name", "tss-prom", "--type", "prometheus",
        "--query", 'max(ceilometer_tss_load{resource_type="tss_rack"})', "--threshold", "50",
        "--comparison-operator", "gt", "--alarm-action", f"{hooks.url}/prom",
        "--ok-action", f"{hooks.url}/prom", cloud="tinystack-demo",
    )  # fmt: skip
    assert f'project_id="{project}",resource_type' in prom["query"]
    assert until(10.0, "ok", "/prom")["alarm_id"] == prom["alarm_id"]
    assert until(80.0, "alarm", "/prom")["reason_data"]["most_recent"] > 50
    env.alarm.delete(f"/v2/alarms/{prom['alarm_id']}", 204)
