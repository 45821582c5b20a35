"""The backlog's processing without a cloud: a crash between aggregating a metric's
queued measures and deleting them leaves both as they were (the next pass counts them
once), and several workers processing the same metrics at once never count a measure
twice."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.databases import BACKENDS, database
from tinystack.common.db import Database, migrate
from tinystack.metric import conf, models
from tinystack.metric.metricd import Metricd
from tinystack.metric.services import archive_policies, backlog, measures, status
from tinystack.metric.services.deps import Deps

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a whole hour


@pytest.fixture(params=[pytest.param("sqlite"), *BACKENDS])
def deps(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deps]:
    """SQLite, and the MariaDB and PostgreSQL beside the tests (the claim is a row lock
    there, skipped by a worker, waited for by a refresh)."""
    with contextlib.ExitStack() as stack:
        url = f"sqlite:///{tmp_path}/metric.sqlite"
        if request.param != "sqlite":
            url = stack.enter_context(database(request.param, "tsmetricd"))
        db = Database(url)
        migrate(db, "tinystack.metric.migrations", "alembic_version_metric")
        found = Deps(db, conf.Options(workers=4))
        archive_policies.ensure_defaults(found)
        yield found
        db.engine.dispose()


def _metrics(deps: Deps, count: int) -> list[str]:
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(count)]

    def tx(session: Session) -> None:
        session.add_all(models.Metric(id=i, archive_policy_name="medium") for i in ids)

    deps.db.write(tx)
    return ids


def _queue(deps: Deps, metric_id: str, first: int, count: int) -> None:
    found = [(T0 + i, float(i)) for i in range(first, first + count)]
    deps.db.write(lambda session: backlog.append(session, metric_id, found))


def _hour(deps: Deps, metric_id: str) -> tuple[float, float]:
    """The count and sum of the metric's first hour."""
    with deps.db.reader() as session:
        metric = session.get(models.Metric, metric_id)
        assert metric is not None
        query = measures.MeasureQuery
        count = measures.series(session, metric, query("count", 3600.0))
        total = measures.series(session, metric, query("sum", 3600.0))
    return (count[0].value, total[0].value) if count else (0.0, 0.0)


def test_crash_between_aggregate_and_delete_counts_once(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    (mid,) = _metrics(deps, 1)
    _queue(deps, mid, 0, 100)
    _queue(deps, mid, 100, 50)
    real = Session.execute

    def crash(self: Session, statement: Any, *args: Any, **kw: Any) -> Any:
        if getattr(statement, "is_delete", False):
            raise RuntimeError("killed between aggregate and delete")
        return real(self, statement, *args, **kw)

    monkeypatch.setattr(Session, "execute", crash)
    with pytest.raises(RuntimeError, match="killed"):
        measures.process(deps, mid)
    monkeypatch.undo()
    assert _hour(deps, mid) == (0.0, 0.0)  # the splits rolled back with the rows
    assert status.get(deps, True).measures_to_process == {mid: 150}
    assert measures.process(deps, mid) == 150
    assert _hour(deps, mid) == (150.0, float(sum(range(150))))
    assert measures.process(deps, mid) == 0
    assert status.get(deps, False).measures == 0


def test_workers_racing_on_metrics_count_each_measure_once(deps: Deps) -> None:
    ids = _metrics(deps, 3)
    stop = threading.Event()
    # four workers' passes, and refreshes, all over the same metrics while they fill
    racers = [Metricd(deps) for _ in range(2)]

    def work(worker: Metricd) -> None:
        while not stop.is_set():
            worker.process_pending(0)  # index 0 of 4: every racer takes the same metrics
            measures.process_many(deps, ids)

    threads = [threading.Thread(target=work, args=(w,)) for w in racers]
    for thread in threads:
        thread.start()
    try:
        for first in range(0, 600, 20):
            for mid in ids:
                _queue(deps, mid, first, 20)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    measures.drain(deps)
    for mid in ids:
        assert _hour(deps, mid) == (600.0, float(sum(range(600))))
    with deps.db.reader() as session:
        assert session.scalars(select(models.Backlog.id)).first() is None
