"""The body of every service's Alembic ``env.py``.

Migrations always run on a connection the caller opened (see
:func:`tinystack.common.db.migrate`), with the service's own version table.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, create_engine


def run(metadata: MetaData) -> None:
    config = context.config
    version_table = config.get_main_option("version_table") or "alembic_version"
    connection = config.attributes.get("connection")
    if connection is None:
        # Used by developers to autogenerate revisions: `url` points at a scratch database.
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
        connection = engine.connect()
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=version_table,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
