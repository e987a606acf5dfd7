"""The API's Prometheus metrics: requests and latency by route *template*, and messages ingested.

Labels use the route template (``/api/v1/app/{app_id}/msg``), never the concrete path: one series
per app id would grow without bound and take Prometheus down with it. The registry belongs to the
app (``app.state.metrics``), so two apps in one process — tests do that — never collide.
"""

from __future__ import annotations

import time

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Bound by a request's dependencies; dropped when the request ends so the next one starts clean.
REQUEST_LOG_KEYS = ("tenant_id", "app_id", "endpoint_id", "msg_id")


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("anchor_http_requests_total", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("anchor_http_request_duration_seconds", "Time to answer an HTTP request",
                                 ["method", "route"], registry=self.registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.messages_ingested = Counter("anchor_messages_ingested_total", "Messages accepted (202)",
                                         registry=self.registry)


class MetricsMiddleware:
    """Pure ASGI (no per-request task or body buffering, unlike ``BaseHTTPMiddleware``)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "<unmatched>")
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars(*REQUEST_LOG_KEYS)
