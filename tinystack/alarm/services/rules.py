"""The rules each alarm type evaluates, checked as Aodh checks them: the
``<type>_rule`` of an alarm, with its defaults filled in.

Types: ``gnocchi_resources_threshold`` (one metric of one resource),
``gnocchi_aggregation_by_metrics_threshold`` (metrics by id, aggregated),
``gnocchi_aggregation_by_resources_threshold`` (a metric of every resource a metric
service search finds, aggregated; the search scoped to the owner's project for
non-admins, as Aodh scopes it), ``event`` (a notification's type and payload fields) and
``composite`` (``and``/``or`` of threshold rules) and ``prometheus`` (a PromQL query
to the metric service's ``/api/v1/query``, every series' value against the threshold;
for a non-admin owner a ``project_id`` matcher is added to each selector, see
:func:`scoped_promql`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tinystack.common.exceptions import BadRequest

RESOURCES = "gnocchi_resources_threshold"
BY_METRICS = "gnocchi_aggregation_by_metrics_threshold"
BY_RESOURCES = "gnocchi_aggregation_by_resources_threshold"
EVENT = "event"
COMPOSITE = "composite"
PROMETHEUS = "prometheus"
THRESHOLDS = (RESOURCES, BY_METRICS, BY_RESOURCES)
TYPES = (*THRESHOLDS, EVENT, COMPOSITE, PROMETHEUS)
OPERATORS = ("lt", "le", "eq", "ne", "ge", "gt")
#: the metric service's aggregation methods (and ``rate:`` of each)
_METHODS = ("mean", "min", "max", "sum", "std", "count", "last")
AGGREGATION_METHODS = (*_METHODS, *(f"rate:{m}" for m in _METHODS))
QUERY_TYPES = ("", "string", "integer", "float", "boolean", "datetime")
_MAX_GRANULARITY = 3600 * 24 * 365


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    """What a threshold alarm (or a composite's leaf) evaluates."""

    comparison_operator: str
    threshold: float
    aggregation_method: str
    evaluation_periods: int
    granularity: int
    #: gnocchi_resources_threshold
    metric: str = ""
    resource_id: str = ""
    resource_type: str = ""
    #: gnocchi_aggregation_by_metrics_threshold
    metrics: tuple[str, ...] = ()
    #: gnocchi_aggregation_by_resources_threshold: the search (JSON text), with
    #: ``metric`` and ``resource_type``
    query: str = ""
    #: prometheus: the PromQL query (``aggregation_method``, ``granularity`` unused)
    promql: str = ""


@dataclass(frozen=True, slots=True)
class EventQuery:
    field: str
    op: str
    value: object
    type: str = ""


@dataclass(frozen=True, slots=True)
class EventRule:
    event_type: str
    query: tuple[EventQuery, ...] = ()


def threshold_rule(doc: Mapping[str, object]) -> ThresholdRule:
    """A stored threshold rule (checked when it was stored), typed."""
    if "metric" not in doc and "metrics" not in doc:  # prometheus
        checked = _prometheus(dict(doc))
        return ThresholdRule(checked["comparison_operator"], checked["threshold"], "", 1, 1,
                             promql=checked["query"])  # fmt: skip
    if "metrics" in doc:
        checked = _by_metrics(dict(doc))
    elif "query" in doc:
        checked = _by_resources(dict(doc))
    else:
        checked = _resources(dict(doc))
    return ThresholdRule(
        comparison_operator=checked["comparison_operator"],
        threshold=checked["threshold"],
        aggregation_method=checked["aggregation_method"],
        evaluation_periods=checked["evaluation_periods"],
        granularity=checked["granularity"],
        metric=checked.get("metric", ""),
        resource_id=checked.get("resource_id", ""),
        resource_type=checked.get("resource_type", ""),
        metrics=tuple(checked.get("metrics", ())),
        query=checked.get("query", ""),
    )


def event_rule(doc: Mapping[str, object]) -> EventRule:
    checked = _event(dict(doc))
    return EventRule(checked["event_type"], tuple(EventQuery(**q) for q in checked["query"]))


def invalid(field: str, value: object, reason: str) -> BadRequest:
    """WSME's wording for a field it refuses."""
    return BadRequest(f"Invalid input for field/attribute {field}. Value: '{value}'. {reason}")


def _enum(rule: dict[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = rule.get(key, default)
    if value not in allowed:
        raise invalid(key, value, f"Value should be one of: {', '.join(allowed)}")
    return str(value)


def _integer(rule: dict[str, Any], key: str, low: int, high: int, default: int) -> int:
    value = rule.get(key, default)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid(key, value, "Wrong type. Expected 'int'")
    if not low <= value <= high:
        raise invalid(key, value, f"Value should be between {low} and {high}")
    return value


def _text(rule: dict[str, Any], key: str) -> str:
    value = rule.get(key)
    if value is None or value == "":
        raise invalid(key, value, "Mandatory field missing.")
    if not isinstance(value, str):
        raise invalid(key, value, "Wrong type. Expected 'str'")
    return value


def _threshold(rule: dict[str, Any]) -> dict[str, Any]:
    value = rule.get("threshold")
    if value is None:
        raise invalid("threshold", value, "Mandatory field missing.")
    try:
        threshold = float(value)
    except (TypeError, ValueError):
        raise invalid("threshold", value, "Wrong type. Expected 'float'") from None
    method = _text(rule, "aggregation_method")
    if method not in AGGREGATION_METHODS:
        raise BadRequest(
            f"aggregation_method should be in {list(AGGREGATION_METHODS)} not {method}"
        )
    return {
        "comparison_operator": _enum(rule, "comparison_operator", OPERATORS, "eq"),
        "threshold": threshold,
        "aggregation_method": method,
        "evaluation_periods": _integer(rule, "evaluation_periods", 1, 100, 1),
        "granularity": _integer(rule, "granularity", 1, _MAX_GRANULARITY, 60),
    }


def _resources(rule: dict[str, Any]) -> dict[str, Any]:
    return {
        **_threshold(rule),
        "metric": _text(rule, "metric"),
        "resource_id": _text(rule, "resource_id"),
        "resource_type": _text(rule, "resource_type"),
    }


def _by_metrics(rule: dict[str, Any]) -> dict[str, Any]:
    metrics = rule.get("metrics")
    if not isinstance(metrics, list) or not metrics:
        raise invalid("metrics", metrics, "Mandatory field missing.")
    if not all(isinstance(m, str) and m for m in metrics):
        raise invalid("metrics", metrics, "Wrong type. Expected '[str]'")
    return {**_threshold(rule), "metrics": list(metrics)}


def _by_resources(rule: dict[str, Any]) -> dict[str, Any]:
    query = _text(rule, "query")
    try:
        parsed = json.loads(query)
    except ValueError:
        raise BadRequest(
            f"Invalid input for field/attribute rule/query. Value: '{query}'."
        ) from None
    if not isinstance(parsed, dict):
        raise invalid("query", query, "Expected a JSON object (a metric service search)")
    return {
        **_threshold(rule),
        "metric": _text(rule, "metric"),
        "resource_type": _text(rule, "resource_type"),
        "query": query,
    }


def _prometheus(rule: dict[str, Any]) -> dict[str, Any]:
    value = rule.get("threshold")
    try:
        threshold = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise invalid("threshold", value, "Mandatory field missing or not a float.") from None
    return {
        "query": _text(rule, "query"),
        "threshold": threshold,
        "comparison_operator": _enum(rule, "comparison_operator", OPERATORS, "eq"),
    }


#: PromQL tokens: strings, names, numbers and durations, operators
_PROM_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
    r"|(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r"|(?P<other>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[smhdwy]?|=~|!~|!=|==|>=|<=|[{}()\[\],=<>+\-*/^%]))"
)
#: names that are not metric names where a name is read
_PROM_KEYWORDS = ("by", "without", "on", "ignoring", "group_left", "group_right", "bool",
                  "offset", "and", "or", "unless")  # fmt: skip


def scoped_promql(text: str, project_id: str) -> str:
    """``text`` with ``project_id="<project>"`` added to every selector (``name``,
    ``name{…}`` and ``{…}``); 400 for text it cannot read. Function and aggregation
    names are recognised by the ``(`` that follows them, label lists after ``by``,
    ``without``, ``on``, ``ignoring`` and ``group_*`` are skipped."""
    tokens = []
    pos, text = 0, text.rstrip()
    while pos < len(text):
        m = _PROM_TOKEN.match(text, pos)
        if m is None:
            raise BadRequest(f"Invalid prometheus query: cannot read {text[pos:]!r}")
        tokens.append((m.lastgroup or "", m[m.lastgroup or 0], m.end()))
        pos = m.end()
    matcher = f"project_id={json.dumps(project_id)}"
    out, cut, depth, i = [], 0, 0, 0
    while i < len(tokens):
        kind, value, end = tokens[i]
        following = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if value in ("{", "}"):
            depth += 1 if value == "{" else -1
        if depth > 1 or depth < 0:
            raise BadRequest("Invalid prometheus query: unbalanced braces")
        if value == "[":  # a range: a duration only (no subqueries)
            if i + 2 >= len(tokens) or tokens[i + 1][0] != "other" or tokens[i + 2][1] != "]":
                raise BadRequest("Invalid prometheus query: a range is [<duration>]")
            i += 3
            continue
        if kind == "name" and depth == 0 and value in _PROM_KEYWORDS:
            if following == "(" and value not in ("and", "or", "unless", "offset", "bool"):
                while i < len(tokens) and tokens[i][1] != ")":  # a label list
                    i += 1
            i += 1
            continue
        if value == "{" and depth == 1:  # a selector's matchers
            empty = following == "}"
            out.append(text[cut:end] + matcher + ("" if empty else ","))
            cut = end
        elif kind == "name" and depth == 0 and following not in ("(", "{", "by", "without"):
            out.append(text[cut:end] + "{" + matcher + "}")
            cut = end
        i += 1
    return "".join(out) + text[cut:]


def scoped(alarm_type: str, rule: dict[str, object], project_id: str) -> dict[str, object]:
    """The rule with each resource search limited to ``project_id``'s resources (those
    it owns or created), for an alarm a non-admin owns (Aodh does it on create)."""
    if alarm_type == COMPOSITE:
        return _scoped_node(rule, project_id)
    if alarm_type == PROMETHEUS:
        return {**rule, "query": scoped_promql(str(rule["query"]), project_id)}
    if alarm_type != BY_RESOURCES:
        return rule
    mine = {"or": [{"=": {"created_by_project_id": project_id}},
                   {"=": {"project_id": project_id}}]}  # fmt: skip
    return {**rule, "query": json.dumps({"and": [mine, json.loads(str(rule["query"]))]})}


def _scoped_node(node: dict[str, object], project_id: str) -> dict[str, object]:
    if len(node) == 1 and next(iter(node)) in ("and", "or"):
        ((joiner, parts),) = node.items()
        assert isinstance(parts, list)  # checked when stored
        return {joiner: [_scoped_node(part, project_id) for part in parts]}
    return scoped(str(node.get("type")), node, project_id)


def _event(rule: dict[str, Any]) -> dict[str, Any]:
    event_type = rule.get("event_type") or "*"
    if not isinstance(event_type, str):
        raise invalid("event_type", event_type, "Wrong type. Expected 'str'")
    query = rule.get("query") or []
    if not isinstance(query, list):
        raise invalid("query", query, "Wrong type. Expected '[Query]'")
    checked = []
    for item in query:
        if not isinstance(item, dict) or not isinstance(item.get("field"), str):
            raise BadRequest(f"Query value or traits invalid: {item}")
        op = item.get("op") or "eq"
        if op not in OPERATORS:
            raise invalid("op", op, f"Value should be one of: {', '.join(OPERATORS)}")
        kind = item.get("type") or ""
        if kind not in QUERY_TYPES:
            raise BadRequest(f"Query value or traits invalid: {item}")
        checked.append({"field": item["field"], "op": op, "value": item.get("value"),
                        "type": kind})  # fmt: skip
    return {"event_type": event_type, "query": checked}


def _composite(rule: object, depth: int = 0) -> dict[str, Any]:
    if depth > 10:
        raise BadRequest("Composite rule nested too deeply")
    if isinstance(rule, dict) and len(rule) == 1 and next(iter(rule)) in ("and", "or"):
        (joiner, parts), = rule.items()  # fmt: skip
        if not isinstance(parts, list) or not parts:
            raise BadRequest(f"Invalid composite rule: '{joiner}' needs a list of rules")
        return {joiner: [_composite(part, depth + 1) for part in parts]}
    if isinstance(rule, dict) and rule.get("type") in THRESHOLDS:
        return {"type": rule["type"], **check(str(rule["type"]), rule)}
    raise BadRequest(
        f"Invalid composite rule: {rule}; a rule is {{'and'|'or': [rules]}} or a "
        f"threshold rule with a type in {list(THRESHOLDS)}"
    )


def check(alarm_type: str, rule: object) -> dict[str, object]:
    """The rule of an ``alarm_type`` alarm as stored, defaults filled in; 400 if bad."""
    if alarm_type == COMPOSITE:
        return _composite(rule)
    if not isinstance(rule, dict):
        raise BadRequest(f"{alarm_type}_rule must be set for {alarm_type} type alarm")
    if alarm_type == RESOURCES:
        return _resources(rule)
    if alarm_type == BY_METRICS:
        return _by_metrics(rule)
    if alarm_type == BY_RESOURCES:
        return _by_resources(rule)
    if alarm_type == PROMETHEUS:
        return _prometheus(rule)
    return _event(rule)
