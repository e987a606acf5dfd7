"""Week 03 — Postgres indexes and query planning.

Lab 1 (``explain.py``): read and measure plans from ``EXPLAIN (FORMAT JSON)``.
Lab 2 (``indexes.py``, ``report.py``): index a million orders and show the before/after table.
``dataset.py`` is given: the data and the slow queries your indexes are for.
Run ``pytest weeks/03``; the lesson is weeks/03-postgres-indexes/README.md.
"""
