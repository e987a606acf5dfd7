"""Mistake: the right indexes, plus one on every column "in case a query needs it".

The slow queries are fast — and no query uses the extra five, which together outweigh the
table's useful indexes and tax every insert.
"""

from __future__ import annotations

COLUMNS = ("customer_id", "status", "total_cents", "created_at", "shipping_address")


def index_statements() -> list[str]:
    return [
        "CREATE INDEX orders_customer_id_created_at_idx ON orders (customer_id, created_at)",
        "CREATE INDEX orders_pending_created_at_idx ON orders (created_at) WHERE status = 'pending'",
        "CREATE INDEX orders_created_at_total_idx ON orders (created_at) INCLUDE (total_cents)",
        *(f"CREATE INDEX orders_{column}_idx ON orders ({column})" for column in COLUMNS),
    ]
