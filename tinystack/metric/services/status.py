"""``/v1/status``: what waits in the backlog, and the metric workers (Gnocchi's metricd
processors) that said they were alive in the last ``ALIVE`` seconds."""

from __future__ import annotations

import time

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.metric import models
from tinystack.metric.services import backlog
from tinystack.metric.services.deps import Deps
from tinystack.metric.services.records import StatusRecord

#: a worker's heartbeat is written every HEARTBEAT seconds; one older than ALIVE is gone
HEARTBEAT, ALIVE = 10.0, 30.0


def get(deps: Deps, details: bool) -> StatusRecord:
    with deps.db.reader() as session:
        metrics, measures, per_metric = backlog.report(session, details)
        alive = select(models.Processor.id).where(models.Processor.heartbeat >= time.time() - ALIVE)
        processors = tuple(sorted(session.scalars(alive)))
    return StatusRecord(metrics, measures, per_metric, processors)


def heartbeat(deps: Deps, processor: str) -> None:
    """``processor`` is alive (and those silent for long are forgotten)."""

    def tx(session: Session) -> None:
        now = time.time()
        session.execute(delete(models.Processor).where(models.Processor.heartbeat < now - 3600))
        row = session.get(models.Processor, processor)
        if row is None:
            session.add(models.Processor(id=processor, heartbeat=now))
        else:
            row.heartbeat = now

    deps.db.write(tx)


def leave(deps: Deps, processor: str) -> None:
    deps.db.write(
        lambda session: session.execute(
            delete(models.Processor).where(models.Processor.id == processor)
        )
    )
