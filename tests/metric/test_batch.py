"""The batch of resources' named metrics (``/v1/batch/resources/metrics/measures``, what
the compute poller pushes) without a cloud: metrics created on first push with the
archive policy given beside the measures, then found by name (their archive policy read
once a batch); an unknown metric without ``create_metrics`` is a 400, another project's
resource a 403 or 404, and nothing of a refused batch is stored. The batch of metrics by
id (``/v1/batch/metrics/measures``) likewise: unknown ids are one 400 naming them all,
another project's metric is refused as its single POST is, malformed measures are a 400,
and a refused batch stores nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg

from tinystack.common.auth.context import RequestContext
from tinystack.common.auth.tokens import TokenPayload
from tinystack.common.db import Database, migrate
from tinystack.common.exceptions import BadRequest, Forbidden, NotFound
from tinystack.common.policy import Policy
from tinystack.metric import conf, models, policies
from tinystack.metric.exception import UnknownMetrics
from tinystack.metric.services import (
    archive_policies,
    measures,
    metrics,
    resource_types,
    resources,
)
from tinystack.metric.services.deps import Deps

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
INSTANCE = "5f1c1a7e-0000-4000-8000-00000000000a"


def _ctx(project: str, role: str) -> RequestContext:
    options = cfg.ConfigOpts()
    options([], project="tinystack-metric-test", default_config_files=[])
    payload = TokenPayload(user_id=f"user-{project}", methods=("password",), expires_at=0.0,
                           project_id=project, roles=((role, role),))  # fmt: skip
    return RequestContext(
        "req-batch", payload=payload, policy=Policy(options, policies.list_rules())
    )


@pytest.fixture
def deps(tmp_path: Path) -> Iterator[Deps]:
    db = Database(f"sqlite:///{tmp_path}/metric.sqlite")
    migrate(db, "tinystack.metric.migrations", "alembic_version_metric")
    found = Deps(db, conf.Options())
    archive_policies.ensure_defaults(found)
    resource_types.ensure_defaults(found)
    yield found
    db.engine.dispose()


def _body(at: float, **values: float) -> dict[str, dict[str, Any]]:
    return {INSTANCE: {name.replace("_", "."): {"archive_policy_name": "low", "unit": "MB",
                                                "measures": [{"timestamp": at, "value": v}]}
                       for name, v in values.items()}}  # fmt: skip


def _means(deps: Deps, name: str) -> list[tuple[float, float]]:
    measures.drain(deps)  # what the metric workers do
    with deps.db.reader() as session:
        resource = session.get(models.Resource, INSTANCE)
        assert resource is not None
        metric = session.query(models.Metric).filter_by(resource_id=INSTANCE, name=name).one()
        found = measures.series(session, metric, measures.MeasureQuery("mean"))
    return [(m.timestamp, m.value) for m in found]


def test_batch_creates_then_finds_metrics_and_refuses_whole(deps: Deps) -> None:
    admin = _ctx("p1", "admin")
    resources.create(deps, admin, "generic", resources.ResourceSpec(id=INSTANCE, project_id="p1"))
    measures.batch_resources(deps, admin, _body(T0, memory=512.0, cpu=1e9), True)
    measures.batch_resources(deps, admin, _body(T0 + 60, memory=256.0, cpu=3e9), False)
    measures.batch_resources(deps, admin, _body(T0 + 300, memory=128.0), False)
    assert _means(deps, "memory") == [(T0, 384.0), (T0 + 300, 128.0)]  # 5-minute buckets
    assert _means(deps, "cpu") == [(T0, 2e9)]
    with deps.db.reader() as session:
        created = session.query(models.Metric).filter_by(resource_id=INSTANCE).all()
        assert {(m.name, m.archive_policy_name, m.unit) for m in created} == {
            ("memory", "low", "MB"), ("cpu", "low", "MB")}  # fmt: skip
    with pytest.raises(BadRequest, match=f"Unknown metrics: {INSTANCE}/disk.usage"):
        measures.batch_resources(deps, admin, _body(T0 + 600, memory=1.0, disk_usage=2.0), False)
    with pytest.raises((Forbidden, NotFound)):
        measures.batch_resources(deps, _ctx("p2", "member"), _body(T0 + 600, memory=1.0), False)
    assert _means(deps, "memory") == [(T0, 384.0), (T0 + 300, 128.0)]  # neither stored


def _by_id(deps: Deps, metric_id: str) -> list[tuple[float, float]]:
    measures.drain(deps)
    with deps.db.reader() as session:
        metric = session.get(models.Metric, metric_id)
        assert metric is not None
        found = measures.series(session, metric, measures.MeasureQuery("mean", 300.0))
    return [(m.timestamp, m.value) for m in found]


def test_batch_by_metric_id_is_all_or_nothing(deps: Deps) -> None:
    p1, p2 = _ctx("p1", "member"), _ctx("p2", "member")
    mine = [metrics.create(deps, p1, metrics.MetricSpec("low")).id for _ in range(2)]
    theirs = metrics.create(deps, p2, metrics.MetricSpec("low")).id
    point = [{"timestamp": T0, "value": 1.0}]
    # the key in any UUID spelling; measures of both metrics queued together
    measures.batch_metrics(deps, p1, {mine[0].replace("-", "").upper(): point,
                                      mine[1]: [{"timestamp": T0 + 5, "value": "3"}]})  # fmt: skip
    assert (_by_id(deps, mine[0]), _by_id(deps, mine[1])) == ([(T0, 1.0)], [(T0, 3.0)])
    later = [{"timestamp": T0 + 300, "value": 9.0}]
    ghosts = [f"2b9e4b35-0000-4000-8000-00000000000{n}" for n in (1, 2)]
    with pytest.raises(UnknownMetrics) as refused:
        measures.batch_metrics(deps, p1, {mine[0]: later, ghosts[1]: later, ghosts[0]: later})
    assert refused.value.unknown == ghosts
    with pytest.raises(NotFound, match=f"Metric {theirs} does not exist"):
        measures.batch_metrics(deps, p1, {mine[0]: later, theirs: later})
    for bad in ({mine[0]: later, mine[1]: [{"timestamp": "soon", "value": 1}]},
                {mine[0]: later, mine[1]: [{"value": 1}]}, {mine[0]: later, mine[1]: {}},
                {"not-a-uuid": later}, [later]):  # fmt: skip
        with pytest.raises(BadRequest):
            measures.batch_metrics(deps, p1, bad)
    assert _by_id(deps, mine[0]) == [(T0, 1.0)]  # nothing of a refused batch was stored
    assert _by_id(deps, theirs) == []
    measures.batch_metrics(deps, _ctx("p1", "admin"), {theirs: later})  # an admin may
    assert _by_id(deps, theirs) == [(T0 + 300, 9.0)]
