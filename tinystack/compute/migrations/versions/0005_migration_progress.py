"""migration progress: a live migration's memory and disk counters

Nullable columns only (an expand change: old code ignores them). Numbered 0005 so it
does not collide with the rolling-upgrade branch's 0003 (expand) and 0004 (contract);
merged with those, it chains on ``expand@head`` (``down_revision = "compute_0003"``).

Revision ID: compute_0005
Revises: compute_0003 (expand)
Create Date: 2026-12-06 15:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "compute_0005"
down_revision = "compute_0003"
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
