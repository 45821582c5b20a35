"""contract: the branch of removals that wait until no old service runs

The first revision of the contract branch holds no change: it is where later
removals (columns and tables only the previous release used) chain on
``contract@head``, run by ``tinystack db contract`` once every service is upgraded.

Revision ID: compute_0004
Revises: compute_0002
Create Date: 2026-12-06 15:30:00
"""

revision = "compute_0004"
down_revision = "compute_0002"
branch_labels = ("contract",)
depends_on = "compute_0003"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
