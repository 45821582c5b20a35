"""full precision for times on MySQL/MariaDB

FLOAT is single precision there, which rounds an epoch timestamp to a step of
about two minutes: revocation events loaded from the database (at start, or by
another process through /v3/OS-REVOKE/events) then revoked the wrong tokens.
DATETIME without a fraction drops microseconds. SQLite (REAL) and PostgreSQL
(FLOAT is double precision) need no change.

Revision ID: identity_0002
Revises: identity_0001
Create Date: 2026-11-22 01:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "identity_0002"
down_revision = "identity_0001"
branch_labels = None
depends_on = None

EPOCHS = {"revocation_event": ("issued_before", "revoked_at")}
TIMES = {
    "user": (
        ("password_created_at", True),
        ("password_expires_at", True),
        ("created_at", False),
        ("last_active_at", True),
    ),
    "application_credential": (("expires_at", True), ("created_at", False)),
}


def _is_mysql() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def upgrade() -> None:
    if not _is_mysql():
        return
    for table, columns in EPOCHS.items():
        for column in columns:
            op.alter_column(
                table, column, type_=sa.Double(), existing_type=sa.Float(), existing_nullable=False
            )
    for table, times in TIMES.items():
        for column, nullable in times:
            op.alter_column(
                table,
                column,
                type_=mysql.DATETIME(fsp=6),
                existing_type=sa.DateTime(),
                existing_nullable=nullable,
            )


def downgrade() -> None:
    if not _is_mysql():
        return
    for table, columns in EPOCHS.items():
        for column in columns:
            op.alter_column(
                table, column, type_=sa.Float(), existing_type=sa.Double(), existing_nullable=False
            )
    for table, times in TIMES.items():
        for column, nullable in times:
            op.alter_column(
                table,
                column,
                type_=sa.DateTime(),
                existing_type=mysql.DATETIME(fsp=6),
                existing_nullable=nullable,
            )
