"""The service's outside: health routes and error pages that never show a secret.

Settings arrive already loaded (``config.py``); the app uses a secret only at the one call that
needs it (``get_secret_value()`` at connect time) and reports failures by *name* — the failing
dependency, the exception's type — never by message, because driver messages quote URLs.
"""

from __future__ import annotations

from fastapi import FastAPI

from .config import Settings

RETRY_AFTER_S = 5


def create_app(settings: Settings) -> FastAPI:
    """The app: ``GET /healthz`` → 200; ``GET /readyz`` → 200, or 503 naming ``database`` with
    ``Retry-After: RETRY_AFTER_S`` when PostgreSQL at ``settings.database_url`` does not answer
    (connect with a timeout of a couple of seconds).

    No secret may reach a log record, a response, ``/docs`` or ``/openapi.json``: any unhandled
    exception becomes a generic 500 problem document (never its message; debug stays off), and
    logs name the exception's type, not its text.
    """
    raise NotImplementedError(
        "create_app — see weeks/12-cloud/README.md, section 'Secrets that stay secret'")
