"""Run the service under uvicorn so that SIGTERM drains it instead of cutting it off.

On SIGTERM uvicorn stops accepting connections, lets in-flight requests finish (for at most
``timeout_graceful_shutdown`` seconds, then cancels them), runs the lifespan shutdown, and then
re-raises the signal to the handler that was installed before it started. With the default
handler that kills the process, which a supervisor reports as "terminated by SIGTERM" (exit 143
in a container). A drained shutdown is a success, so we install a handler that accepts it and
exit 0.

    python -m labs.week07_reliability.serve --port 8000 [--graceful-timeout-s 10]
"""

from __future__ import annotations

import argparse
import signal
import sys

import structlog
import uvicorn

from .app import app
from .logs import configure_logging

log = structlog.get_logger("serve")


def build_server(port: int, graceful_timeout_s: int) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        timeout_graceful_shutdown=graceful_timeout_s,  # seconds: the bound on a drain
        log_config=None,   # logging is ours: JSON, configured in configure_logging()
        access_log=False,  # RequestContextMiddleware writes the access line, with the request id
    )
    return uvicorn.Server(config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labs.week07_reliability.serve")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--graceful-timeout-s", type=int, default=10)
    args = parser.parse_args(argv)
    configure_logging()
    server = build_server(args.port, args.graceful_timeout_s)
    # uvicorn handles SIGTERM/SIGINT while it serves and re-raises them here once drained.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    server.run()
    if not server.started:
        log.error("service failed to start")
        return 1
    log.info("shutdown complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
