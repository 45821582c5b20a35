"""The metric store through Prometheus' query API: a range query stepping by the
metric's granularity returns what Gnocchi's measures API returns, instant queries,
aggregation by label, ``rate``, the POST form Grafana sends, and Prometheus' errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.telemetry.conftest import Env

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def _values(reply: dict[str, Any]) -> dict[str, list[tuple[float, float]]]:
    assert reply["status"] == "success", reply
    return {
        r["metric"]["resource_id"]: [(t, float(v)) for t, v in r["values"]]
        for r in reply["data"]["result"]
    }


def test_promql_over_the_metric_store(env: Env) -> None:
    env.metric.post("/v1/archive_policy", {"name": "tsf-prom", "aggregation_methods": ["mean"],
                    "definition": [{"granularity": "10s", "points": 1000}]}, 201)  # fmt: skip
    ids = {}
    for n, project in ((1, "p-prom-a"), (2, "p-prom-b"), (3, "p-prom-b")):
        made = env.metric.post("/v1/resource/generic", {"id": f"tsf-prom-{n}",
                               "project_id": project, "metrics": {"tsf.bytes": {
                                   "archive_policy_name": "tsf-prom", "unit": "B"}}},
                               201).json()  # fmt: skip
        ids[n] = made["id"]
        counter = [{"timestamp": T0 + s, "value": n * 100.0 + s * n} for s in range(0, 60, 5)]
        env.metric.post(f"/v1/resource/generic/{made['id']}/metric/tsf.bytes/measures",
                        counter, 202)  # fmt: skip
    metric_id = env.metric.get(f"/v1/resource/generic/{ids[1]}").json()["metrics"]["tsf.bytes"]
    gnocchi = env.metric.get(f"/v1/metric/{metric_id}/measures",
                             params={"granularity": 10, "aggregation": "mean"}).json()  # fmt: skip
    ranged = _values(env.metric.get("/api/v1/query_range", params={
        "query": f'ceilometer_tsf_bytes{{resource_id="{ids[1]}"}}',
        "start": T0, "end": T0 + 50, "step": "10s"}).json())  # fmt: skip
    assert ranged[ids[1]] == [(float(T0 + i * 10), g[2]) for i, g in enumerate(gnocchi)]

    instant = env.metric.get("/api/v1/query", params={
        "query": 'sum by (project_id) (ceilometer_tsf_bytes{project_id=~"p-prom-.*"})',
        "time": T0 + 25}).json()  # fmt: skip
    sums = {r["metric"]["project_id"]: float(r["value"][1]) for r in instant["data"]["result"]}
    # the bucket of T0+20: measures at +20 and +25, mean n*100 + 22.5*n
    assert sums == {"p-prom-a": 122.5, "p-prom-b": 245.0 + 367.5}
    assert instant["data"]["resultType"] == "vector"

    rate = env.metric.post("/api/v1/query", data={
        "query": f'rate(ceilometer_tsf_bytes{{resource_id="{ids[2]}"}}[1m])',
        "time": str(T0 + 55)}).json()  # fmt: skip
    (series,) = rate["data"]["result"]
    assert float(series["value"][1]) == pytest.approx(2.0)  # 2 per second
    assert "__name__" not in series["metric"]
    above = env.metric.get("/api/v1/query", params={
        "query": "ceilometer_tsf_bytes > 250", "time": T0 + 55}).json()  # fmt: skip
    assert {r["metric"]["resource_id"] for r in above["data"]["result"]} == {ids[2], ids[3]}

    for bad in ("ceilometer_tsf_bytes{", "rate(ceilometer_tsf_bytes)", "topk(3, x)", ""):
        err = env.metric.get("/api/v1/query", 400, params={"query": bad}).json()
        assert (err["status"], err["errorType"]) == ("error", "bad_data"), bad
    zero_step = {"query": "ceilometer_tsf_bytes", "start": T0, "end": T0 + 10, "step": "0"}
    err = env.metric.get("/api/v1/query_range", 400, params=zero_step).json()
    assert "step" in err["error"]
