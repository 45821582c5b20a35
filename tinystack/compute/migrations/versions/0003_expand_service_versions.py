"""expand: the RPC and payload versions each service runs (rolling upgrades)

The first revision of the expand branch: online, before new code starts (old code
ignores the new nullable columns). Later schema additions chain on ``expand@head``.

Revision ID: compute_0003
Revises: compute_0002
Create Date: 2026-12-06 15:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "compute_0003"
down_revision = "compute_0002"
branch_labels = ("expand",)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rpc_version", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("object_versions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_column("object_versions")
        batch_op.drop_column("rpc_version")
