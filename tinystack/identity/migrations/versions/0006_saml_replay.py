"""saml assertion replay cache: the SAML 2.0 assertions accepted, until they expire

Revision ID: identity_0006_saml_replay
Revises: identity_0005_compliance
Create Date: 2026-12-06 08:01:19.809070
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "identity_0006_saml_replay"
down_revision = "identity_0005_compliance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saml_assertion_seen",
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("assertion_id", sa.String(length=255), nullable=False),
        sa.Column(
            "expires_at",
            sa.DateTime()
            .with_variant(mysql.DATETIME(fsp=6), "mariadb")
            .with_variant(mysql.DATETIME(fsp=6), "mysql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("issuer", "assertion_id", name=op.f("pk_saml_assertion_seen")),
    )
    with op.batch_alter_table("saml_assertion_seen", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_saml_assertion_seen_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("saml_assertion_seen", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saml_assertion_seen_expires_at"))

    op.drop_table("saml_assertion_seen")
