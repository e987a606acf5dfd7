"""The shop's indexes: one per slow query, each shaped by how that query reads the table."""

from __future__ import annotations


def index_statements() -> list[str]:
    """The ``CREATE INDEX`` statements that make every query in ``dataset.QUERIES`` fast."""
    return [
        # customer_recent: `customer_id = ?` narrows to one customer, then `created_at >= ?` is a
        # range *inside* that customer. Equality column first, range column second: the scan
        # starts at (42, since) and reads only matching entries, already in created_at order.
        "CREATE INDEX orders_customer_id_created_at_idx ON orders (customer_id, created_at)",
        # pending_queue: only ~0.3% of orders are pending and the worker never asks for any
        # other status, so index only those rows. The predicate must match the query's WHERE
        # for the planner to use it; the index stays tiny and cheap to maintain.
        "CREATE INDEX orders_pending_created_at_idx ON orders (created_at) WHERE status = 'pending'",
        # hourly_revenue: the range on created_at finds the day; INCLUDE carries total_cents in
        # the leaf entries so the sum never visits the table (an Index Only Scan, given a
        # VACUUMed table whose visibility map says the pages are all-visible).
        "CREATE INDEX orders_created_at_total_idx ON orders (created_at) INCLUDE (total_cents)",
    ]
