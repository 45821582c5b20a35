"""Operations lost to a broker or database fault while the cloud keeps running (#18's
database-restart chaos round: MariaDB killed while the scheduler was deciding left the
volume ``creating`` for good, since only a restart re-scheduled it).

A lost operation is what such a fault leaves: the volume in its transient status and
its ``workers`` record, with no message on the way and no thread at work. The test
makes that state in the database of a running cloud (the API's commit with the cast
gone; the scheduler's placement with the cast to the backend gone; a delete whose cast
went), then waits: the scheduler's and the backend's periodic passes (``[volume]
lost_operation_age``) finish each without a restart. A create still running past that
age (the driver slowed down) is not replayed beside itself.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.volume.conftest import SPARSE_DRIVER, Env, MakeEnv, volume_conf
from tinystack.volume import models
from tinystack.volume.payloads import MigrateSpec

AGE = 2
CONF = volume_conf(volume_driver=SPARSE_DRIVER, api_settle_seconds=0, lost_operation_age=AGE)


@pytest.fixture(scope="module")
def env(make_env: MakeEnv) -> Env:
    return make_env(CONF)


def _lose(env: Env, vid: str, status: str, operation: str, placed: bool) -> None:
    """Put the volume back in ``status`` with its operation recorded AGE*2 s ago and
    nothing under way, as a fault between the commit and the cast leaves it."""
    engine = sa.create_engine(f"sqlite:///{env.cloud.state_dir / 'volume.sqlite'}")
    past = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    past -= datetime.timedelta(seconds=AGE * 2)
    try:
        with Session(engine) as session, session.begin():
            row = session.get(models.Volume, vid)
            assert row is not None
            host = row.host
            row.status = status
            if not placed:
                row.host = None
            session.execute(sa.delete(models.Worker).where(models.Worker.resource_id == vid))
            session.add(models.Worker(
                resource_type="Volume", resource_id=vid, status=status, operation=operation,
                service_host=host if placed else None, args={}, created_at=past,
                updated_at=past,
            ))  # fmt: skip
    finally:
        engine.dispose()


def _records(env: Env) -> list[str]:
    engine = sa.create_engine(f"sqlite:///{env.cloud.state_dir / 'volume.sqlite'}")
    try:
        with engine.connect() as conn:
            return [str(r) for r in conn.execute(sa.select(models.Worker.resource_id))]
    finally:
        engine.dispose()


def test_lost_operations_finish_without_a_restart(env: Env) -> None:
    scheduled, placed, deleted = (env.create(name=n) for n in ("sched", "placed", "gone"))
    files = {v["id"]: env.volumes_dir / f"volume-{v['id']}" for v in (scheduled, placed)}
    for path in files.values():
        path.unlink()  # the lost create never reached the driver
    _lose(env, scheduled["id"], "creating", "schedule", placed=False)
    _lose(env, placed["id"], "creating", "create", placed=True)
    _lose(env, deleted["id"], "deleting", "delete", placed=True)

    for vid in files:
        assert env.wait(vid, "available", timeout=30)["status"] == "available"
        assert files[vid].exists()
    env.wait(deleted["id"], "deleted", timeout=30)
    assert not (env.volumes_dir / f"volume-{deleted['id']}").exists()
    assert _records(env) == []


def test_a_slow_create_is_not_taken_for_lost(env: Env) -> None:
    delay = env.volumes_dir / ".delay"
    delay.write_text(str(AGE * 3))
    try:
        slow = env.create(wait=None, name="slow")
        assert env.wait(slow["id"], "available", timeout=30)["status"] == "available"
    finally:
        delay.unlink()
    log = Path(env.cloud.log_file).read_text(errors="replace")
    assert f"volume {slow['id']}: create recorded" not in log
    assert _records(env) == []


def test_a_lost_migration_is_resumed_and_never_touches_the_source(env: Env) -> None:
    """A migration whose cast was lost is run by the destination's periodic pass; here
    the destination is the volume's own backend (its storage is the source's), which the
    manager refuses: the volume is left as it was, ``migration_status`` ``error``."""
    vid = env.create(name="moving")["id"]
    engine = sa.create_engine(f"sqlite:///{env.cloud.state_dir / 'volume.sqlite'}")
    past = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    past -= datetime.timedelta(seconds=AGE * 2)
    try:
        with Session(engine) as session, session.begin():
            row = session.get(models.Volume, vid)
            assert row is not None and row.host
            row.status, row.migration_status = "maintenance", "starting"
            spec = MigrateSpec(vid, row.host, row.host, previous_status="available")
            session.add(models.Worker(
                resource_type="Volume", resource_id=vid, status="maintenance",
                operation="migrate", service_host=row.host.partition("#")[0],
                args=spec.to_primitive(), created_at=past, updated_at=past,
            ))  # fmt: skip
    finally:
        engine.dispose()
    assert env.wait(vid, "available", timeout=30)["status"] == "available"
    view = env.admin.get(f"/volumes/{vid}").json()["volume"]
    assert view["os-vol-mig-status-attr:migstat"] == "error"
    assert (env.volumes_dir / f"volume-{vid}").exists()  # the source's data, untouched
    log = Path(env.cloud.log_file).read_text(errors="replace")
    assert f"volume {vid}: migration recorded" in log and "already holds it" in log
    assert _records(env) == []
    env.demo.delete(f"/volumes/{vid}", 202)
    env.wait(vid, "deleted")
