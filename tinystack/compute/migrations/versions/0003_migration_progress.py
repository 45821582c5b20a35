"""migration progress: a live migration's memory and disk counters

Revision ID: compute_0003
Revises: compute_0002
Create Date: 2026-12-06 15:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "compute_0003"
down_revision = "compute_0002"
branch_labels = None
depends_on = None

COLUMNS = (
    "memory_total",
    "memory_processed",
    "memory_remaining",
    "disk_total",
    "disk_processed",
    "disk_remaining",
)


def upgrade() -> None:
    with op.batch_alter_table("migrations") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("migrations") as batch:
        for name in COLUMNS:
            batch.drop_column(name)
