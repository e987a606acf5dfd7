"""Typed settings for the service, from the environment and from secret files.

Twelve-factor config: the same image runs everywhere and reads what differs between deploys
(URLs, credentials) at start-up. Plain values come from environment variables; secrets come from
files (Compose and Kubernetes mount them under ``/run/secrets``), because environment variables
leak — into ``docker inspect``, crash reports and child processes.

A missing or malformed value must stop the process at start-up with one message naming every
problem — never a traceback on the first request, and never the secret's value in a log.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRETS_DIR = Path("/run/secrets")
SECRETS_DIR_ENV = "SECRETS_DIR"


class SettingsError(RuntimeError):
    """The configuration is incomplete or invalid; the message says what to set and where."""


class Settings(BaseSettings):
    """What the week-02 service needs to start. Environment variables win over secret files.

    TODO (see weeks/06-docker/README.md, section 'Typed settings'): declare three fields —
      * ``database_url``: a ``postgresql://`` or ``postgresql+driver://`` URL (it carries a password);
      * ``redis_url``: a ``redis://``, ``rediss://`` or ``unix://`` URL;
      * ``jwt_secret``: at least 32 characters.
    Secrets must not show in ``repr()``/``str()`` of the settings (``pydantic.SecretStr``).
    """

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    def as_environment(self) -> dict[str, str]:
        """The values as the environment variables the week-02 service reads:
        ``{"DATABASE_URL": …, "REDIS_URL": …, "JWT_SECRET": …}`` with the real (unmasked) values."""
        raise NotImplementedError("see weeks/06-docker/README.md, section 'Typed settings'")


def secrets_dir_from_environment() -> Path:
    """``$SECRETS_DIR`` if set, else ``/run/secrets`` (where Compose mounts secrets)."""
    return Path(os.environ.get(SECRETS_DIR_ENV) or DEFAULT_SECRETS_DIR)


def load_settings(secrets_dir: Path | str | None = None) -> Settings:
    """Read settings from the environment and from files in ``secrets_dir``.

    ``secrets_dir`` defaults to :func:`secrets_dir_from_environment`. A file named like a field
    (``jwt_secret``) holds that field's value; trailing newlines are stripped. Raises
    :class:`SettingsError` naming every missing or invalid value by its environment variable
    (``JWT_SECRET``) — and never repeating a rejected value.
    """
    raise NotImplementedError("see weeks/06-docker/README.md, section 'Secrets as files'")
