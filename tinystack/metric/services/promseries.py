"""The metric store's series as Prometheus names them, and Prometheus' metadata queries
over them (``/api/v1/series``, ``labels``, ``label/<name>/values``, ``metadata``: what
Grafana's metrics browser and query editor read).

A series is a named metric of a resource: ``__name__`` is the meter made a Prometheus
name (``exposition.family``, as on ``/metrics``) and the labels ``resource_id``,
``resource_type``, ``project_id`` and ``unit`` (a label whose value would be empty is
absent, as in Prometheus). A caller sees the series of the metrics whose measures it may
read (``get measures``), as the query endpoints do. A series lies in a time range when
the span of its stored buckets overlaps it: from the first bucket its oldest split can
hold to its newest aggregated measure (Prometheus too answers these queries from whole
blocks, not sample by sample).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest
from tinystack.metric import models
from tinystack.metric.policies import measures as rules
from tinystack.metric.services import _rows
from tinystack.metric.services.deps import Deps
from tinystack.metric.services.exposition import family
from tinystack.metric.services.measures import MEASURES

Labels = tuple[tuple[str, str], ...]
NAME = "__name__"
#: what ``/metrics`` declares every family to be
TYPE = "gauge"


@dataclass(frozen=True, slots=True)
class Matcher:
    """``label op "value"``; regular expressions are anchored, as Prometheus' are."""

    label: str
    op: str
    value: str

    def __post_init__(self) -> None:
        if self.op in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise BadRequest(f"invalid regular expression {self.value!r}: {exc}") from None

    def test(self, labels: dict[str, str]) -> bool:
        got = labels.get(self.label, "")
        if self.op in ("=~", "!~"):
            hit = re.fullmatch(self.value, got) is not None
            return hit if self.op == "=~" else not hit
        return (got == self.value) == (self.op == "=")


MatcherSet = tuple[Matcher, ...]


@dataclass(frozen=True, slots=True)
class Metadata:
    """One distinct (type, help, unit) of a metric family (``/api/v1/metadata``)."""

    type: str
    help: str
    unit: str


def labels_of(metric: models.Metric, resource: models.Resource) -> dict[str, str]:
    found = {
        NAME: family(str(metric.name)),
        "resource_id": resource.id,
        "resource_type": resource.type,
        "project_id": resource.project_id or "",
        "unit": metric.unit or "",
    }
    return {k: v for k, v in found.items() if v}


def matches(labels: dict[str, str], match: list[MatcherSet]) -> bool:
    """Whether the series is selected by any of the sets (by all: no sets)."""
    return not match or any(all(m.test(labels) for m in ms) for ms in match)


def _spans(session: Session) -> dict[str, float]:
    """Per metric, the first bucket its oldest split of measures can hold."""
    rows = session.execute(
        select(models.Split.metric_id, func.min(models.Split.start))
        .where(models.Split.kind == MEASURES)
        .group_by(models.Split.metric_id)
    )
    return {metric_id: float(first) for metric_id, first in rows}


def _visible(
    session: Session, ctx: RequestContext, match: list[MatcherSet], start: float, end: float
) -> list[dict[str, str]]:
    spans = _spans(session)
    found = []
    for metric, resource in _rows.named_metrics(session):
        labels = labels_of(metric, resource)
        first = spans.get(metric.id)
        if metric.newest is None or first is None or metric.newest < start or first > end:
            continue
        if matches(labels, match) and ctx.allowed(rules.GET, _rows.metric_target(metric, resource)):
            found.append(labels)
    return found


def series(
    deps: Deps, ctx: RequestContext, match: list[MatcherSet], start: float, end: float
) -> list[dict[str, str]]:
    """The label sets of the series any set selects, in Prometheus' order (by labels)."""
    with deps.db.reader() as session:
        found = _visible(session, ctx, match, start, end)
    return sorted(found, key=lambda labels: sorted(labels.items()))


def label_names(
    deps: Deps, ctx: RequestContext, match: list[MatcherSet], start: float, end: float
) -> list[str]:
    with deps.db.reader() as session:
        found = _visible(session, ctx, match, start, end)
    return sorted({name for labels in found for name in labels})


def label_values(
    deps: Deps, ctx: RequestContext, name: str, match: list[MatcherSet], start: float, end: float
) -> list[str]:
    with deps.db.reader() as session:
        found = _visible(session, ctx, match, start, end)
    return sorted({labels[name] for labels in found if name in labels})


def metadata(deps: Deps, ctx: RequestContext, metric: str) -> dict[str, list[Metadata]]:
    """Per family (one: ``metric``, when given), the distinct metadata of its series:
    the type ``/metrics`` declares, the metric store's name of the meter, its unit."""
    found: dict[str, set[Metadata]] = defaultdict(set)
    with deps.db.reader() as session:
        for row, resource in _rows.named_metrics(session):
            name = family(str(row.name))
            if metric and name != metric:
                continue
            if not ctx.allowed(rules.GET, _rows.metric_target(row, resource)):
                continue
            help_ = f"{row.name}: the mean of each bucket of the metric's finest granularity"
            found[name].add(Metadata(TYPE, help_, row.unit or ""))
    return {
        name: sorted(entries, key=lambda m: (m.help, m.unit))
        for name, entries in sorted(found.items())
    }
