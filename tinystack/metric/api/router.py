"""THE metric route table: Gnocchi's v1 API, every route on one line (method, path,
handler, the policy rules it checks, its status, the body it reads itself).

Handlers check the rule where the target is known from the request; resources,
metrics and measures are loaded first and checked in the service layer (the rules are
still declared here). Measure bodies are lists read raw (declared with ``raw``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from tinystack.common.api import openapi
from tinystack.metric.api import aggregates as agg
from tinystack.metric.api import archive_policies as ap
from tinystack.metric.api import archive_policy_rules as apr
from tinystack.metric.api import exposition as ex
from tinystack.metric.api import measures as ms
from tinystack.metric.api import metrics as mt
from tinystack.metric.api import prometheus as pq
from tinystack.metric.api import resource_types as rt
from tinystack.metric.api import resources as rs
from tinystack.metric.api import status, versions
from tinystack.metric.policies import aggregates as agg_p
from tinystack.metric.policies import archive_policies as ap_p
from tinystack.metric.policies import archive_policy_rules as apr_p
from tinystack.metric.policies import exposition as ex_p
from tinystack.metric.policies import measures as ms_p
from tinystack.metric.policies import metrics as mt_p
from tinystack.metric.policies import prometheus as pq_p
from tinystack.metric.policies import resource_types as rt_p
from tinystack.metric.policies import resources as rs_p
from tinystack.metric.policies import status as st_p

#: the measures body: a list of {"timestamp", "value"}
BODY = openapi.request_schema(
    "Measures",
    {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"timestamp": {}, "value": {"type": "number"}},
            "required": ["timestamp", "value"],
        },
    },
)
SEARCH_BODY = openapi.request_schema("ResourceQuery", {"type": "object"})
BATCH_BODY = openapi.request_schema("BatchResourcesMeasures", {"type": "object"})
BATCH_METRICS_BODY = openapi.request_schema("BatchMetricsMeasures", {"type": "object"})
#: Prometheus' parameters as a form (what Grafana POSTs); ``match[]`` repeats
_PROM_FIELDS: dict[str, dict[str, Any]] = {name: {"type": "string"} for name in
                ("query", "time", "start", "end", "step", "timeout", "limit")}  # fmt: skip
_PROM_FIELDS["match[]"] = {"type": "array", "items": {"type": "string"}}
PROM_FORM = {
    "requestBody": {
        "required": False,
        "content": {"application/x-www-form-urlencoded": {
            "schema": {"type": "object", "properties": _PROM_FIELDS}}},
    }
}  # fmt: skip


class Route(NamedTuple):
    method: str
    path: str
    handler: Callable[..., Any]
    #: the rules checked (None: public)
    rules: tuple[str, ...] | None
    status: int = 200
    body: dict[str, Any] | None = None


AP = "/v1/archive_policy"
APR = "/v1/archive_policy_rule"
RT = "/v1/resource_type"
RES = "/v1/resource/{resource_type}"
ONE = RES + "/{resource_id}"
RES_MEASURES = ONE + "/metric/{metric_name}/measures"
MEASURES = "/v1/metric/{metric_id}/measures"
MT = "/v1/metric"
PROM = "/api/v1"
#: Prometheus' API: any caller, each series limited to the metrics whose measures it reads
PROM_RULES = (pq_p.QUERY, ms_p.GET)
PUBLIC = None

# fmt: off
ROUTES = (
    Route("GET",    "/",                 versions.root, PUBLIC),
    Route("GET",    "/v1",               versions.v1, PUBLIC),
    Route("GET",    "/v1/capabilities",  status.capabilities, PUBLIC),
    Route("GET",    "/v1/status",        status.status, (st_p.GET,)),
    Route("POST",   AP,                  ap.create_archive_policy, (ap_p.CREATE,), 201),
    Route("GET",    AP,                  ap.list_archive_policies, (ap_p.LIST,)),
    Route("GET",    AP + "/{name}",      ap.show_archive_policy, (ap_p.GET,)),
    Route("PATCH",  AP + "/{name}",      ap.update_archive_policy, (ap_p.UPDATE,)),
    Route("DELETE", AP + "/{name}",      ap.delete_archive_policy, (ap_p.DELETE,), 204),
    Route("POST",   APR,                 apr.create_archive_policy_rule, (apr_p.CREATE,), 201),
    Route("GET",    APR,                 apr.list_archive_policy_rules, (apr_p.LIST,)),
    Route("GET",    APR + "/{name}",     apr.show_archive_policy_rule, (apr_p.GET,)),
    Route("PATCH",  APR + "/{name}",     apr.update_archive_policy_rule, (apr_p.UPDATE,)),
    Route("DELETE", APR + "/{name}",     apr.delete_archive_policy_rule, (apr_p.DELETE,), 204),
    Route("POST",   RT,                  rt.create_resource_type, (rt_p.CREATE,), 201),
    Route("GET",    RT,                  rt.list_resource_types, (rt_p.LIST,)),
    Route("GET",    RT + "/{name}",      rt.show_resource_type, (rt_p.GET,)),
    Route("DELETE", RT + "/{name}",      rt.delete_resource_type, (rt_p.DELETE,), 204),
    Route("POST",   RES,                 rs.create_resource, (rs_p.CREATE,), 201),
    Route("GET",    RES,                 rs.list_resources, (rs_p.LIST,)),
    Route("GET",    ONE,                 rs.show_resource, (rs_p.GET,)),
    Route("PATCH",  ONE,                 rs.update_resource, (rs_p.UPDATE,)),
    Route("DELETE", ONE,                 rs.delete_resource, (rs_p.DELETE,), 204),
    Route("POST",   "/v1/search/resource/{resource_type}", rs.search_resources, (rs_p.SEARCH,),
          200, SEARCH_BODY),
    Route("POST",   RES_MEASURES,        ms.add_resource_measures, (ms_p.POST,), 202, BODY),
    Route("GET",    RES_MEASURES,        ms.get_resource_measures, (ms_p.GET,)),
    Route("POST",   MT,                  mt.create_metric, (mt_p.CREATE,), 201),
    Route("GET",    MT,                  mt.list_metrics, (mt_p.LIST, mt_p.LIST_ALL)),
    Route("GET",    MT + "/{metric_id}", mt.show_metric, (mt_p.GET,)),
    Route("DELETE", MT + "/{metric_id}", mt.delete_metric, (mt_p.DELETE,), 204),
    Route("POST",   MEASURES,            ms.add_measures, (ms_p.POST,), 202, BODY),
    Route("GET",    MEASURES,            ms.get_measures, (ms_p.GET,)),
    Route("POST",   "/v1/batch/metrics/measures", ms.batch_metrics_measures, (ms_p.POST,), 202,
          BATCH_METRICS_BODY),
    Route("POST",   "/v1/batch/resources/metrics/measures", ms.batch_resources_measures,
          (ms_p.POST,), 202, BATCH_BODY),
    Route("GET",    "/metrics",          ex.metrics, (ex_p.GET,)),
    Route("POST",   "/v1/aggregates",    agg.aggregate, (agg_p.AGGREGATES, ms_p.GET, rs_p.SEARCH)),
    Route("GET",    PROM + "/query",     pq.query, PROM_RULES),
    Route("POST",   PROM + "/query",     pq.query, PROM_RULES, 200, PROM_FORM),
    Route("GET",    PROM + "/query_range", pq.query_range, PROM_RULES),
    Route("POST",   PROM + "/query_range", pq.query_range, PROM_RULES, 200, PROM_FORM),
    Route("GET",    PROM + "/series",    pq.series, PROM_RULES),
    Route("POST",   PROM + "/series",    pq.series, PROM_RULES, 200, PROM_FORM),
    Route("GET",    PROM + "/labels",    pq.labels, PROM_RULES),
    Route("POST",   PROM + "/labels",    pq.labels, PROM_RULES, 200, PROM_FORM),
    Route("GET",    PROM + "/label/{name}/values", pq.label_values, PROM_RULES),
    Route("GET",    PROM + "/metadata",  pq.metadata, PROM_RULES),
    Route("GET",    PROM + "/query_exemplars", pq.query_exemplars, PROM_RULES),
    Route("POST",   PROM + "/query_exemplars", pq.query_exemplars, PROM_RULES, 200, PROM_FORM),
    Route("GET",    PROM + "/rules",     pq.rule_groups, (pq_p.QUERY,)),
    Route("GET",    PROM + "/status/buildinfo", pq.buildinfo, (pq_p.QUERY,)),
)
# fmt: on


def include_routes(app: FastAPI) -> None:
    for route in ROUTES:
        extra = openapi.policies(*route.rules) if route.rules is not None else dict(openapi.PUBLIC)
        if route.body is not None:
            extra.update(route.body)
        app.add_api_route(
            route.path,
            route.handler,
            methods=[route.method],
            status_code=route.status,
            tags=[route.handler.__module__.rsplit(".", 1)[-1].replace("_", " ")],
            openapi_extra=extra,
        )


class TrailingSlash:
    """Gnocchi answers ``/v1/archive_policy/`` as ``/v1/archive_policy`` (gnocchiclient
    sends the slash on collections): the slash is dropped before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            raw = scope.get("raw_path") or path.encode()
            scope = {**scope, "path": path.rstrip("/"), "raw_path": raw.rstrip(b"/")}
        await self.app(scope, receive, send)
