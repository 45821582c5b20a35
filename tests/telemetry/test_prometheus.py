"""The metric store through Prometheus' HTTP API: a range query stepping by the
metric's granularity returns what Gnocchi's measures API returns, instant queries,
aggregation by label, ``rate``, the POST form Grafana sends, and Prometheus' errors;
the requests of Grafana's Prometheus data source ("Save & test", the metrics browser),
scoped to the caller's project; scalars; ``bad_data`` for bad input."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.telemetry.conftest import Env
from tinystack.common.timeutils import parse_isotime

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
    for made_id in ids.values():  # aggregated now, as a Gnocchi user asks (PromQL has no refresh)
        env.metric.get(f"/v1/resource/generic/{made_id}/metric/tsf.bytes/measures?refresh=true")
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


# -- Grafana's Prometheus data source ---------------------------------------------------
# The requests below are those Grafana (12.x) sends to a Prometheus data source whose URL
# is the metric endpoint, with the default settings (HTTP method POST, cache level Low)
# and the token in a custom HTTP header. Where each comes from, in grafana/grafana:
# - "Save & test": pkg/promlib/healthcheck.go runs the instant query ``1+1`` over the time
#   range 1s..4s; pkg/promlib/client/client.go QueryInstant sends ``query`` and ``time``
#   (formatTime(end): "4") as a form body (url.Values.Encode, keys sorted) with
#   ``Content-Type: application/x-www-form-urlencoded``; pkg/promlib/heuristics.go then
#   GETs ``api/v1/status/buildinfo`` (GET only: client.go endpointsSupportOnlyGet) and
#   takes a build without ``features`` for Prometheus.
# - opening the data source (packages/grafana-prometheus/src/datasource.ts ``init``):
#   ``loadRules`` GETs /api/v1/rules; ``areExemplarsAvailable`` POSTs /api/v1/query_exemplars
#   with ``query=test`` and start/end in *milliseconds* (dateTime().valueOf()).
# - the query editor and metrics browser (resource_clients.ts LabelsApiClient,
#   language_provider.ts): label values of ``__name__`` (GET only) with ``limit=40000``
#   and the range snapped to the minute (language_utils.getRangeSnapInterval),
#   /api/v1/metadata (GET only), /api/v1/labels (POST form), and once a metric is picked
#   /api/v1/labels and /api/v1/label/<name>/values with ``match[]``, and /api/v1/series
#   with ``match[]`` (POST form); running the panel POSTs /api/v1/query_range with
#   ``end``, ``query``, ``start``, ``step`` (client.go QueryRange).
GRAFANA_UA = {"User-Agent": "Grafana/12.0.0"}
FORM = {"Content-Type": "application/x-www-form-urlencoded", **GRAFANA_UA}
ERROR_KEYS = {"status", "errorType", "error"}


def _member_token(env: Env, tag: str) -> tuple[str, str]:
    """A new project and a token of a member of it: (project id, token)."""
    identity = env.identity
    project = identity.post("/projects", {"project": {"name": f"graf-{tag}"}}, 201).json()
    password = uuid.uuid4().hex
    user = identity.post("/users", {"user": {"name": f"graf-{tag}", "password": password}},
                         201).json()["user"]  # fmt: skip
    member = identity.get("/roles", params={"name": "member"}).json()["roles"][0]["id"]
    project_id = project["project"]["id"]
    identity.put(f"/projects/{project_id}/users/{user['id']}/roles/{member}", None, 204)
    auth = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"id": user["id"], "password": password}},
            },
            "scope": {"project": {"id": project_id}},
        }
    }
    reply = httpx.post(f"{env.cloud.endpoint('identity')}/auth/tokens", json=auth, timeout=60)
    assert reply.status_code == 201, reply.text
    return project_id, reply.headers["X-Subject-Token"]


def _grafana_data(env: Env, tag: str, project_a: str, now: int) -> dict[str, str]:
    """A resource of project A and one of another project, each with measures every 10 s
    over the last 5 minutes; their ids."""
    env.metric.post("/v1/archive_policy", {"name": f"graf-{tag}", "aggregation_methods": [
        "mean"], "definition": [{"granularity": "10s", "points": 1000}]}, 201)  # fmt: skip
    ids = {}
    owners = (("a", project_a, ("tsf.graf",)), ("b", "p-other", ("tsf.graf", "tsf.graf.other")))
    for who, project, meters in owners:
        metrics = {m: {"archive_policy_name": f"graf-{tag}", "unit": "B"} for m in meters}
        made = env.metric.post("/v1/resource/generic", {"id": f"graf-{tag}-{who}",
                               "project_id": project, "metrics": metrics}, 201).json()  # fmt: skip
        ids[who] = made["id"]
        for meter in meters:
            points = [{"timestamp": now - s, "value": float(s)} for s in range(300, 0, -10)]
            path = f"/v1/resource/generic/{made['id']}/metric/{meter}/measures"
            env.metric.post(path, points, 202)
            env.metric.get(path, params={"refresh": "true"})  # aggregated now
    return ids


def _prom(
    api: httpx.Client, method: str, path: str, form: dict[str, Any] | None = None, **kw: Any
) -> Any:
    """One request as Grafana's backend sends it: a form body on a POST."""
    if method == "POST":
        reply = api.post(path, content=urlencode(form or {}, doseq=True), headers=FORM)
    else:
        reply = api.get(path, headers=GRAFANA_UA, **kw)
    assert reply.status_code == 200, (method, path, reply.status_code, reply.text)
    body = reply.json()
    assert body["status"] == "success" and "data" in body, body
    return body


def test_grafana_save_and_test_and_metrics_browser(env: Env) -> None:
    tag = uuid.uuid4().hex[:8]
    project_a, token = _member_token(env, tag)
    now = int(time.time())
    ids = _grafana_data(env, tag, project_a, now)
    grafana = httpx.Client(base_url=env.cloud.endpoint("metric"), timeout=60,
                           headers={"X-Auth-Token": token})  # fmt: skip

    # "Save & test"
    assert _prom(grafana, "POST", "/api/v1/query", {"query": "1+1", "time": "4"}) == {
        "status": "success", "data": {"resultType": "scalar", "result": [4, "2"]}}  # fmt: skip
    build = _prom(grafana, "GET", "/api/v1/status/buildinfo")["data"]
    assert build["version"] and "features" not in build

    # the data source's start
    assert _prom(grafana, "GET", "/api/v1/rules")["data"] == {"groups": []}
    in_ms = {"query": "test", "start": str((now - 1800) * 1000), "end": str(now * 1000)}
    assert _prom(grafana, "POST", "/api/v1/query_exemplars", in_ms)["data"] == []

    # the metrics browser, over the last hour snapped to minutes
    span = {"start": str((now - 3600) // 60 * 60), "end": str(-(-now // 60) * 60)}
    names = _prom(grafana, "GET", "/api/v1/label/__name__/values",
                  params={"limit": "40000", **span})["data"]  # fmt: skip
    assert "ceilometer_tsf_graf" in names and "ceilometer_tsf_graf_other" not in names
    meta = _prom(grafana, "GET", "/api/v1/metadata")["data"]
    assert [m["type"] + m["unit"] for m in meta["ceilometer_tsf_graf"]] == ["gaugeB"]
    assert "ceilometer_tsf_graf_other" not in meta
    keys = {"__name__", "project_id", "resource_id", "resource_type", "unit"}
    assert keys <= set(_prom(grafana, "POST", "/api/v1/labels", {"limit": "40000", **span})["data"])
    picked = {"match[]": '{__name__="ceilometer_tsf_graf"}', **span}
    assert _prom(grafana, "POST", "/api/v1/labels", picked)["data"] == sorted(keys)
    capped = _prom(grafana, "POST", "/api/v1/labels", {**picked, "limit": "2"})
    assert capped["data"] == sorted(keys)[:2]
    assert capped["warnings"] == ["results truncated due to limit"]
    values = _prom(grafana, "GET", "/api/v1/label/resource_id/values", params=picked)["data"]
    assert values == [ids["a"]]  # B's series of the same name stay B's
    series = _prom(grafana, "POST", "/api/v1/series", {**picked, "limit": "40000"})["data"]
    mine = {"project_id": project_a, "resource_id": ids["a"], "resource_type": "generic"}
    assert series == [{"__name__": "ceilometer_tsf_graf", **mine, "unit": "B"}]

    # running the panel: the buckets Gnocchi's measures API returns
    start = (now - 600) // 10 * 10
    ranged = _prom(
        grafana,
        "POST",
        "/api/v1/query_range",
        {
            "end": str(now // 10 * 10),
            "query": "ceilometer_tsf_graf",
            "start": str(start),
            "step": "10",
        },
    )["data"]
    (row,) = ranged["result"]
    gnocchi = env.metric.get(f"/v1/resource/generic/{ids['a']}/metric/tsf.graf/measures",
                             params={"granularity": 10}).json()  # fmt: skip
    assert len(gnocchi) == 30 and len(row["values"]) >= 30
    assert ranged["resultType"] == "matrix" and row["metric"]["resource_id"] == ids["a"]
    assert {(t, float(v)) for t, v in row["values"]} >= {
        (int(parse_isotime(g[0]).timestamp()), g[2]) for g in gnocchi}  # fmt: skip
    assert all(isinstance(v, str) for _, v in row["values"])
    # Explore's raw query: the buckets of the last minute, a matrix
    raw = _prom(grafana, "POST", "/api/v1/query", {"query": "ceilometer_tsf_graf[1m]",
                "time": str(now)})["data"]  # fmt: skip
    assert raw["resultType"] == "matrix"
    assert [r["metric"]["resource_id"] for r in raw["result"]] == [ids["a"]]
    assert [t % 10 for t, _ in raw["result"][0]["values"]] == [0] * 5  # (now-60, now]: 5 buckets


def test_prometheus_api_bad_input_is_bad_data(env: Env) -> None:
    """Prometheus' 400 body for what it refuses; never a 500."""
    api = env.metric
    cases = [
        ("GET", "/api/v1/series", {}, "no match[] parameter provided"),
        ("GET", "/api/v1/series", {"match[]": "{__name__="}, 'invalid parameter "match[]": '),
        ("POST", "/api/v1/series", {"match[]": "{}"}, 'invalid parameter "match[]": '),
        ("POST", "/api/v1/series", {"match[]": 'x{a=~"("}'}, 'invalid parameter "match[]": '),
        (
            "GET",
            "/api/v1/series",
            {"match[]": "x", "limit": "-1"},
            'invalid parameter "limit": limit must be non-negative',
        ),
        (
            "POST",
            "/api/v1/labels",
            {"start": "yesterday"},
            'invalid parameter "start": invalid '
            "time value for 'start': cannot parse \"yesterday\" to a valid timestamp",
        ),
        ("GET", "/api/v1/labels", {"end": "1e300"}, 'invalid parameter "end": '),
        ("GET", "/api/v1/label/not-a-label/values", {}, 'invalid label name: "not-a-label"'),
        ("GET", "/api/v1/label/job/values", {"match[]": "rate(x[5m])"}, "parse error"),
        ("GET", "/api/v1/metadata", {"limit": "x"}, "limit must be a number"),
        ("GET", "/api/v1/rules", {"type": "bogus"}, 'invalid parameter "type": '),
        ("POST", "/api/v1/query", {"query": "1+1", "time": "NaN"}, 'invalid parameter "time": '),
        ("POST", "/api/v1/query", {"query": "1 > 0"}, "BOOL modifier"),
        ("GET", "/api/v1/query", {"query": "up", "timeout": "soon"}, 'parameter "timeout"'),
        (
            "POST",
            "/api/v1/query_range",
            {"query": "1", "start": "10", "end": "5", "step": "1"},
            'invalid parameter "end": end timestamp must not be before start time',
        ),
        (
            "GET",
            "/api/v1/query_range",
            {"query": "1", "start": "x", "end": "5", "step": "1"},
            'invalid parameter "start": cannot parse "x" to a valid timestamp',
        ),
        (
            "GET",
            "/api/v1/query_range",
            {"query": "x[5m]", "start": "1", "end": "5", "step": "1"},
            'invalid expression type "range vector"',
        ),
        ("POST", "/api/v1/query_exemplars", {"query": "x{", "start": "1"}, "parse error"),
    ]
    for method, path, params, error in cases:
        if method == "POST":
            reply = api.post(path, None, 400, content=urlencode(params), headers=FORM)
        else:
            reply = api.get(path, 400, params=params)
        body = reply.json()
        assert set(body) == ERROR_KEYS and body["status"] == "error", (path, params, body)
        assert body["errorType"] == "bad_data" and error in body["error"], (path, params, body)


def test_promql_scalars(env: Env) -> None:
    """Scalar arithmetic as Prometheus answers it, in instant and range queries."""
    at = {"time": "1767225600.5"}
    answers = {"1+1": "2", "2 * 3 + 4": "10", "-2^2": "-4", "1 / 0": "+Inf", "0 / 0": "NaN",
               "7 % 4": "3", "3 > bool 2": "1", "0.1": "0.1"}  # fmt: skip
    for expr, want in answers.items():
        data = env.metric.get("/api/v1/query", params={"query": expr, **at}).json()["data"]
        assert data == {"resultType": "scalar", "result": [1767225600.5, want]}, expr
    ranged = env.metric.get("/api/v1/query_range", params={
        "query": "1 + 1", "start": "100", "end": "130", "step": "15s"}).json()["data"]  # fmt: skip
    assert ranged == {"resultType": "matrix", "result": [
        {"metric": {}, "values": [[100, "2"], [115, "2"], [130, "2"]]}]}  # fmt: skip
