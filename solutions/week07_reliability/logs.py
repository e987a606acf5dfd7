"""JSON logs, one object per line, that carry the request id through async code.

A request id set in a ``contextvars.ContextVar`` follows the request into every coroutine and every
task it starts (``asyncio`` copies the context into new tasks), yet never leaks into a concurrent
request — which a module-level variable would. structlog's ``merge_contextvars`` adds whatever is
bound there to each line, so endpoint code just logs ``log.info("charged", amount=…)``.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import TextIO

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
# A client-supplied id is echoed into logs and headers: accept only short, boring ones.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

log = structlog.get_logger("access")


def configure_logging(stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Send structlog *and* stdlib logging (uvicorn's own lines) to ``stream`` as JSON lines.

    Safe to call more than once: it replaces the configuration rather than adding to it.
    """
    stream = stream or sys.stdout
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    # Libraries log through the stdlib; render their records with the same processors.
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
    ))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # RequestContextMiddleware writes the access line, with the request id; uvicorn's would repeat it.
    logging.getLogger("uvicorn.access").handlers.clear()
    logging.getLogger("uvicorn.access").propagate = False


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER.encode():
            candidate = value.decode("latin-1")
            return candidate if _SAFE_REQUEST_ID.match(candidate) else None
    return None


class RequestContextMiddleware:
    """Pure ASGI middleware: bind a request id, echo it in the response, write one access line.

    Pure ASGI rather than ``BaseHTTPMiddleware`` so the endpoint runs in the very context we bind.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        status = 500  # what the client gets if the app raises before starting a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                log.info("request", method=scope["method"], path=scope["path"], status=status,
                         duration_ms=round((time.perf_counter() - started) * 1000, 2))
