"""The lab's shop: a deterministic million-order dataset and the queries it must answer fast.

Given code — read it, do not edit it. Index design starts from the data: how many rows, which
values are rare, which columns are correlated with the physical order of the table. All of that
is in the SQL below, and the lesson (weeks/03-postgres-indexes/README.md) walks through it.

The data is generated inside PostgreSQL with ``generate_series`` (a million rows in a few
seconds, no client round trips) and is the same on every machine: every "random" value comes
from ``hashint8`` of the row number, never from ``random()``. It is built once into a template
database whose name carries a hash of this SQL, so changing the dataset rebuilds the template
and every later run clones it in about a second.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from course import services

ORDERS = 1_000_000  # the dataset's "now" is 2026-01-01: the newest order is just before it

SCHEMA_SQL = """
CREATE TABLE customers (
    id         bigint PRIMARY KEY,
    email      text NOT NULL,
    country    text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE TABLE orders (
    id               bigint PRIMARY KEY,
    customer_id      bigint NOT NULL,
    status           text NOT NULL,
    total_cents      integer NOT NULL,
    created_at       timestamptz NOT NULL,
    shipping_address text NOT NULL
);
"""

# Orders arrive in time order (created_at grows with id, one every ~63 s over two years), spread
# evenly over 5,000 customers (~200 each). Anything older than 14 days is settled (delivered,
# cancelled or refunded); only the last 14 days hold open orders, so 'pending' is ~0.3% of rows.
# Ids past ORDERS continue the same pattern into the future: that is how new orders are made.
# (``%%`` is a literal ``%`` for psycopg, which fills in ``%(first)s`` and ``%(last)s``.)
ORDERS_SQL = """
INSERT INTO orders (id, customer_id, status, total_cents, created_at, shipping_address)
SELECT g,
       1 + h %% 5000,
       CASE WHEN at >= timestamptz '2026-01-01 00:00+00' - interval '14 days' THEN
                CASE WHEN h %% 100 < 15 THEN 'pending' WHEN h %% 100 < 40 THEN 'paid'
                     WHEN h %% 100 < 80 THEN 'shipped' ELSE 'delivered' END
            ELSE CASE WHEN h %% 100 < 90 THEN 'delivered' WHEN h %% 100 < 96 THEN 'cancelled'
                      ELSE 'refunded' END
       END,
       500 + (h / 7) %% 50000,
       at,
       format('%%s Market Street, Apt %%s, Springfield %%s', 1 + h %% 9000, 1 + (h / 13) %% 400,
              10000 + h %% 89999)
FROM (SELECT g, abs(hashint8(g)) AS h,
             timestamptz '2024-01-01 00:00+00' + (g - 1) * (interval '731 days' / 1000000) AS at
      FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g) AS numbered
"""

CUSTOMERS_SQL = """
INSERT INTO customers (id, email, country, created_at)
SELECT c, format('customer%s@example.com', c), (ARRAY['IN', 'US', 'DE', 'GB', 'BR', 'SG'])[1 + c % 6],
       timestamptz '2023-01-01 00:00+00' + c * interval '1 hour'
FROM generate_series(1, 5000) AS c
"""

# Postgres does not index a foreign key's referencing column for you; adding the constraint
# after the bulk load validates it with one join instead of a million per-row checks.
FOREIGN_KEY_SQL = "ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers (id)"


@dataclass(frozen=True)
class SlowQuery:
    """A query the shop runs all day, with the parameters the lab measures it with."""

    name: str
    purpose: str
    sql: str
    params: dict[str, object]


QUERIES: tuple[SlowQuery, ...] = (
    SlowQuery(
        name="customer_recent",
        purpose="a customer's orders from the last 30 days, newest first (the account page)",
        sql="SELECT id, status, total_cents, created_at FROM orders "
            "WHERE customer_id = %(customer_id)s AND created_at >= %(since)s "
            "ORDER BY created_at DESC",
        params={"customer_id": 42, "since": datetime(2025, 12, 2, tzinfo=UTC)},
    ),
    SlowQuery(
        name="pending_queue",
        purpose="the 50 oldest pending orders (the fulfilment worker polls this every second)",
        sql="SELECT id, customer_id, total_cents, created_at FROM orders "
            "WHERE status = 'pending' ORDER BY created_at LIMIT 50",
        params={},
    ),
    SlowQuery(
        name="hourly_revenue",
        purpose="revenue per hour for one day (the finance dashboard)",
        sql="SELECT date_trunc('hour', created_at) AS hour, sum(total_cents) AS revenue_cents "
            "FROM orders WHERE created_at >= %(day)s AND created_at < %(next_day)s "
            "GROUP BY hour ORDER BY hour",
        params={"day": datetime(2025, 6, 1, tzinfo=UTC), "next_day": datetime(2025, 6, 2, tzinfo=UTC)},
    ),
)


def template_name() -> str:
    """``week03_shop_<hash>``: a new name whenever the dataset's SQL changes, so it is rebuilt."""
    source = "\n".join([SCHEMA_SQL, ORDERS_SQL, CUSTOMERS_SQL, FOREIGN_KEY_SQL, str(ORDERS)])
    return f"week03_shop_{hashlib.sha256(source.encode()).hexdigest()[:12]}"


def load(url: str) -> None:
    """Create the schema and load every row into the (empty) database at ``url``."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA_SQL)
        conn.execute(CUSTOMERS_SQL)
        conn.execute(ORDERS_SQL, {"first": 1, "last": ORDERS})
        conn.execute(FOREIGN_KEY_SQL)
        # Freeze and analyze once, in the template: every clone starts with fresh statistics and
        # an all-visible visibility map, so autovacuum has nothing to do and runs are repeatable.
        conn.execute("VACUUM (FREEZE, ANALYZE)")


def ensure_template(server_url: str) -> str:
    """Build the template database once per dataset version and return its name.

    Clone it with ``make_database(label, template=...)`` in tests or
    ``course.services.create_database(server_url, name, template=...)`` in a notebook.
    """
    name = template_name()
    services.ensure_template(server_url, name, load)
    return name


def new_orders(count: int) -> dict[str, int]:
    """Parameters for ``ORDERS_SQL`` that add ``count`` orders after the existing ones.

    This is the write path every index slows down; measure it inside a transaction you roll back.
    """
    return {"first": ORDERS + 1, "last": ORDERS + count}
