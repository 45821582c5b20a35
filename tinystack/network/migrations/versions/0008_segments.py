"""segments: standard attributes of network segments, segment_id of subnets

Revision ID: network_0008
Revises: network_0007
Create Date: 2026-12-07 02:45:00.000000

Segments become an API resource (``/v2.0/segments``): they get a name, a description,
timestamps, a revision number and tags. Existing segments keep their ids and take
their network's creation time. Subnets get the segment they are bound to (routed
networks); the foreign key keeps a segment in use from being deleted under them.
"""

import sqlalchemy as sa
from alembic import op

revision = "network_0008"
down_revision = "network_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("network_segments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("description", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("created_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("revision_number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("tags", sa.JSON(), nullable=True))

    segments = sa.table(
        "network_segments",
        sa.column("network_id", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("updated_at", sa.DateTime),
        sa.column("revision_number", sa.Integer),
        sa.column("tags", sa.JSON),
    )
    networks = sa.table(
        "networks", sa.column("id", sa.String), sa.column("created_at", sa.DateTime)
    )
    created = (
        sa.select(networks.c.created_at)
        .where(networks.c.id == segments.c.network_id)
        .scalar_subquery()
    )
    op.execute(
        segments.update().values(created_at=created, updated_at=created, revision_number=1, tags=[])
    )

    with op.batch_alter_table("network_segments", schema=None) as batch_op:
        batch_op.alter_column("created_at", existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column("updated_at", existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column("revision_number", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("tags", existing_type=sa.JSON(), nullable=False)

    with op.batch_alter_table("subnets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("segment_id", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_subnets_segment_id"), ["segment_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_subnets_segment_id_network_segments"),
            "network_segments",
            ["segment_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("subnets", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_subnets_segment_id_network_segments"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_subnets_segment_id"))
        batch_op.drop_column("segment_id")

    with op.batch_alter_table("network_segments", schema=None) as batch_op:
        batch_op.drop_column("tags")
        batch_op.drop_column("revision_number")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("created_at")
        batch_op.drop_column("description")
        batch_op.drop_column("name")
