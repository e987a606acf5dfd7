"""Mistake: the composite index leads with the range column.

(created_at, customer_id) still lists both columns, and EXPLAIN still says "Index Scan", but the
scan must walk every order of the last 30 days — everyone's — to find one customer's handful.
"""

from __future__ import annotations


def index_statements() -> list[str]:
    return [
        "CREATE INDEX orders_created_at_customer_id_idx ON orders (created_at, customer_id)",
        "CREATE INDEX orders_pending_created_at_idx ON orders (created_at) WHERE status = 'pending'",
        "CREATE INDEX orders_created_at_total_idx ON orders (created_at) INCLUDE (total_cents)",
    ]
