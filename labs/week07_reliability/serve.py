"""Run the service under uvicorn so that SIGTERM drains it instead of cutting it off.

    python -m labs.week07_reliability.serve --port 8000 [--graceful-timeout-s 10]

Your task (see weeks/07-reliability/README.md, section 'Graceful shutdown'):
implement ``build_server`` and ``main``.
"""

from __future__ import annotations

import sys

import uvicorn

LESSON = "see weeks/07-reliability/README.md, section 'Graceful shutdown'"


def build_server(port: int, graceful_timeout_s: int) -> uvicorn.Server:
    """A ``uvicorn.Server`` for ``app.app`` on 127.0.0.1:``port`` whose drain on SIGTERM lasts at
    most ``graceful_timeout_s`` seconds, with logging left to ``configure_logging`` and uvicorn's
    access log off (the request middleware writes one, with the request id)."""
    raise NotImplementedError(LESSON)


def main(argv: list[str] | None = None) -> int:
    """Parse ``--port`` (default 8000) and ``--graceful-timeout-s`` (default 10), configure logging,
    serve until SIGTERM/SIGINT, and return 0 after a drained shutdown (1 if it never started).

    uvicorn re-raises the signal once it has drained; with the default handler still installed
    that kills the process (exit -15 / 143), so decide what that re-raised signal should do.
    """
    raise NotImplementedError(LESSON)


if __name__ == "__main__":
    sys.exit(main())
