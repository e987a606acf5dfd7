"""The workers' Prometheus metrics: what an operator watches to know deliveries keep up.

Write it (week 14): define, with ``prometheus_client``,

* ``INGEST_TO_ATTEMPT`` — histogram ``anchor_ingest_to_attempt_seconds`` (first attempts only),
  with buckets from milliseconds to a minute;
* ``ATTEMPTS`` — counter ``anchor_attempts_total`` labelled ``outcome`` (one of :data:`OUTCOMES`);
* ``STREAM_LAG`` — gauge ``anchor_stream_lag``; ``DEAD_LETTERS`` — gauge ``anchor_dead_letters``;

and :func:`serve`. Every role calls ``serve(settings.metrics_port)`` as it starts.
"""

from __future__ import annotations

OUTCOMES = ("success", "dns", "connect", "tls", "timeout", "http", "ssrf")
TODO = "define the four metrics and serve(): see weeks/14-anchor-jobs/README.md, section 'Metrics'"


def serve(port: int | None) -> None:
    """Serve ``/metrics`` on ``port`` (``prometheus_client.start_http_server``), if one is set."""
    raise NotImplementedError(TODO)


def __getattr__(name: str) -> object:
    """``INGEST_TO_ATTEMPT``, ``ATTEMPTS``, ``STREAM_LAG``, ``DEAD_LETTERS``: not defined yet."""
    raise NotImplementedError(TODO)
