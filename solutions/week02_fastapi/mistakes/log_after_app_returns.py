"""Mistake: the access record is written when the app call returns — after BackgroundTasks ran."""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
# An id from outside ends up in our logs: accept only short, boring ones (no log injection).
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

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


def _incoming_request_id(scope: Scope) -> str | None:
    """The client's ``X-Request-ID`` if it is safe to log, else ``None`` (we generate one)."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _SAFE_REQUEST_ID.match(candidate) else None
    return None


class RequestContextMiddleware:
    """Request id in, request id out, ``Server-Timing`` on the response, one access-log record."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_code = 500  # what the client gets if the app raises before responding
        logged = False

        def log_access() -> None:
            nonlocal logged
            logged = True
            duration_ms = (time.perf_counter() - started) * 1000
            access_log.info(
                "%s %s %s %.1fms", scope["method"], scope["path"], status_code, duration_ms,
                extra={"method": scope["method"], "path": scope["path"], "status": status_code,
                       "duration_ms": round(duration_ms, 2), "client": (scope.get("client") or ("-",))[0]},
            )

        async def send_with_context(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                elapsed_ms = (time.perf_counter() - started) * 1000
                headers.append("server-timing", f"app;dur={elapsed_ms:.1f}")
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        finally:
            # MISTAKE: "log when the request is done" — but Starlette runs BackgroundTasks inside
            # the app call, so this waits for them and counts them as the request's latency.
            if not logged:
                log_access()
            request_id_var.reset(token)
