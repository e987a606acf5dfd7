"""Week 05 — Redis: cache-aside, locks, idempotency keys, rate limiters and pub/sub."""
