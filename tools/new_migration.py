"""Autogenerate an Alembic revision for a service: python tools/new_migration.py identity "msg".

A service whose history forks into expand and contract branches (compute) needs the
branch: ``python tools/new_migration.py compute "msg" expand`` (additions, run online
before new code) or ``contract`` (removals, run once no old service is left).
"""

from __future__ import annotations

import sys
import tempfile
from importlib import resources

from alembic import command
from alembic.config import Config

from tinystack.common.db import Database, migrate


def main() -> None:
    service, message = sys.argv[1], sys.argv[2]
    branch = sys.argv[3] if len(sys.argv) > 3 else None
    package = f"tinystack.{service}.migrations"
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/scratch.sqlite"
        db = Database(url)
        try:
            migrate(db, package, f"alembic_version_{service}")
        except Exception as exc:  # no revisions yet
            print(f"(starting from an empty database: {exc})")
        cfg = Config()
        cfg.set_main_option("script_location", str(resources.files(package)))
        cfg.set_main_option("version_table", f"alembic_version_{service}")
        cfg.set_main_option("sqlalchemy.url", url)
        head = f"{branch}@head" if branch else "head"
        command.revision(cfg, message=message, autogenerate=True, head=head)


if __name__ == "__main__":
    main()
