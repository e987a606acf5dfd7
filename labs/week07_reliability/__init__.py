"""Week 07 — reliability: retries, a circuit breaker, JSON logs, RED metrics, graceful shutdown."""
