"""What a threshold rule sees: the metric service's aggregated measures over the
evaluation window, read over REST with the service's session as Aodh reads Gnocchi."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from tinystack.alarm.services import rules
from tinystack.alarm.services.rules import ThresholdRule
from tinystack.common.clients.session import ClientError, ClientNotFound, Session

SERVICE_TYPE = "metric"


class InsufficientData(Exception):
    """The statistics could not be had; the message is the alarm's reason."""


def _values(points: Any, granularity: int) -> list[float]:
    if isinstance(points, dict):  # /v1/aggregates: {"measures": {"aggregated": [...]}}
        points = points.get("measures", {}).get("aggregated", [])
    values = [float(p[2]) for p in points if float(p[1]) == float(granularity)]
    if not values:
        raise InsufficientData(f"No datapoint for granularity {granularity}")
    return values


class Statistics:
    def __init__(self, session: Session, ingestion_lag: int = 0) -> None:
        self.session = session
        self.lag = ingestion_lag

    def window(self, rule: ThresholdRule, now: datetime) -> tuple[str, str]:
        """From ``evaluation_periods`` + 1 granularities (plus the ingestion lag) ago."""
        seconds = rule.granularity * (rule.evaluation_periods + 1) + self.lag
        return (now - timedelta(seconds=seconds)).isoformat(), now.isoformat()

    def fetch(self, rule: ThresholdRule, now: datetime) -> list[float]:
        if rule.promql:
            return self._instant(rule.promql, now)
        start, stop = self.window(rule, now)
        granularity = rule.granularity
        method = rule.aggregation_method
        params = {"granularity": granularity, "start": start, "stop": stop}
        try:
            base = method.removeprefix("rate:")
            if rule.metrics:  # gnocchi_aggregation_by_metrics_threshold
                operations = ["aggregate", method, *(["metric", m, base] for m in rule.metrics)]
                reply = self.session.request(
                    SERVICE_TYPE, "POST", "/v1/aggregates", ok=(200,),
                    params={**params, "needed_overlap": 0},
                    json_body={"operations": operations},
                )  # fmt: skip
            elif rule.query:  # gnocchi_aggregation_by_resources_threshold
                body = {
                    "operations": ["aggregate", method, ["metric", rule.metric, base]],
                    "search": json.loads(rule.query),
                    "resource_type": rule.resource_type,
                }
                reply = self.session.request(
                    SERVICE_TYPE, "POST", "/v1/aggregates", ok=(200,),
                    params={**params, "needed_overlap": 0}, json_body=body,
                )  # fmt: skip
            else:
                path = (f"/v1/resource/{rule.resource_type}/{rule.resource_id}"
                        f"/metric/{rule.metric}/measures")  # fmt: skip
                reply = self.session.request(
                    SERVICE_TYPE, "GET", path, ok=(200,), params={**params, "aggregation": method}
                )
        except ClientNotFound as exc:
            raise InsufficientData(_missing(rule, exc)) from None
        except ClientError as exc:
            raise InsufficientData(f"alarm statistics retrieval failed: {exc}") from None
        return _values(reply.json(), granularity)

    def _instant(self, promql: str, now: datetime) -> list[float]:
        """``/api/v1/query`` at ``now``: the value of every series (or the scalar)."""
        params = {"query": promql, "time": f"{now.timestamp():.3f}"}
        try:
            reply = self.session.request(SERVICE_TYPE, "GET", "/api/v1/query", ok=(200,),
                                         params=params)  # fmt: skip
        except ClientError as exc:
            raise InsufficientData(f"prometheus query failed: {exc}") from None
        data = reply.json().get("data", {})
        result = data.get("result") or []
        if data.get("resultType") == "scalar":
            result = [{"value": result}]
        values = [float(series["value"][1]) for series in result]
        if not values:
            raise InsufficientData("empty result")
        return values


def _missing(rule: ThresholdRule, exc: ClientError) -> str:
    if rule.query:
        return f"metric {rule.metric} does not exist for any resource of the search"
    if rule.metrics:
        return f"At least one of metrics in {list(rule.metrics)} does not exist"
    text = str(exc).lower()
    if "resource" in text and "metric" not in text:
        return f"resource {rule.resource_id} does not exists"
    return f"metric {rule.metric} for resource {rule.resource_id} does not exists"


def leaf_rule(node: Mapping[str, object]) -> ThresholdRule:
    """A composite's leaf (a threshold rule with its ``type``), typed."""
    if node.get("type") not in rules.THRESHOLDS:
        raise InsufficientData(f"not a threshold rule: {node}")
    return rules.threshold_rule({k: v for k, v in node.items() if k != "type"})
