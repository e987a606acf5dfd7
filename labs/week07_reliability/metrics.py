"""RED metrics — Rate, Errors, Duration — for every HTTP request, exposed on ``/metrics``.

Your task (see weeks/07-reliability/README.md, section 'RED metrics and histograms'):
define these with ``prometheus_client`` in a
registry of your own and record them in ``MetricsMiddleware``:

* ``http_requests_total`` — a counter with labels ``method``, ``route``, ``status``;
* ``http_request_duration_seconds`` — a histogram (seconds) with labels ``method``, ``route``
  and buckets that fit this service (from a few ms to ten seconds);
* ``http_requests_in_flight`` — a gauge of requests being served right now.

``route`` is the matched route's *template* (``/items/{item_id}``), one shared value for requests
that matched no route — never the raw path. Requests to ``/metrics`` itself are not measured.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

METRICS_PATH = "/metrics"

LESSON = "see weeks/07-reliability/README.md, section 'RED metrics and histograms'"


def route_label(scope: Scope) -> str:
    """The route template for this request (the router stores the matched route in
    ``scope["route"]``), or one shared value such as ``"unmatched"``."""
    raise NotImplementedError(LESSON)


class MetricsMiddleware:
    """Pure ASGI middleware that records every request's route, status and duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan (start-up/shutdown) events pass straight through
            await self.app(scope, receive, send)
            return
        raise NotImplementedError(LESSON)


def render() -> tuple[bytes, str]:
    """The exposition body and its content type, for the ``/metrics`` endpoint
    (``prometheus_client.generate_latest`` and ``CONTENT_TYPE_LATEST``)."""
    raise NotImplementedError(LESSON)
