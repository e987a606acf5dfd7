"""MISTAKE (raw_path_label):
labels requests with the raw path — one new time series per distinct URL.

RED metrics — Rate, Errors, Duration — for every HTTP request, exposed on ``/metrics``.

* ``http_requests_total{method, route, status}`` — a counter: rate and error ratio come from it;
* ``http_request_duration_seconds{method, route}`` — a histogram: quantiles are estimated from
  its buckets on the server that scrapes us, so they can be aggregated across instances;
* ``http_requests_in_flight`` — a gauge: how much work is inside the process right now.

Labels are the route *template* (``/items/{item_id}``), never the raw path: every distinct label
value is a new time series held in memory here and in Prometheus, and raw paths are unbounded.
``/metrics`` itself is not measured — a scrape should not observe itself.
"""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METRICS_PATH = "/metrics"
UNMATCHED_ROUTE = "unmatched"  # every 404 without a route shares one series
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Latency buckets (seconds) around what this service does: fast reads to multi-second slow calls.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# One registry per process, not prometheus_client's global one, so only our series are exposed.
REGISTRY = CollectorRegistry()
REQUESTS = Counter("http_requests", "HTTP requests served.", ["method", "route", "status"],
                   registry=REGISTRY)
LATENCY = Histogram("http_request_duration_seconds", "Time to serve an HTTP request.",
                    ["method", "route"], buckets=BUCKETS, registry=REGISTRY)
IN_FLIGHT = Gauge("http_requests_in_flight", "HTTP requests being served right now.", registry=REGISTRY)


def route_label(scope: Scope) -> str:
    """The matched route's template (the router stores the route in the scope), else one shared value."""
    return scope["path"]  # the path the client sent: /items/1, /items/2, …


def method_label(scope: Scope) -> str:
    # HTTP allows any token as a method; an attacker's "FOO1", "FOO2"… must not mint series.
    method = scope["method"]
    return method if method in _KNOWN_METHODS else "other"


class MetricsMiddleware:
    """Pure ASGI middleware that records every request's route, status and duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_and_record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        IN_FLIGHT.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_record_status)
        finally:
            IN_FLIGHT.dec()
            # Routing has happened by now, so the scope carries the matched route.
            method, route = method_label(scope), route_label(scope)
            LATENCY.labels(method, route).observe(time.perf_counter() - started)
            REQUESTS.labels(method, route, str(status)).inc()


def render() -> tuple[bytes, str]:
    """The exposition body and its content type, for the ``/metrics`` endpoint."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
