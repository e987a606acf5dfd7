"""Add orders.status (backfilled from shipped_at) and an index on (status, created_at).

Online-safe: no step holds a lock that blocks the application's reads and writes for longer
than a moment, however large ``orders`` is.

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

BATCH_ROWS = 5000
INDEX = "ix_orders_status_created_at"


def upgrade() -> None:
    # 1. A nullable column without a default is a catalog-only change: instant on any table size.
    op.add_column("orders", sa.Column("status", sa.String(16), nullable=True))
    # 2. Rows inserted from now on get a status; only the rows that already exist need filling.
    op.alter_column("orders", "status", server_default=sa.text("'pending'"))
    # 3. Backfill in short batches, each committed on its own, so row locks are held briefly
    #    and a long backfill never pins one huge transaction.
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        while True:
            filled = bind.execute(sa.text(
                "UPDATE orders SET status = CASE WHEN shipped_at IS NULL THEN 'pending' ELSE 'shipped' END"
                " WHERE id IN (SELECT id FROM orders WHERE status IS NULL LIMIT :batch)"
            ), {"batch": BATCH_ROWS}).rowcount
            if filled == 0:
                break
    # 4. SET NOT NULL alone scans the whole table under an ACCESS EXCLUSIVE lock. A NOT VALID
    #    check is instant; VALIDATE scans under a lock that lets writes through; and SET NOT NULL
    #    then trusts the validated check and skips its own scan (PostgreSQL 12+).
    op.create_check_constraint("orders_status_not_null", "orders", "status IS NOT NULL",
                               postgresql_not_valid=True)
    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT orders_status_not_null")
    op.alter_column("orders", "status", nullable=False)
    op.drop_constraint("orders_status_not_null", "orders", type_="check")
    # 5. CONCURRENTLY builds without blocking writes, but cannot run inside a transaction block:
    #    autocommit_block commits Alembic's transaction around it.
    with op.get_context().autocommit_block():
        op.create_index(INDEX, "orders", ["status", "created_at"], postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(INDEX, table_name="orders", postgresql_concurrently=True)
    op.drop_column("orders", "status")
