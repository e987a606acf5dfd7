"""Mistake: a full (status, created_at) index for a query that only ever asks for 'pending'.

It is fast, but it stores a million entries to serve ~3,000, and every insert and status change
pays to maintain them.
"""

from __future__ import annotations


def index_statements() -> list[str]:
    return [
        "CREATE INDEX orders_customer_id_created_at_idx ON orders (customer_id, created_at)",
        "CREATE INDEX orders_status_created_at_idx ON orders (status, created_at)",
        "CREATE INDEX orders_created_at_total_idx ON orders (created_at) INCLUDE (total_cents)",
    ]
