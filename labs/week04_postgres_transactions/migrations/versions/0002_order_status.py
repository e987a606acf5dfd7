"""Add orders.status (backfilled from shipped_at) and an index on (status, created_at).

Your migration. The target is the ``Order`` model in ``labs/week04_postgres_transactions/models.py``;
``alembic check`` must find no difference once this revision is applied. It must be online-safe:
no step may block the application's reads and writes on a large ``orders`` for longer than a
moment. See weeks/04-postgres-transactions/README.md, section 'Online-safe migrations'.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-13
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401  (you will need it)
from alembic import op  # noqa: F401  (you will need it)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEX = "ix_orders_status_created_at"


def upgrade() -> None:
    """0001 → 0002.

    1. add ``status varchar(16)`` *nullable*, then give it the server default ``'pending'``;
    2. backfill existing rows: ``'shipped'`` where ``shipped_at`` is set, else ``'pending'``;
    3. make it NOT NULL (the lesson shows how without a long ACCESS EXCLUSIVE scan);
    4. build ``ix_orders_status_created_at`` on ``(status, created_at)`` CONCURRENTLY — which
       cannot run inside a transaction: see ``op.get_context().autocommit_block()``.
    """
    raise NotImplementedError(
        "upgrade 0002 — see weeks/04-postgres-transactions/README.md, section 'Online-safe migrations'")


def downgrade() -> None:
    """0002 → 0001: drop the index (concurrently) and the column; keep every order."""
    raise NotImplementedError(
        "downgrade 0002 — see weeks/04-postgres-transactions/README.md, section 'Online-safe migrations'")
