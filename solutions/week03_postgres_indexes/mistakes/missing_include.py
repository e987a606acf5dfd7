"""Mistake: a plain created_at index for a query that also reads total_cents.

The index finds the day's rows, but total_cents lives only in the table, so every row costs a
heap visit: an Index Scan, not an Index Only Scan.
"""

from __future__ import annotations


def index_statements() -> list[str]:
    return [
        "CREATE INDEX orders_customer_id_created_at_idx ON orders (customer_id, created_at)",
        "CREATE INDEX orders_pending_created_at_idx ON orders (created_at) WHERE status = 'pending'",
        "CREATE INDEX orders_created_at_idx ON orders (created_at)",
    ]
