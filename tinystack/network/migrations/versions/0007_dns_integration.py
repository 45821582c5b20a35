"""dns_integration: dns_name and dns_domain of ports, dns_domain of networks

Revision ID: network_0007
Revises: network_0006
Create Date: 2026-12-07 02:46:00.539869
"""

import sqlalchemy as sa
from alembic import op

revision = "network_0007"
down_revision = "network_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dns_domain", sa.String(length=255), server_default="", nullable=False)
        )

    with op.batch_alter_table("ports", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dns_name", sa.String(length=255), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("dns_domain", sa.String(length=255), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("ports", schema=None) as batch_op:
        batch_op.drop_column("dns_domain")
        batch_op.drop_column("dns_name")

    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.drop_column("dns_domain")
