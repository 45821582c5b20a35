"""Regression (chaos on MariaDB): two first volume creates of a project at once both
inserted its quota usage rows; the loser's duplicate key answered 500."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

from tests.databases import BACKENDS, database
from tinystack.common.db import Database, migrate
from tinystack.volume.services import quotas


@pytest.fixture(scope="module", params=BACKENDS)
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    with database(request.param, "tsch_vol_quota") as url:
        found = Database(url)
        migrate(found, "tinystack.volume.migrations", "alembic_version_volume")
        yield found
        found.dispose()


def test_concurrent_first_uses_of_a_project_share_its_usage_rows(db: Database) -> None:
    project, names = uuid.uuid4().hex, ["volumes", "gigabytes"]
    start, errors = threading.Barrier(6), []

    def first_use() -> None:
        start.wait()
        try:
            db.write(lambda s: quotas._usage_rows(s, project, names))
        except Exception as exc:  # the duplicate key of the race
            errors.append(exc)

    threads = [threading.Thread(target=first_use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    with db.reader() as session:
        assert sorted(quotas._usage_rows(session, project, names)) == sorted(names)
