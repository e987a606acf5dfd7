"""Settings for every role, read once from the environment (``ANCHOR_*``) by pydantic-settings.

Invalid combinations are refused at start-up with one message that names the setting, so a worker
never runs with a claim timeout that would hand an in-flight delivery to a second worker.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Annotated, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Svix's schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (seconds).
SVIX_RETRY_SCHEDULE_S: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
# Svix disables an endpoint whose every attempt has failed for five days.
SVIX_DISABLE_AFTER_S = 5 * 24 * 3600.0
# The slack a claim timeout must leave beyond the HTTP timeout: the worker also writes the attempt.
CLAIM_MARGIN_S = 5.0


class Settings(BaseSettings):
    """Every knob of the service. Times carry their unit in the name; ``retry_time_scale`` < 1
    compresses every retry delay and the disable rule together, so tests run Svix's schedule in
    seconds rather than days."""

    model_config = SettingsConfigDict(env_prefix="ANCHOR_", env_file=None, extra="ignore")

    database_url: str = Field(description="postgresql+psycopg://user:password@host:port/db")
    redis_url: str = Field(description="redis://:password@host:port/db")
    db_pool_size: int = Field(10, ge=1, le=200)

    jwt_secret: SecretStr = Field(description="HMAC key for people's access tokens, 32+ bytes")
    access_token_ttl_s: int = Field(3600, ge=60)

    http_timeout_s: float = Field(15.0, gt=0, le=120)
    claim_timeout_s: float = Field(60.0, gt=0)
    unsafe_skip_claim_check: bool = Field(False, description="drills only: allow claim ≤ HTTP timeout")

    retry_schedule_s: Annotated[tuple[float, ...], NoDecode] = SVIX_RETRY_SCHEDULE_S
    retry_time_scale: float = Field(1.0, gt=0, le=1)
    retry_jitter: float = Field(0.2, ge=0, lt=1)
    disable_after_s: float = Field(SVIX_DISABLE_AFTER_S, gt=0)
    secret_grace_s: float = Field(24 * 3600.0, ge=0)

    ssrf_allow_cidrs: Annotated[tuple[str, ...], NoDecode] = ()

    ingest_rate_per_s: float = Field(2000.0, gt=0, description="per-tenant quota: sustained rate")
    ingest_burst: int = Field(4000, ge=1, description="per-tenant quota: bucket size")
    idempotency_ttl_s: float = Field(24 * 3600.0, gt=0)
    max_payload_bytes: int = Field(512 * 1024, ge=1024)
    response_body_max_bytes: int = Field(4096, ge=0)

    relay_batch_size: int = Field(200, ge=1, le=5000)
    relay_idle_s: float = Field(0.02, gt=0)
    worker_concurrency: int = Field(64, ge=1, le=2000)
    scheduler_interval_s: float = Field(0.5, gt=0)
    max_stream_deliveries: int = Field(5, ge=1)

    metrics_port: int | None = Field(None, ge=0, le=65535, description="workers' /metrics port")
    log_level: str = "info"
    log_json: bool = True

    @field_validator("retry_schedule_s", mode="before")
    @classmethod
    def _split_schedule(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(float(part) for part in value.split(",") if part.strip())
        return value

    @field_validator("ssrf_allow_cidrs", mode="before")
    @classmethod
    def _split_cidrs(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("ssrf_allow_cidrs")
    @classmethod
    def _valid_cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad one
        return value

    @field_validator("retry_schedule_s")
    @classmethod
    def _valid_schedule(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(delay < 0 for delay in value):
            raise ValueError("a comma-separated list of non-negative delays in seconds, e.g. 0,5,300")
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _long_secret(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value().encode()) < 32:
            raise ValueError("must be at least 32 bytes; make one with "
                             "python -c 'import secrets; print(secrets.token_urlsafe(48))'")
        return value

    @model_validator(mode="after")
    def _claim_outlives_http(self) -> Self:
        if not self.unsafe_skip_claim_check and self.claim_timeout_s < self.http_timeout_s + CLAIM_MARGIN_S:
            raise ValueError(
                f"ANCHOR_CLAIM_TIMEOUT_S ({self.claim_timeout_s:g}) must exceed ANCHOR_HTTP_TIMEOUT_S "
                f"({self.http_timeout_s:g}) by at least {CLAIM_MARGIN_S:g} s: a claim that expires while "
                "its HTTP request is still in flight hands the message to a second worker, and the "
                "endpoint receives it twice")
        return self

    @property
    def scaled_schedule_s(self) -> tuple[float, ...]:
        """The retry schedule after ``retry_time_scale``."""
        return tuple(delay * self.retry_time_scale for delay in self.retry_schedule_s)

    @property
    def scaled_disable_after_s(self) -> float:
        return self.disable_after_s * self.retry_time_scale

    @property
    def allowed_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in self.ssrf_allow_cidrs)


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read from the environment once (tests build their own ``Settings``)."""
    return Settings()  # type: ignore[call-arg]  # required fields come from the environment
