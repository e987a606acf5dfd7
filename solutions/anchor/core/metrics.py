"""The workers' Prometheus metrics: what an operator watches to know deliveries are keeping up.

* ``anchor_ingest_to_attempt_seconds`` — from the message's acceptance to its first attempt's
  answer: the latency a tenant feels (the published p99 comes from here).
* ``anchor_attempts_total{outcome}`` — ``success`` or the error class (dns, connect, tls,
  timeout, http, ssrf): a jump in one class says where to look.
* ``anchor_stream_lag`` — entries not yet read or not yet acked by the workers: falling behind.
* ``anchor_dead_letters`` — entries taken out of the queue: someone has to look at them.

Workers and the scheduler serve them on ``metrics_port`` (the API serves its own ``/metrics``).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

OUTCOMES = ("success", "dns", "connect", "tls", "timeout", "http", "ssrf")

INGEST_TO_ATTEMPT = Histogram(
    "anchor_ingest_to_attempt_seconds", "Seconds from a message's acceptance to its first attempt",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0))
ATTEMPTS = Counter("anchor_attempts", "HTTP attempts by outcome", ["outcome"])
STREAM_LAG = Gauge("anchor_stream_lag", "Stream entries not yet read or not yet acknowledged by workers")
DEAD_LETTERS = Gauge("anchor_dead_letters", "Entries in the dead-letter stream")

for _outcome in OUTCOMES:  # every series exists from the start, so a rate() is never "no data"
    ATTEMPTS.labels(outcome=_outcome)


def serve(port: int | None) -> None:
    """Serve ``/metrics`` on ``port`` (all interfaces: a scraper runs beside us), if one is set."""
    if port is not None:
        start_http_server(port)
