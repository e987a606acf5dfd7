"""Configuration from the environment, read once, handed out as a dependency.

The same variables configure a test, a laptop run and the container week 06 builds:
``DATABASE_URL``, ``REDIS_URL``, ``JWT_SECRET`` (or ``JWT_ALGORITHM=RS256`` with
``JWT_PRIVATE_KEY_FILE`` / ``JWT_PUBLIC_KEY_FILE``). Endpoints never call ``Settings()``
themselves: they depend on :func:`get_settings`, so a test swaps the whole configuration with
``app.dependency_overrides[get_settings] = lambda: Settings(...)``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "postgresql://postgres@127.0.0.1:5432/app"
    redis_url: str = "redis://127.0.0.1:6379/0"

    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    # A default secret would be a secret every clone of this repository shares: there is none.
    jwt_secret: SecretStr | None = None
    jwt_private_key_file: Path | None = None
    jwt_public_key_file: Path | None = None
    access_token_minutes: int = Field(default=15, gt=0)

    public_rate_limit: int = Field(default=60, gt=0)
    public_rate_window_s: int = Field(default=60, gt=0)

    queue_name: str = "deliveries"
    delivery_delay_s: float = Field(default=1.0, ge=0)

    @field_validator("database_url")
    @classmethod
    def _use_psycopg3(cls, url: str) -> str:
        return psycopg_url(url)

    @property
    def signing_key(self) -> str:
        """What tokens are signed with: the shared secret (HS256) or the private key (RS256)."""
        if self.jwt_algorithm == "HS256":
            return self._secret()
        return self._read("jwt_private_key_file")

    @property
    def verification_key(self) -> str:
        """What tokens are checked with: the shared secret (HS256) or the public key (RS256)."""
        if self.jwt_algorithm == "HS256":
            return self._secret()
        return self._read("jwt_public_key_file")

    def _secret(self) -> str:
        if self.jwt_secret is None or len(self.jwt_secret.get_secret_value()) < 32:
            raise RuntimeError("JWT_SECRET must be set to at least 32 characters for HS256 "
                               "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)")
        return self.jwt_secret.get_secret_value()

    def _read(self, field: str) -> str:
        path = getattr(self, field)
        if path is None:
            raise RuntimeError(f"{field.upper()} must point at a PEM file when JWT_ALGORITHM=RS256")
        return Path(path).read_text()


def psycopg_url(url: str) -> str:
    """``postgresql://`` means psycopg2 to SQLAlchemy; this service speaks psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


@functools.cache
def get_settings() -> Settings:
    """The process's settings, parsed once (the dependency tests override)."""
    return Settings()
