"""The container's one entry point: ``python -m labs.week06_docker.entrypoint api|worker|healthcheck``.

One image, three roles, chosen by the Compose ``command``:

* ``api [--app IMPORT_STRING]`` — validate settings, hand them to the app as environment
  variables, then serve with uvicorn in this process on ``$HOST`` (default 0.0.0.0) and ``$PORT``
  (default 8000). Default app: ``labs.week02_fastapi.main:app``.
* ``worker [--module MODULE]`` — validate settings likewise, then run ``MODULE`` as ``__main__``.
  Default module: ``labs.week02_fastapi.worker``.
* ``healthcheck [--url URL] [--timeout-s SECONDS]`` — exit 0 if ``URL`` answers 2xx within the
  timeout (default 2 s), else 1 with a one-line reason. Default URL:
  ``http://127.0.0.1:$PORT$HEALTH_PATH`` (``HEALTH_PATH`` defaults to ``/healthz``).

Docker runs the healthcheck every few seconds for the life of the container: it must import only
the standard library. A role with missing settings exits non-zero with the settings error — no
traceback — before importing the application.
"""

from __future__ import annotations

import sys

DEFAULT_APP = "labs.week02_fastapi.main:app"
DEFAULT_WORKER = "labs.week02_fastapi.worker"


def healthcheck(url: str, timeout_s: float) -> int:
    """0 when ``url`` answers 2xx within ``timeout_s`` seconds, else 1 (Docker's healthy/unhealthy)."""
    raise NotImplementedError("see weeks/06-docker/README.md, section 'Healthchecks'")


def serve_api(app: str) -> int:
    """Validate settings, export them to the environment, run uvicorn with ``app`` in this process."""
    raise NotImplementedError("see weeks/06-docker/README.md, section 'One image, three roles'")


def run_worker(module: str) -> int:
    """Validate settings, export them to the environment, run ``module`` as ``__main__``."""
    raise NotImplementedError("see weeks/06-docker/README.md, section 'One image, three roles'")


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (the roles and options above) and run the chosen role; return its exit code."""
    raise NotImplementedError("see weeks/06-docker/README.md, section 'Trim the start-up'")


if __name__ == "__main__":
    sys.exit(main())
