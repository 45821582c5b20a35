"""the measure backlog and the metric workers' registry

Measures are no longer aggregated in the request that posts them: ``backlog`` keeps
them (one row per metric per request, packed doubles) until a metric worker aggregates
them into the splits and deletes them in the same transaction; ``processor`` lists the
running workers for ``/v1/status``.

Revision ID: metric_0003
Revises: metric_0002
Create Date: 2026-12-06 23:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "metric_0003"
down_revision = "metric_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backlog",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("metric_id", sa.String(length=36), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("measures", sa.LargeBinary(length=2**32 - 1), nullable=False),
        sa.ForeignKeyConstraint(
            ["metric_id"],
            ["metric.id"],
            name=op.f("fk_backlog_metric_id_metric"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backlog")),
    )
    op.create_index("ix_backlog_metric_id", "backlog", ["metric_id", "id"])
    op.create_table(
        "processor",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("heartbeat", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processor")),
    )


def downgrade() -> None:
    op.drop_table("processor")
    op.drop_index("ix_backlog_metric_id", table_name="backlog")
    op.drop_table("backlog")
