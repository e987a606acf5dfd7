"""The container's one entry point: ``python -m labs.week06_docker.entrypoint api|worker|healthcheck``.

One image, three roles, chosen by the Compose ``command``. The module imports nothing heavy at
the top: Docker runs the ``healthcheck`` role every few seconds for the life of the container, and
it needs only the standard library — importing FastAPI and SQLAlchemy there would spend half a
second of CPU per probe to ask one HTTP question. The ``api`` and ``worker`` roles validate the
configuration first, so a container with a missing secret exits in a fraction of a second with a
clear message instead of importing the whole application and failing on its first request.

The serving roles run in this very process (no shell, no child process), so the SIGTERM that
``docker stop`` sends to PID 1 reaches uvicorn or the worker and they shut down gracefully.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request

DEFAULT_APP = "labs.week02_fastapi.main:app"
DEFAULT_WORKER = "labs.week02_fastapi.worker"
EX_CONFIG = 78  # sysexits.h: "configuration error" — a restart will not fix it


def healthcheck(url: str, timeout_s: float) -> int:
    """0 when ``url`` answers 2xx within ``timeout_s`` seconds, else 1 (Docker's healthy/unhealthy)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            healthy = 200 <= response.status < 300
    except (urllib.error.URLError, OSError) as exc:  # refused, timed out, HTTP 5xx …
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    return 0 if healthy else 1


def _configure() -> None:
    """Validate settings and hand them to the application as environment variables."""
    from .settings import SettingsError, load_settings  # pydantic: only for the serving roles

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(EX_CONFIG) from None
    # The week-02 service reads its settings from the environment; values that arrived as
    # secret files are handed over in this process's memory, never written into the image.
    os.environ.update(settings.as_environment())


def serve_api(app: str) -> int:
    _configure()
    import uvicorn

    uvicorn.run(app, host=os.environ.get("HOST", "0.0.0.0"),  # all interfaces: inside a container
                port=int(os.environ.get("PORT", "8000")), proxy_headers=True,
                timeout_graceful_shutdown=20)
    return 0


def run_worker(module: str) -> int:
    _configure()
    import runpy

    runpy.run_module(module, run_name="__main__", alter_sys=True)
    return 0


def _default_health_url() -> str:
    port = os.environ.get("PORT", "8000")
    return f"http://127.0.0.1:{port}{os.environ.get('HEALTH_PATH', '/healthz')}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labs.week06_docker.entrypoint")
    roles = parser.add_subparsers(dest="role", required=True)
    api = roles.add_parser("api", help="serve the HTTP API with uvicorn")
    api.add_argument("--app", default=DEFAULT_APP, help="ASGI app import string")
    worker = roles.add_parser("worker", help="run the background worker")
    worker.add_argument("--module", default=DEFAULT_WORKER, help="module to run as __main__")
    probe = roles.add_parser("healthcheck", help="exit 0 if the API answers 2xx, else 1")
    probe.add_argument("--url", default=None, help="default: http://127.0.0.1:$PORT$HEALTH_PATH")
    probe.add_argument("--timeout-s", type=float, default=2.0, help="seconds before giving up")
    args = parser.parse_args(argv)

    if args.role == "healthcheck":
        return healthcheck(args.url or _default_health_url(), args.timeout_s)
    if args.role == "api":
        return serve_api(args.app)
    return run_worker(args.module)


if __name__ == "__main__":
    raise SystemExit(main())
