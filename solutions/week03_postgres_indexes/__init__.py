"""Week 03 — Postgres indexes and query planning (reference solution)."""
