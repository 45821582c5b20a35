"""The metric service through python-gnocchiclient's CLI (``openstack metric …``) and
its HTTP API: archive policies and rules, resources, metrics, measures rolled up per
granularity and read back with each aggregation, aggregates across metrics, and the
resources the notification agent keeps from the services' notifications."""

from __future__ import annotations

import json
import math
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.telemetry.conftest import Env

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, on every granularity's boundary


def iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(seconds))


def test_archive_policies_and_rules_through_the_cli(env: Env) -> None:
    osc = env.cloud.osc
    names = {p["name"] for p in osc("metric", "archive-policy", "list")}
    assert {"low", "medium", "high", "bool"} <= names
    made = osc("metric", "archive-policy", "create", "tsf-10s", "-d", "granularity:10s,points:12",
               "-d", "granularity:1m,timespan:1h", "-m", "mean", "-m", "max", "-m", "rate:mean",
               "-m", "count", "-m", "std")  # fmt: skip
    assert made["name"] == "tsf-10s"
    shown = env.metric.get("/v1/archive_policy/tsf-10s").json()
    assert shown["definition"] == [
        {"granularity": "0:00:10", "points": 12, "timespan": "0:02:00"},
        {"granularity": "0:01:00", "points": 60, "timespan": "1:00:00"},
    ]
    osc("metric", "archive-policy-rule", "create", "tsf-rule", "-a", "tsf-10s", "-m", "tsf.*")
    rules = {r["name"]: r for r in osc("metric", "archive-policy-rule", "list")}
    assert rules["tsf-rule"]["archive_policy_name"] == "tsf-10s"
    env.metric.post("/v1/archive_policy", {"name": "x", "definition": []}, 400)
    env.metric.delete("/v1/archive_policy/tsf-10s", 400)  # a rule still uses it
    env.metric.get("/v1/archive_policy/nope", 404)


def test_measures_roll_up_and_read_back(env: Env) -> None:
    osc = env.cloud.osc
    osc("metric", "resource", "create", "tsf-host-1", "--type", "generic")
    metric = env.metric.post(
        "/v1/metric", {"name": "tsf.load", "unit": "%"}, 201
    ).json()  # the rule picks tsf-10s
    assert metric["archive_policy"]["name"] == "tsf-10s"
    mid = metric["id"]
    values = [(T0 + 0, 1.0), (T0 + 5, 3.0), (T0 + 12, 10.0), (T0 + 15, 20.0), (T0 + 61, 7.0)]
    args = [a for t, v in values for a in ("-m", f"{iso(t)}@{v}")]
    osc("metric", "measures", "add", *args, mid)
    # queued for the metric workers: --refresh aggregates them before answering
    shown = osc("metric", "measures", "show", mid, "--granularity", "10", "--aggregation", "mean",
                "--refresh")  # fmt: skip
    assert [(row["value"]) for row in shown] == [2.0, 15.0, 7.0]
    got = env.metric.get(f"/v1/metric/{mid}/measures?aggregation=max").json()
    assert got == [
        [iso(T0), 60.0, 20.0],
        [iso(T0 + 60), 60.0, 7.0],
        [iso(T0), 10.0, 3.0],
        [iso(T0 + 10), 10.0, 20.0],
        [iso(T0 + 60), 10.0, 7.0],
    ]
    std = env.metric.get(f"/v1/metric/{mid}/measures?aggregation=std&granularity=60").json()
    assert std[0][2] == pytest.approx(statistics_std([1.0, 3.0, 10.0, 20.0]))
    rate = env.metric.get(f"/v1/metric/{mid}/measures?aggregation=rate:mean&granularity=10").json()
    assert [r[2] for r in rate] == [2.0, 8.5, -13.0]  # changes 2 | 7, 10 | -13
    query = {"granularity": "10", "start": iso(T0 + 10)}
    start = env.metric.get(f"/v1/metric/{mid}/measures", params=query).json()
    assert [r[0] for r in start] == [iso(T0 + 10), iso(T0 + 60)]
    # 12 points of 10 s: a measure 3 minutes on trims what is 2 minutes older
    osc("metric", "measures", "add", "-m", f"{iso(T0 + 185)}@1", mid)
    trimmed = env.metric.get(f"/v1/metric/{mid}/measures?granularity=10&refresh=true").json()
    assert [r[0] for r in trimmed] == [iso(T0 + 180)]
    # the back window (0): a measure before the newest stored bucket of 60 s is ignored
    osc("metric", "measures", "add", "-m", f"{iso(T0 + 100)}@99", mid)
    late = env.metric.get(
        f"/v1/metric/{mid}/measures?granularity=60&aggregation=max&refresh=1"
    ).json()
    assert [r[2] for r in late] == [20.0, 7.0, 1.0]
    env.metric.get(f"/v1/metric/{mid}/measures?aggregation=last", 404)  # not in the policy
    env.metric.get(f"/v1/metric/{mid}/measures?granularity=5", 404)
    env.metric.post(f"/v1/metric/{mid}/measures", [{"timestamp": "x", "value": 1}], 400)
    env.metric.post(f"/v1/metric/{mid}/measures", [{"value": 1}], 400)
    env.metric.get("/v1/metric/00000000-0000-0000-0000-000000000000/measures", 404)


def test_batch_of_metrics_by_id_through_the_cli(env: Env, tmp_path: Path) -> None:
    """``openstack metric measures batch-metrics``: measures of several metrics by id in
    one request; an unknown id is Gnocchi's 400 naming it, another project's metric is
    refused as its own POST is, and a refused batch stores nothing."""
    osc = env.cloud.osc
    ids = [env.metric.post("/v1/metric", {"archive_policy_name": "low"}, 201).json()["id"]
           for _ in range(2)]  # fmt: skip
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps({ids[0]: [{"timestamp": iso(T0), "value": 4}],
                                 ids[1]: [{"timestamp": T0 + 3, "value": 8.5}]}))  # fmt: skip
    osc("metric", "measures", "batch-metrics", str(batch))
    for mid, value in zip(ids, (4.0, 8.5), strict=True):
        shown = osc("metric", "measures", "show", mid, "--refresh")
        assert [row["value"] for row in shown] == [value]
    ghost = "9d1f0c3e-0000-4000-8000-0000000000aa"
    later = [{"timestamp": iso(T0 + 300), "value": 1}]
    refused = env.metric.post("/v1/batch/metrics/measures", {ids[0]: later, ghost: later}, 400)
    assert refused.json()["description"] == {"cause": "Unknown metrics", "detail": [ghost]}
    batch.write_text(json.dumps({ids[0]: later, ghost: later}))
    failed = env.cloud.osc_raw("metric", "measures", "batch-metrics", str(batch))
    assert failed.returncode != 0 and "Unknown metrics" in failed.stderr, failed.stderr
    bad = {ids[0]: later, ids[1]: [{"timestamp": "x", "value": 1}]}
    env.metric.post("/v1/batch/metrics/measures", bad, 400)
    demo = type(env.metric)(env.cloud.endpoint("metric"), env.cloud.token("tinystack-demo"))
    demo.post("/v1/batch/metrics/measures", {ids[0]: later}, 404)  # as its own POST
    demo.post(f"/v1/metric/{ids[0]}/measures", later, 404)
    shown = osc("metric", "measures", "show", ids[0], "--refresh")
    assert [row["value"] for row in shown] == [4.0]  # nothing of the refused batches


def statistics_std(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def test_resources_metrics_and_aggregates(env: Env) -> None:
    osc = env.cloud.osc
    rids = []
    for n, value in ((1, 10.0), (2, 30.0)):
        created = env.metric.post(
            "/v1/resource/generic",
            {"id": f"tsf-node-{n}", "project_id": "p-tsf",
             "metrics": {"tsf.temp": {"archive_policy_name": "medium"}}},
            201,
        ).json()  # fmt: skip
        rids.append(created["id"])
        assert created["original_resource_id"] == f"tsf-node-{n}"
        measures = [
            {"timestamp": iso(T0), "value": value},
            {"timestamp": iso(T0 + 60), "value": value * 2},
        ]
        path = f"/v1/resource/generic/{created['id']}/metric/tsf.temp/measures"
        env.metric.post(path, measures, 202)
    listed = {r["id"] for r in osc("metric", "resource", "list", "--type", "generic")}
    assert set(rids) <= listed
    shown = osc("metric", "resource", "show", rids[0])
    metrics = env.metric.get(f"/v1/resource/generic/{rids[0]}").json()["metrics"]
    assert "tsf.temp" in metrics and shown["id"] == rids[0]
    by_name = osc("metric", "measures", "show", "tsf.temp", "--resource-id", rids[1],
                  "--granularity", "60", "--refresh")  # fmt: skip
    assert [r["value"] for r in by_name] == [30.0, 60.0]
    ids = [env.metric.get(f"/v1/resource/generic/{r}").json()["metrics"]["tsf.temp"] for r in rids]
    ops = f"(aggregate mean (metric ({ids[0]} mean) ({ids[1]} mean)))"
    agg: dict[str, Any] = env.metric.post(
        "/v1/aggregates?granularity=60&refresh=true", {"operations": ops}, 200
    ).json()
    assert [r[2] for r in agg["measures"]["aggregated"]] == [20.0, 40.0]
    both = env.metric.post("/v1/aggregates?granularity=60",
                           {"operations": f"(metric {ids[0]} max)"}, 200).json()  # fmt: skip
    assert [r[2] for r in both["measures"][ids[0]]["max"]] == [10.0, 20.0]
    env.metric.post("/v1/aggregates", {"operations": "(metric"}, 400)
    scraped = env.metric.get("/metrics").text
    latest = {
        s.labels["resource_id"]: (s.value, s.timestamp)
        for family in text_string_to_metric_families(scraped)
        if family.name == "ceilometer_tsf_temp"
        for s in family.samples
    }
    assert latest[rids[0]] == (20.0, T0 + 60) and latest[rids[1]] == (60.0, T0 + 60)
    env.metric.delete(f"/v1/resource/generic/{rids[0]}", 204)
    env.metric.get(f"/v1/metric/{ids[0]}", 404)


def test_notification_agent_keeps_resources(env: Env) -> None:
    image = env.image.post(
        "/v2/images", {"name": "tsf-agent", "disk_format": "raw", "container_format": "bare"}, 201
    ).json()
    env.image.put(f"/v2/images/{image['id']}/file", status=204, content=b"\2" * 4096,
                  headers={"Content-Type": "application/octet-stream"})  # fmt: skip
    found = wait_for(lambda: env.metric.get(f"/v1/resource/image/{image['id']}", None))
    assert found["name"] == "tsf-agent" and found["disk_format"] == "raw"
    path = f"/v1/resource/image/{image['id']}/metric/image.size/measures?granularity=300"
    size = wait_for(lambda: env.metric.get(path, None))
    assert size[0][2] == 4096.0
    with pytest.raises(subprocess.CalledProcessError):
        env.cloud.osc("metric", "resource", "show", "no-such-resource")


def wait_for(fetch: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = fetch()
        if response.status_code == 200 and response.json():
            return response.json()
        time.sleep(0.1)
    raise AssertionError(f"not there after {timeout}s: {response.status_code} {response.text}")


def test_resource_search_and_aggregates_over_it(env: Env) -> None:
    osc = env.cloud.osc
    env.metric.post("/v1/resource_type", {"name": "tss_box", "attributes": {
        "rack": {"type": "string", "required": False}}}, 201)  # fmt: skip
    boxes = {}
    for name, rack, value in (("tss-1", "a", 10.0), ("tss-2", "a", 30.0), ("tss-3", "b", 99.0)):
        made = env.metric.post("/v1/resource/tss_box", {
            "id": name, "project_id": "p-tss", "rack": rack,
            "metrics": {"tss.load": {"archive_policy_name": "medium"}}}, 201).json()  # fmt: skip
        boxes[name] = made["id"]
        env.metric.post(f"/v1/resource/tss_box/{made['id']}/metric/tss.load/measures",
                        [{"timestamp": iso(T0), "value": value},
                         {"timestamp": iso(T0 + 60), "value": value + 1}], 202)  # fmt: skip
    # gnocchiclient's CLI sends the string form as ``filter=``
    found = osc("metric", "resource", "search", "--type", "tss_box", "rack=a")
    assert sorted(r["id"] for r in found) == sorted([boxes["tss-1"], boxes["tss-2"]])
    first = osc("metric", "resource", "search", "--type", "tss_box", "--sort", "rack:desc",
                "--limit", "1", "project_id='p-tss' and not rack like 'z%'")  # fmt: skip
    assert [r["id"] for r in first] == [boxes["tss-3"]]
    query = {"and": [{"in": {"id": ["tss-1", "tss-3"]}}, {">=": {"started_at": iso(T0)}}]}
    body = env.metric.post("/v1/search/resource/tss_box", query, 200).json()
    assert {r["id"] for r in body} == {boxes["tss-1"], boxes["tss-3"]}
    assert body[0]["rack"] in ("a", "b") and "tss.load" in body[0]["metrics"]
    env.metric.post("/v1/search/resource/tss_box", {"=": {"colour": "red"}}, 400)
    env.metric.post("/v1/search/resource/tss_box?filter=rack%3D", None, 400)
    env.metric.post("/v1/search/resource/nope", {}, 404)
    # the demo project sees none of them, only its own
    demo = type(env.metric)(env.cloud.endpoint("metric"), env.cloud.token("tinystack-demo"))
    mine = demo.post("/v1/resource/tss_box", {"id": "tss-demo", "rack": "a"}, 201).json()
    seen = demo.post("/v1/search/resource/tss_box", {"=": {"rack": "a"}}, 200).json()
    assert [r["id"] for r in seen] == [mine["id"]]
    # aggregates over the search: by resource, combined, and grouped
    search = {"operations": "(aggregate mean (metric tss.load mean))", "search": "rack=a",
              "resource_type": "tss_box"}  # fmt: skip
    agg = env.metric.post("/v1/aggregates?granularity=60&refresh=true", search, 200).json()
    assert [r[2] for r in agg["measures"]["aggregated"]] == [20.0, 21.0]
    by_resource = {**search, "operations": "(metric tss.* max)", "search": {"=": {"rack": "b"}}}
    per = env.metric.post("/v1/aggregates?granularity=60&refresh=1", by_resource, 200).json()
    assert per["measures"] == {boxes["tss-3"]: {"tss.load": {"max": [
        [iso(T0), 60.0, 99.0], [iso(T0 + 60), 60.0, 100.0]]}}}  # fmt: skip
    grouped = osc("metric", "aggregates", "--resource-type", "tss_box", "--groupby", "rack",
                  "--granularity", "60", "(aggregate sum (metric tss.load mean))",
                  "project_id=p-tss")  # fmt: skip
    sums = {
        (g["group"], g["value"]) for g in grouped if g["timestamp"].startswith("2026-01-01T00:01")
    }
    assert sums == {("rack: a", 42.0), ("rack: b", 100.0)}, grouped
    assert demo.post("/v1/aggregates", search, 404).json()  # its resource has no tss.load
    env.metric.post("/v1/aggregates", {**search, "operations": "(metric nothing mean)"}, 404)
    env.metric.post("/v1/aggregates?groupby=colour", search, 400)
    for rid in (*boxes.values(), mine["id"]):
        env.metric.delete(f"/v1/resource/tss_box/{rid}", 204)
