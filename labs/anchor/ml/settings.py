"""The ML add-on's settings (``ANCHOR_ML_*``): where models live and how often to look for a new one.

Kept apart from the service's :class:`~anchor.core.config.Settings` so the add-on stays optional:
a deployment without a model bucket never has to set any of these.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .features import HORIZON


class MLSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANCHOR_ML_", env_file=None, extra="ignore")

    bucket: str = Field(description="the S3 bucket that holds models/endpoint-failure/v{N}/…")
    prefix: str = Field("models/endpoint-failure", description="key prefix of this model's versions")
    s3_endpoint_url: str | None = Field(None, description="an S3-compatible endpoint (MinIO, moto)")
    region: str | None = Field(None, description="the bucket's region; the environment's when unset")
    poll_interval_s: float = Field(30.0, ge=0, description="how often serving checks the latest pointer")
    history_limit: int = Field(HORIZON, ge=HORIZON, le=10_000,
                               description="attempts per endpoint read to predict (features need HORIZON)")
    train_lookback_s: float = Field(30 * 24 * 3600.0, gt=0, description="attempt log the job trains on")
    train_attempts_per_endpoint: int = Field(2000, ge=10, description="latest attempts per endpoint "
                                             "the job learns from: bounds its memory")
    holdout_fraction: float = Field(0.2, gt=0, lt=0.9, description="the latest share of samples held out")
