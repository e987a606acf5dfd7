"""Typed settings for the service, from the environment and from secret files.

Twelve-factor config: the same image runs everywhere and reads what differs between deploys
(URLs, credentials) at start-up. Plain values come from environment variables; secrets come from
files (Compose and Kubernetes mount them under ``/run/secrets``), because environment variables
leak — into ``docker inspect``, crash reports and child processes.

A missing or malformed value stops the process at start-up with one message naming every
problem — never a traceback on the first request, and never the secret's value in a log.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRETS_DIR = Path("/run/secrets")
SECRETS_DIR_ENV = "SECRETS_DIR"
MIN_JWT_SECRET_LENGTH = 32


class SettingsError(RuntimeError):
    """The configuration is incomplete or invalid; the message says what to set and where."""


class Settings(BaseSettings):
    """What the week-02 service needs to start. Environment variables win over secret files."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    database_url: SecretStr
    redis_url: str
    jwt_secret: SecretStr

    # The database URL is a secret too: it carries the password.
    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(("postgresql://", "postgresql+")):
            raise ValueError("must be a postgresql:// (or postgresql+driver://) URL")
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        # HS256 wants a key at least as long as its 256-bit output (RFC 7518 §3.2).
        if len(value.get_secret_value()) < MIN_JWT_SECRET_LENGTH:
            raise ValueError(f"must be at least {MIN_JWT_SECRET_LENGTH} characters "
                             "(python -c 'import secrets; print(secrets.token_urlsafe(48))')")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    def as_environment(self) -> dict[str, str]:
        """The values as the environment variables the week-02 service reads."""
        return {
            "DATABASE_URL": self.database_url.get_secret_value(),
            "REDIS_URL": self.redis_url,
            "JWT_SECRET": self.jwt_secret.get_secret_value(),
        }


def secrets_dir_from_environment() -> Path:
    """``$SECRETS_DIR`` if set, else ``/run/secrets`` (where Compose mounts secrets)."""
    return Path(os.environ.get(SECRETS_DIR_ENV) or DEFAULT_SECRETS_DIR)


def load_settings(secrets_dir: Path | str | None = None) -> Settings:
    """Read settings from the environment and from files in ``secrets_dir``.

    A file named like a field (``jwt_secret``) holds that field's value; trailing newlines are
    stripped. Raises :class:`SettingsError` listing every missing or invalid value.
    """
    folder = Path(secrets_dir) if secrets_dir is not None else secrets_dir_from_environment()
    # pydantic-settings warns about a secrets dir that does not exist; outside a container
    # there usually is none, and that is fine.
    source = {"_secrets_dir": folder} if folder.is_dir() else {}
    try:
        return Settings(**source)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_explain(exc, folder)) from None


def _explain(error: ValidationError, secrets_dir: Path) -> str:
    # Built from each error's location and message only: pydantic's own str(error) repeats the
    # input value, which for a too-short JWT secret would print the secret into the logs.
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0])
        name = field.upper()
        if problem["type"] == "missing":
            lines.append(f"  {name} is not set: export {name}=… or put the value in the file "
                         f"{secrets_dir / field}")
        else:
            lines.append(f"  {name} is invalid: {problem['msg']}")
    return "configuration error — the service cannot start:\n" + "\n".join(lines)
