"""Week 10 — Queues and streams: a reliable queue on Redis Streams, the outbox, idempotent consumers."""
