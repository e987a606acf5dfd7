"""``python -m anchor.api --host 127.0.0.1 --port 8000``: the API under uvicorn (uvloop, httptools).

No access log: at a thousand requests a second it costs more CPU than the requests; the metrics
and the error logs say what an access log would.

Idle keep-alive connections are kept 75 s, longer than any proxy in front keeps them (nginx 60 s,
an AWS load balancer 60 s): whoever closes an idle connection must be the proxy. If the API
closed first, a proxy could send a request down a connection just as it closes, and the client
would get a 502 for a message that may or may not have been stored.
"""

from __future__ import annotations

import argparse
import os

import uvicorn

from ..core.config import get_settings
from ..core.logging import configure_logging

KEEP_ALIVE_S = 75


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m anchor.api", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("ANCHOR_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("ANCHOR_PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("ANCHOR_WORKERS", "1")),
                        help="processes sharing the port (each with its own pools)")
    args = parser.parse_args(argv)
    settings = get_settings()  # fail here, with the setting's name, not inside a worker process
    configure_logging(level=settings.log_level, json=settings.log_json, role="api")
    uvicorn.run("anchor.main:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
                loop="uvloop", http="httptools", access_log=False, log_level=settings.log_level,
                proxy_headers=True, server_header=False, timeout_keep_alive=KEEP_ALIVE_S)


if __name__ == "__main__":
    main()
