"""Request context: an id for every request, a timing header, and one access-log line.

Your task (lesson: weeks/02-fastapi/README.md, section 'Middleware'): write
``RequestContextMiddleware.__call__`` as plain ASGI middleware that, for every HTTP request,

* takes the id from the ``X-Request-ID`` header when it is safe (short, only
  ``[A-Za-z0-9._:-]``), otherwise generates one (``uuid4().hex``);
* sets ``request_id_var`` for the whole request (and resets it afterwards), so the log-record
  factory below stamps every record written during the request with ``record.request_id``;
* adds ``X-Request-ID`` and ``Server-Timing: app;dur=<milliseconds>`` to the response;
* writes exactly one record on ``access_log`` per request, with ``extra=`` attributes
  ``method``, ``path``, ``status`` (int) and ``duration_ms`` (float).
"""

from __future__ import annotations

import contextvars
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
access_log = logging.getLogger("week02.access")

_base_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args: object, **kwargs: object) -> logging.LogRecord:
    """Stamp every log record with the current request's id (``None`` outside a request)."""
    record = _base_factory(*args, **kwargs)
    if not hasattr(record, "request_id"):
        record.request_id = request_id_var.get()
    return record


logging.setLogRecordFactory(_record_with_request_id)


def current_request_id() -> str | None:
    return request_id_var.get()


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass non-HTTP scopes straight through; wrap HTTP ones as the module docstring says.

        Add headers by wrapping ``send``: when the ``"http.response.start"`` message passes,
        ``starlette.datastructures.MutableHeaders(scope=message)`` edits its headers in place.
        """
        raise NotImplementedError("see weeks/02-fastapi/README.md, section 'Middleware'")
