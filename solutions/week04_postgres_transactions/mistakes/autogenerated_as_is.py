"""MISTAKE: ship what ``alembic revision --autogenerate`` wrote, unedited.

Autogenerate sees a new NOT NULL column with a server default and a new index, and emits exactly
that: one ALTER that stamps 'pending' on every existing order (shipped ones too — it cannot know
the rule), and a plain CREATE INDEX that blocks all writes to orders while it builds.
(Fails `test_upgrade_builds_the_index_concurrently`; the backfill test catches it too.)

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-13
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("status", sa.String(length=16), server_default=sa.text("'pending'"),
                                      nullable=False))
    op.create_index("ix_orders_status_created_at", "orders", ["status", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_orders_status_created_at", table_name="orders")
    op.drop_column("orders", "status")
